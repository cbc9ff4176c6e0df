"""HTML: the article's main text, without navigation, ads or scripts, by trafilatura (offline)."""

from __future__ import annotations

import re

from briefer.errors import SourceError
from briefer.formats.document import Document
from briefer.formats.encoding import decode
from briefer.formats.text import iso_date, paragraphs

_DECLARED_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)|<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)""", re.IGNORECASE
)
# Dates only from the page's markup (meta tags, <time>, JSON-LD), never guessed from its prose.
_DATE_PARAMS = {"extensive_search": False, "original_date": True}


def read_html(data: bytes, shown: str, declared: str | None = None) -> Document:
    """Main text as paragraphs; title and publication date from the page's metadata.

    `declared` is the charset an HTTP header gave; a <meta charset> in the page is used otherwise.
    """
    html = decode(data, shown, declared or declared_charset(data))
    # Short pages can fall below the precision threshold; then try once more favouring recall.
    found = _extract(html, favor_recall=False) or _extract(html, favor_recall=True)
    if found is None:
        raise SourceError(
            shown, "has no readable text (an empty page, or one that shows its text only with JavaScript)"
        )
    text, title, published = found
    return Document(
        text=paragraphs(text.split("\n")), title=" ".join(title.split()) or None, date=iso_date(published)
    )


def _extract(html: str, favor_recall: bool) -> tuple[str, str, str | None] | None:
    """(main text, title, date) as trafilatura finds them, or None when it finds no text."""
    from trafilatura import bare_extraction
    from trafilatura.settings import Document as Extracted

    found = bare_extraction(
        html,
        favor_recall=favor_recall,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        deduplicate=False,
        date_extraction_params=_DATE_PARAMS,
    )
    if not isinstance(found, Extracted) or not (found.text or "").strip():
        return None
    return found.text or "", found.title or "", found.date


def declared_charset(data: bytes) -> str | None:
    """The charset a page declares in its first 2 KB (<meta charset>, http-equiv or an XML declaration)."""
    found = _DECLARED_CHARSET.search(data[:2048])
    if not found:
        return None
    return (found.group(1) or found.group(2)).decode("ascii")
