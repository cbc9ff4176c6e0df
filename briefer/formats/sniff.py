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


_NUL_PARITY = 0.95
"""Share of the NULs in a sample that UTF-16 text puts in the high byte of each code unit."""
_TEXT_CONTROLS = frozenset("\t\n\r\f")


def looks_binary(data: bytes) -> bool:
    """True for bytes with NULs near the start that are neither marked nor detected as UTF-16/32."""
    return (
        b"\x00" in data[:SNIFF_BYTES]
        and not any(data.startswith(bom) for bom, _, _ in BOMS[1:])
        and utf16_without_bom(data) is None
    )


def utf16_without_bom(data: bytes) -> str | None:
    """`utf-16-le` or `utf-16-be` when `data` is UTF-16 text without a byte-order mark, else None.

    Latin text in UTF-16 has a NUL in the high byte of nearly every code unit, so its NULs
    sit at odd offsets (little-endian) or even ones (big-endian); binary data has NULs at
    both. The first SNIFF_BYTES must also decode to printable text and line breaks.
    """
    sample = data[: SNIFF_BYTES - SNIFF_BYTES % 2]
    sample = sample[: len(sample) - len(sample) % 2]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if even + odd == 0:
        return None
    for codec, high, low in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if high >= _NUL_PARITY * (high + low) and _printable(sample, codec):
            return codec
    return None


def _printable(sample: bytes, codec: str) -> bool:
    """True when `sample` decodes strictly as `codec` into printable characters and whitespace."""
    try:
        text = sample.decode(codec)
    except UnicodeDecodeError:  # a sample may end inside a surrogate pair
        try:
            text = sample[:-2].decode(codec)
        except UnicodeDecodeError:
            return False
    return bool(text) and all(c.isprintable() or c in _TEXT_CONTROLS for c in text)
