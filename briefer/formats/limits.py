"""How much the sources may hold, so that no input can exhaust memory.

One setting, BRIEF_MAX_CHARS (default 5,000,000 characters, about 800,000 words), bounds the
characters of all sources of a run together, local or fetched. The bytes briefer reads or
unpacks to get them are bounded at BYTES_PER_CHAR bytes per allowed character (50 MB by
default): a file or stdin larger than that is refused before it is read, and a zip-based
document (.docx) whose members unpack to more is refused before it is opened, from the sizes
its central directory declares (zipfile never inflates a member past its declared size).
"""

from __future__ import annotations

import io
import os
import zipfile

from briefer.errors import SourceError, UsageError

DEFAULT_MAX_CHARS = 5_000_000
BYTES_PER_CHAR = 10
"""Markup, XML and PDF streams carry several bytes per character of text."""
_SETTING = "BRIEF_MAX_CHARS"
_ZIP_MAGIC = b"PK\x03\x04"
_HOW_BYTES = f"({BYTES_PER_CHAR} bytes per character allowed; set {_SETTING} to raise it)"


def max_chars() -> int:
    """Characters all sources may hold together: BRIEF_MAX_CHARS, else DEFAULT_MAX_CHARS."""
    raw = os.environ.get(_SETTING, "").replace("_", "").replace(",", "").strip()
    if not raw:
        return DEFAULT_MAX_CHARS
    if not raw.isdigit() or int(raw) <= 0:
        raise UsageError(f"{_SETTING} must be a whole number of characters above 0, not {raw!r}")
    return int(raw)


def max_bytes() -> int:
    """Bytes a source may take to read or unpack: BYTES_PER_CHAR per allowed character."""
    return max_chars() * BYTES_PER_CHAR


def check_size(size: int, shown: str) -> None:
    """Refuse a file of `size` bytes, or a stream of which `size` bytes were read, past `max_bytes`."""
    limit = max_bytes()
    if size > limit:
        raise SourceError(shown, f"is larger than the {size_text(limit)} limit for inputs {_HOW_BYTES}")


def check_unpacked(data: bytes, shown: str) -> None:
    """Refuse a zip-based document whose members unpack to more than `max_bytes`, before opening it."""
    if not data.startswith(_ZIP_MAGIC):
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a readable archive: its reader says so
    limit = max_bytes()
    if unpacked > limit:
        raise SourceError(
            shown,
            f"unpacks to {size_text(unpacked)}, past the {size_text(limit)} limit for unpacked documents {_HOW_BYTES}",
        )


def check_chars(total: int, shown: str) -> None:
    """Refuse the source `shown` when it brings the run's sources to `total` characters, past `max_chars`."""
    limit = max_chars()
    if total > limit:
        raise SourceError(
            shown,
            f"brings the sources to {total:,} characters, past the {limit:,} limit (set {_SETTING} to raise it)",
        )


def size_text(count: int) -> str:
    """`50 MB`, `300.5 MB`, `12 KB` or `900 bytes` (decimal units, as file managers show them)."""
    for unit, size in (("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if count >= size:
            return f"{count / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{count:,} bytes"
