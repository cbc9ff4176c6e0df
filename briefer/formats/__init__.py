"""Input formats: bytes from a file, stdin or a URL become a `Document` (text, title, date).

`READERS` is the one list of formats: each row names a kind, the file suffixes and URL
content types it takes, and its read function. File and URL dispatch, directory
scanning, sniffing, the "unsupported file type" message and `brief --help` all come
from it, so a new format is one module (a `read(data, shown, charset)` function) plus
one row. Any other suffix is read by what its bytes look like; binary files and known
office formats briefer cannot read are refused with one line naming the file.

This module stays light: read functions are named as "module:function" and imported
only when a source of that kind is read, so listing the formats loads no parser.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from briefer.errors import SourceError
from briefer.formats.document import Document
from briefer.formats.limits import check_size, check_unpacked
from briefer.formats.sniff import looks_binary

__all__ = [
    "READERS",
    "Document",
    "Reader",
    "kind_of_media_type",
    "kind_of_suffix",
    "read_bytes",
    "read_file",
    "read_url",
    "reads_hint",
    "sniff",
    "supported_suffixes",
]

ReadFunction = Callable[[bytes, str, str | None], Document]
"""(data, the path or URL to name in errors, the charset the source declared) -> Document."""


@dataclass(frozen=True, slots=True)
class Reader:
    """One input format: its kind, the suffixes and content types that select it, and how to read it."""

    kind: str
    suffixes: tuple[str, ...]
    """Lower-case file suffixes, first the usual one: these files are read, and picked up in directories."""
    media_types: tuple[str, ...]
    """Content types of fetched URLs read by this reader."""
    read: str
    """The read function as "module:function", imported on first use."""
    signature: Callable[[bytes], bool] | None = None
    """True for bytes of this kind whatever the file is called; None for the reader of other text."""

    def load(self) -> ReadFunction:
        """The read function, importing its module (and so its parsing library) now."""
        module, _, name = self.read.partition(":")
        function: ReadFunction = getattr(importlib.import_module(module), name)
        return function


def _looks_like_html(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html")) and not looks_binary(data)


def _looks_like_pdf(data: bytes) -> bool:
    return data.startswith(b"%PDF-")


def _looks_like_docx(data: bytes) -> bool:
    if not data.startswith(b"PK\x03\x04"):
        return False
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


TEXT = "text"
"""The kind of bytes that match no reader's signature and do not look binary."""

READERS: tuple[Reader, ...] = (
    Reader(
        kind=TEXT,
        suffixes=(".txt", ".md", ".markdown"),
        media_types=("text/plain", "text/markdown"),
        read="briefer.formats.text:read_plain",
    ),
    Reader(
        kind="html",
        suffixes=(".html", ".htm", ".xhtml"),
        media_types=("text/html", "application/xhtml+xml"),
        read="briefer.formats.html:read_html",
        signature=_looks_like_html,
    ),
    Reader(
        kind="pdf",
        suffixes=(".pdf",),
        media_types=("application/pdf",),
        read="briefer.formats.pdf:read_pdf",
        signature=_looks_like_pdf,
    ),
    Reader(
        kind="docx",
        suffixes=(".docx",),
        media_types=("application/vnd.openxmlformats-officedocument.wordprocessingml.document",),
        read="briefer.formats.docx:read_docx",
        signature=_looks_like_docx,
    ),
)

# Documents people will try that briefer does not read, even when their bytes look like text.
_UNSUPPORTED_DOCUMENTS = (".doc", ".rtf", ".odt", ".xls", ".xlsx", ".ods", ".ppt", ".pptx", ".odp", ".epub")


def supported_suffixes() -> tuple[str, ...]:
    """Every suffix some reader takes, in table order: the files a directory scan picks up."""
    return tuple(suffix for reader in READERS for suffix in reader.suffixes)


def reads_hint() -> str:
    """What briefer reads, for error messages: "briefer reads .txt, .md, … and http(s) URLs"."""
    return f"briefer reads {', '.join(supported_suffixes())} and http(s) URLs"


def kind_of_suffix(suffix: str) -> str | None:
    """The kind of reader that takes files ending in `suffix` (any case); None when none does."""
    return next((r.kind for r in READERS if suffix.lower() in r.suffixes), None)


def kind_of_media_type(media_type: str) -> str | None:
    """The kind of reader that takes this content type (`text/html`); None when none does."""
    return next((r.kind for r in READERS if media_type in r.media_types), None)


def read_file(path: Path) -> Document:
    """Read a file by its suffix (or, for other suffixes, by its bytes); SourceError names the path."""
    shown = str(path)
    suffix = path.suffix.lower()
    kind = kind_of_suffix(suffix)
    if kind is None and suffix in _UNSUPPORTED_DOCUMENTS:
        raise SourceError(shown, _unsupported(suffix))
    try:
        check_size(path.stat().st_size, shown)
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(shown, f"cannot read ({exc.strerror or exc})") from exc
    kind = kind or sniff(data)
    if kind is None:
        raise SourceError(shown, _unsupported(suffix))
    return read_bytes(data, kind, shown)


def read_url(url: str) -> Document:
    """Fetch `url` and read it by its content type (else by its path's suffix, else by its bytes)."""
    from briefer.formats.web import fetch

    fetched = fetch(url, accept=_accept())
    kind = kind_of_media_type(fetched.media_type)
    if kind is None and fetched.media_type in ("", "application/octet-stream"):
        kind = kind_of_suffix(Path(url.split("?", 1)[0].split("#", 1)[0]).suffix) or sniff(fetched.data)
    elif kind is None and fetched.media_type.startswith("text/"):
        kind = TEXT
    if kind is None:
        raise SourceError(url, f"unsupported content type {fetched.media_type or '(none)'} ({reads_hint()})")
    return read_bytes(fetched.data, kind, url, fetched.charset)


def read_bytes(data: bytes, kind: str, shown: str, charset: str | None = None) -> Document:
    """Read `data` with the reader of `kind` (a `READERS` row); `charset` is one the source declared."""
    reader = next((r for r in READERS if r.kind == kind), None)
    if reader is None:
        raise ValueError(f"no reader of kind {kind!r}; the kinds are {', '.join(r.kind for r in READERS)}")
    if not data.strip():
        raise SourceError(shown, "is empty; nothing to brief")
    check_unpacked(data, shown)  # before a parser inflates it
    document = reader.load()(data, shown, charset)
    if not document.text.strip():
        raise SourceError(shown, "is empty; nothing to brief")
    return document


def sniff(data: bytes) -> str | None:
    """The kind these bytes look like: the first reader whose signature matches, else text unless binary."""
    for reader in READERS:
        if reader.signature is not None and reader.signature(data):
            return reader.kind
    return None if looks_binary(data) else TEXT


def _accept() -> str:
    """The Accept header of a fetch: every content type a reader takes, then any other text."""
    return ", ".join([*(media_type for r in READERS for media_type in r.media_types), "text/*;q=0.8"])


def _unsupported(suffix: str) -> str:
    return f"unsupported file type {suffix or '(no suffix)'} ({reads_hint()})"
