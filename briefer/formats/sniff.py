"""Telling text from binary by its first bytes: byte-order marks and NUL bytes."""

from __future__ import annotations

import codecs

SNIFF_BYTES = 8192
# UTF-32 before UTF-16: the UTF-32-LE mark starts with the UTF-16-LE one.
BOMS = (
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)


def looks_binary(data: bytes) -> bool:
    """True for bytes with NULs near the start and no UTF-16/32 byte-order mark."""
    return b"\x00" in data[:SNIFF_BYTES] and not any(data.startswith(bom) for bom, _, _ in BOMS[1:])
