"""Text from documents, templates and file names made safe to show: no terminal control
sequences, and single-line fields kept on one line.

Light on purpose (only `re`): `brief templates` and error messages use it without loading rich.
"""

from __future__ import annotations

import re

# C0/C1 controls except tab and newline, and bidi overrides that reorder what is shown.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe(text: str) -> str:
    """`text` with control and bidi-override characters shown as escapes (ESC becomes `\\x1b`)."""
    return _UNSAFE.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text
    )


def one_line(text: str) -> str:
    """`text` on one line: every run of whitespace (newlines included) is one space, then made `safe`.

    For fields a layout puts on one line (titles, paths, descriptions): a newline in a file
    name or a template title must not start a heading of its own.
    """
    return safe(" ".join(text.split()))


def inline(text: str) -> str:
    """Part of a line made `safe`: every run of whitespace is one space, kept at either end, so
    that parts joined together read as the whole."""
    return safe(_WHITESPACE.sub(" ", text))


_WHITESPACE = re.compile(r"\s+")
