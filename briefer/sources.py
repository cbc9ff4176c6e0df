"""Loading sources: files, directories and stdin become numbered `Source`s."""

from __future__ import annotations

import codecs
import logging
import re
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel, Field

from briefer.errors import SourceError

log = logging.getLogger("briefer")

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
_SNIFF_BYTES = 8192
_MD_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
_TERMINAL_PUNCT = tuple(".!?;:,\"'”’)")


class Source(BaseModel):
    """One input document: a stable id (S1, S2 …), where it came from, a title and its text."""

    id: str
    path: str
    title: str
    text: str = Field(repr=False)


def load_sources(args: Sequence[str], stdin: BinaryIO | None = None) -> list[Source]:
    """Read every argument (file, directory or `-` for stdin) into sources numbered S1, S2 …

    Raises `SourceError` naming the path for anything that cannot be read as text.
    """
    if not args:
        raise SourceError("(no sources)", "give at least one file, directory or - for stdin")
    seen: set[Path] = set()
    loaded: list[tuple[str, str, str]] = []  # (path shown, title, text)
    if list(args).count("-") > 1:
        raise SourceError("-", "stdin can be read only once; give - once")
    for arg in args:
        if arg == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            text = _decode(stream.read(), "<stdin>")
            loaded.append(("-", _title(text, "stdin"), text))
            continue
        for path in _expand(arg):
            resolved = path.resolve()
            if resolved in seen:
                log.warning("%s: given more than once; read once", path)
                continue
            seen.add(resolved)
            text = _read_text(path)
            loaded.append((str(path), _title(text, _title_from_name(path)), text))
    return [
        Source(id=f"S{number}", path=shown, title=title, text=text)
        for number, (shown, title, text) in enumerate(loaded, start=1)
    ]


def _expand(arg: str) -> Iterable[Path]:
    """Yield the files an argument stands for: itself, or a directory's text files in sorted order."""
    path = Path(arg)
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and p.suffix.lower() in TEXT_SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not files:
            raise SourceError(arg, "directory holds no .txt or .md files")
        return files
    if not path.exists():
        raise SourceError(arg, "no such file or directory")
    if not path.is_file():
        raise SourceError(arg, "not a regular file")
    return [path]


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(str(path), f"cannot read ({exc.strerror or exc})") from exc
    return _decode(data, str(path))


def _decode(data: bytes, shown: str) -> str:
    """Decode UTF-8 (BOM optional), normalise line ends, refuse binary and empty input."""
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise SourceError(shown, "looks like a binary file, not text (give .txt or .md files)")
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError:
        with _REPLACED_LOCK:
            _REPLACED.clear()
            text = data[bom:].decode("utf-8", errors=_COUNTING_REPLACE)
            first, bad = bom + _REPLACED[0][0], sum(end - start for start, end in _REPLACED)
        log.warning(
            "%s: not valid UTF-8 (first bad byte at offset %d); %d undecodable byte(s) replaced with U+FFFD",
            shown,
            first,
            bad,
        )
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise SourceError(shown, "is empty; nothing to brief")
    return text


def _replace_and_count(exc: UnicodeError) -> tuple[str, int]:
    """Like errors="replace", and remembers which byte ranges were replaced."""
    assert isinstance(exc, UnicodeDecodeError)
    _REPLACED.append((exc.start, exc.end))
    return "\ufffd", exc.end


_COUNTING_REPLACE = "briefer.replace-and-count"
_REPLACED: list[tuple[int, int]] = []
_REPLACED_LOCK = threading.Lock()
codecs.register_error(_COUNTING_REPLACE, _replace_and_count)


def _title(text: str, fallback: str) -> str:
    """A leading heading (Markdown `#` or a short first line set apart by a blank line), else `fallback`."""
    lines = text.lstrip("\n").split("\n")
    first = lines[0].strip()
    heading = _MD_HEADING.match(first)
    if heading:
        return heading.group("title")
    stands_alone = len(lines) > 1 and not lines[1].strip()
    if stands_alone and 0 < len(first) <= 120 and not first.endswith(_TERMINAL_PUNCT):
        return first
    return fallback


def _title_from_name(path: Path) -> str:
    return re.sub(r"[-_]+", " ", path.stem).strip() or path.name
