"""What every reader returns (text, and the title and date its metadata gives), and how readers word failures."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Document:
    """Text ready for sentence splitting; `title` and `date` (YYYY-MM-DD) when the file says."""

    text: str
    title: str | None = None
    date: str | None = None


def reason(exc: BaseException) -> str:
    """An outside library's exception as a short single line: its message, else its type."""
    message = " ".join(str(exc).split())
    if len(message) > 160:
        message = message[:157] + "…"
    return message or type(exc).__name__
