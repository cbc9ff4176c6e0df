"""Input formats: bytes from a file, stdin or a URL become a `Document` (text, title, date).

    kind   files                       URL content types           reader
    text   .txt .md .markdown          text/plain, text/markdown   formats.text (+ encoding)
    html   .html .htm .xhtml           text/html                   formats.html (trafilatura)
    pdf    .pdf                        application/pdf             formats.pdf (pypdf)
    docx   .docx                       (Word's own type)           formats.docx (python-docx)

Any other suffix is read by what its bytes look like; binary files and known office
formats briefer cannot read are refused with one line naming the file.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from briefer.errors import SourceError
from briefer.formats.document import Document
from briefer.formats.encoding import BINARY_HINT, looks_binary

__all__ = ["SUFFIXES", "Document", "read_bytes", "read_file", "read_url"]

SUFFIXES = {
    ".txt": "text",
    ".md": "text",
    ".markdown": "text",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
_MEDIA_TYPES = {
    "text/plain": "text",
    "text/markdown": "text",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}
# Documents people will try that briefer does not read, even when their bytes look like text.
_UNSUPPORTED_DOCUMENTS = (".doc", ".rtf", ".odt", ".xls", ".xlsx", ".ods", ".ppt", ".pptx", ".odp", ".epub")


def read_file(path: Path) -> Document:
    """Read a file by its suffix (or, for other suffixes, by its bytes); SourceError names the path."""
    shown = str(path)
    suffix = path.suffix.lower()
    if suffix in _UNSUPPORTED_DOCUMENTS:
        raise SourceError(shown, _unsupported(suffix))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(shown, f"cannot read ({exc.strerror or exc})") from exc
    kind = SUFFIXES.get(suffix) or sniff(data)
    if kind is None:
        raise SourceError(shown, _unsupported(suffix))
    return read_bytes(data, kind, shown)


def read_url(url: str) -> Document:
    """Fetch `url` and read it by its content type (else by its path's suffix, else by its bytes)."""
    from briefer.formats.web import fetch

    fetched = fetch(url)
    kind = _MEDIA_TYPES.get(fetched.media_type)
    if kind is None and fetched.media_type in ("", "application/octet-stream"):
        kind = SUFFIXES.get(Path(url.split("?", 1)[0].split("#", 1)[0]).suffix.lower()) or sniff(fetched.data)
    elif kind is None and fetched.media_type.startswith("text/"):
        kind = "text"
    if kind is None:
        raise SourceError(url, f"unsupported content type {fetched.media_type or '(none)'} ({BINARY_HINT})")
    return read_bytes(fetched.data, kind, url, fetched.charset)


def read_bytes(data: bytes, kind: str, shown: str, charset: str | None = None) -> Document:
    """Read `data` as `kind` (text, html, pdf or docx); `charset` is one the source declared."""
    if not data.strip():
        raise SourceError(shown, "is empty; nothing to brief")
    if kind == "html":
        from briefer.formats.html import read_html

        document = read_html(data, shown, charset)
    elif kind == "pdf":
        from briefer.formats.pdf import read_pdf

        document = read_pdf(data, shown)
    elif kind == "docx":
        from briefer.formats.docx import read_docx

        document = read_docx(data, shown)
    else:
        from briefer.formats.encoding import decode
        from briefer.formats.text import newlines, read_text

        document = read_text(newlines(decode(data, shown, charset)))
    if not document.text.strip():
        raise SourceError(shown, "is empty; nothing to brief")
    return document


def sniff(data: bytes) -> str | None:
    """The kind these bytes look like: pdf, docx, html or text; None for other binary data."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return "docx" if "word/document.xml" in archive.namelist() else None
        except zipfile.BadZipFile:
            return None
    if looks_binary(data):
        return None
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    return "text"


def _unsupported(suffix: str) -> str:
    return f"unsupported file type {suffix or '(no suffix)'} ({BINARY_HINT})"
