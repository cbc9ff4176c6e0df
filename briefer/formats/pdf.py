"""PDF: the text layer by pypdf, with paragraph breaks where the lines leave a gap."""

from __future__ import annotations

import io
import logging
import statistics
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from briefer.errors import SourceError
from briefer.formats.document import Document, reason
from briefer.formats.text import iso_date, paragraphs

if TYPE_CHECKING:
    from pypdf import PageObject, PdfReader

# pypdf logs recoverable damage ("Ignoring wrong pointing object …") as warnings; with nobody
# listening, Python would print them raw on stderr. Applications that configure logging still see them.
logging.getLogger("pypdf").addHandler(logging.NullHandler())

_PARAGRAPH_GAP = 1.4  # a gap this many times the usual line spacing starts a paragraph


def read_pdf(data: bytes, shown: str, charset: str | None = None) -> Document:
    """Text of every page, pages and paragraphs apart; title and creation date from the metadata.

    `charset` is unused: a PDF says how its text is encoded.
    """
    reader = _open(data, shown)
    try:
        pages = [_page_text(page) for page in reader.pages]
    except Exception as exc:  # a damaged file can fail in pypdf in many ways; all mean the same here
        raise SourceError(shown, f"is not a readable PDF ({reason(exc)})") from exc
    text = paragraphs(pages)
    if not text:
        raise SourceError(shown, "has no text layer (a scan? run OCR on it first, e.g. with ocrmypdf)")
    title, created = _metadata(reader)
    return Document(text=text, title=title, date=created)


def _open(data: bytes, shown: str) -> PdfReader:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise SourceError(shown, "is password-protected; save an unprotected copy and brief that")
        return reader
    except SourceError:
        raise
    except Exception as exc:
        raise SourceError(shown, f"is not a readable PDF ({reason(exc)})") from exc


def _page_text(page: PageObject) -> str:
    """The page's text; a blank line wherever the gap above a line is wider than the usual spacing."""
    pieces: list[tuple[str, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: Any) -> None:
        # Baseline height on the page: the text matrix's translation through the CTM.
        pieces.append((text, tm[4] * cm[1] + tm[5] * cm[3] + cm[5]))

    text: str = page.extract_text(visitor_text=visit)
    if "".join(piece for piece, _ in pieces) != text:
        return text  # cannot line the pieces up with the text: keep it as pypdf gives it
    lines: list[tuple[str, float | None]] = []
    current, height = "", None
    for piece, y in pieces:
        for i, part in enumerate(piece.split("\n")):
            if i:
                lines.append((current, height))
                current, height = "", None
            if part.strip() and height is None:
                height = y
            current += part
    lines.append((current, height))
    return _with_paragraph_breaks(lines)


def _with_paragraph_breaks(lines: list[tuple[str, float | None]]) -> str:
    heights = [y for _, y in lines if y is not None]
    gaps = [above - below for above, below in pairwise(heights) if above > below]
    # The usual line spacing: the tightest gap that is not a sub- or superscript's small hop.
    usual = min(g for g in gaps if g >= statistics.median(gaps) / 2) if gaps else None
    out: list[str] = []
    previous: float | None = None
    for line, y in lines:
        if usual is not None and previous is not None and y is not None:
            gap = previous - y
            if (gap > usual * _PARAGRAPH_GAP or gap < -usual) and out and out[-1]:
                out.append("")  # a wider gap, or a jump back up the page (next column or box)
        out.append(line)
        if y is not None:
            previous = y
    return "\n".join(out)


def _metadata(reader: PdfReader) -> tuple[str | None, str | None]:
    """/Title and /CreationDate, when present and well-formed."""
    try:
        info = reader.metadata
        if info is None:
            return None, None
        title = " ".join(str(info.title or "").split()) or None
        try:
            created = iso_date(info.creation_date)
        except ValueError:  # a malformed date string
            created = None
    except Exception:  # a broken info dictionary is no reason to refuse the text
        return None, None
    return title, created
