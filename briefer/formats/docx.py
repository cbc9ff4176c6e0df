"""Word .docx: body paragraphs and table rows in document order, by python-docx."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from briefer.errors import SourceError
from briefer.formats.document import Document, reason
from briefer.formats.text import iso_date, paragraphs

if TYPE_CHECKING:
    from docx.document import Document as WordDocument

# Every document python-docx creates from its own template carries this date unless set.
_PYTHON_DOCX_TEMPLATE_DATE = datetime(2013, 12, 23, 23, 15, tzinfo=UTC)


def read_docx(data: bytes, shown: str, charset: str | None = None) -> Document:
    """Paragraphs and table rows as paragraphs; title and creation date from the core properties.

    `charset` is unused: a .docx is UTF-8 XML that declares its own encoding.
    """
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(_blocks(document))
        properties = document.core_properties
        title, created = properties.title, properties.created
    except Exception as exc:  # a damaged file can fail in python-docx, zipfile or lxml in many ways
        raise SourceError(shown, f"is not a readable Word document ({reason(exc)})") from exc
    if created == _PYTHON_DOCX_TEMPLATE_DATE:
        created = None
    return Document(
        text=paragraphs(blocks), title=" ".join((title or "").split()) or None, date=iso_date(created)
    )


def _blocks(document: WordDocument) -> Iterator[str]:
    """Each paragraph, and each table row as its cells' text joined by ` | `."""
    from docx.table import Table

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells: list[str] = []
                for cell in row.cells:
                    text = " ".join(cell.text.split())
                    if text and (not cells or cells[-1] != text):  # merged cells repeat their text
                        cells.append(text)
                yield " | ".join(cells)
        else:
            yield block.text
