"""Plain text and Markdown: line ends, stray control characters, front matter, ISO dates."""

from __future__ import annotations

import re
from datetime import date, datetime

from briefer.formats.document import Document
from briefer.formats.encoding import decode

# C0 and C1 controls other than tab and newline, and zero-width no-break spaces (stray BOMs).
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufeff]")
_PAGE_BREAK = re.compile(r"[\x0b\x0c]")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<fields>.*?\n)(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FIELD = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)[ \t]*:(?:[ \t]+(?P<value>.*?))?[ \t]*$")


def newlines(text: str) -> str:
    """`\n` for CRLF and lone CR line ends."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def clean(text: str) -> str:
    """Extracted text: newlines for every line end, form and vertical tab; no other control characters.

    Plain text files keep theirs: the user wrote them, and renderers escape them.
    """
    return _CONTROLS.sub("", _PAGE_BREAK.sub("\n\n", newlines(text)))


def paragraphs(blocks: list[str]) -> str:
    """Extracted blocks as paragraphs: one blank line between them, no trailing spaces, a final newline."""
    kept = []
    for block in blocks:
        lines = [line.rstrip() for line in clean(block).split("\n")]
        tidy = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
        if tidy.strip():
            kept.append(tidy)
    return "\n\n".join(kept) + "\n" if kept else ""


def read_plain(data: bytes, shown: str, charset: str | None = None) -> Document:
    """A text or Markdown file's bytes, decoded (UTF-8, else `charset` or a detected encoding)."""
    return read_text(newlines(decode(data, shown, charset)))


def read_text(text: str) -> Document:
    """A text or Markdown file, with `title:` and `date:` from YAML-style front matter when it has some."""
    fields, body = front_matter(text)
    return Document(text=body, title=fields.get("title") or None, date=iso_date(fields.get("date")))


def front_matter(text: str) -> tuple[dict[str, str], str]:
    """`key: value` lines between `---` fences at the very top, and the text after them."""
    found = _FRONT_MATTER.match(text)
    if not found:
        return {}, text
    fields: dict[str, str] = {}
    for line in found.group("fields").split("\n"):
        field = _FIELD.match(line)
        if field:
            fields[field.group("key").lower()] = (field.group("value") or "").strip().strip("\"'")
        elif line.strip() and not line[:1].isspace() and not line.startswith("- "):
            return {}, text  # not YAML-like: a horizontal rule and ordinary text
    if not fields:
        return {}, text
    return fields, text[found.end() :]


def iso_date(value: str | date | None) -> str | None:
    """`YYYY-MM-DD` for a date, a datetime or a string that starts with an ISO date; else None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        return None
