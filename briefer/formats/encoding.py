"""Bytes to text: UTF-8 when it is UTF-8, otherwise the declared or detected encoding, with a warning.

Order of evidence: a byte-order mark, then valid UTF-8, then a charset the source
declares (HTTP header, HTML <meta>), then detection by charset-normalizer. Bytes
that nothing decodes are replaced with U+FFFD, and the warning says where.
"""

from __future__ import annotations

import codecs
import logging
import re
import threading

from briefer.errors import SourceError
from briefer.formats.sniff import BOMS as _BOMS
from briefer.formats.sniff import SNIFF_BYTES, utf16_without_bom

log = logging.getLogger("briefer")

# Windows-1252 is by far the commonest legacy encoding of Western text; when
# short samples fit several code pages equally well, it is the best bet.
_PREFERRED_GUESS = "cp1252"
_WINDOWS_1252_LABELS = ("ascii", "iso8859-1")


def decode(data: bytes, shown: str, declared: str | None = None) -> str:
    """Decode `data`, warning on the "briefer" logger whenever the result is not plain UTF-8."""
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            if codec == "utf-8":
                return _utf8_replacing(data, shown, skip=len(bom))
            log.warning("%s: not UTF-8; decoded as %s (from its byte-order mark)", shown, name)
            return data[len(bom) :].decode(codec, errors="replace")
    utf16 = utf16_without_bom(data) if b"\x00" in data[:SNIFF_BYTES] else None
    if utf16:
        log.warning("%s: not UTF-8; decoded as UTF-16 (detected, no byte-order mark)", shown)
        return data[: len(data) - len(data) % 2].decode(utf16, errors="replace")
    if b"\x00" in data[:SNIFF_BYTES]:
        from briefer.formats import reads_hint  # the table of readers, which reads files with this module

        raise SourceError(shown, f"looks like a binary file, not text ({reads_hint()})")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    named = _codec(declared) if declared else None
    if named in _WINDOWS_1252_LABELS:
        named = "cp1252"  # as browsers do (WHATWG Encoding): these labels mean windows-1252
    if named:
        try:
            return data.decode(named)  # the source says what it is: no guess, no warning
        except UnicodeDecodeError:
            pass
    if not _has_utf8_sequences(data):
        guess = _detect(data)
        if guess:
            log.warning("%s: not UTF-8; decoded as %s (detected)", shown, guess)
            return data.decode(guess, errors="replace")
    return _utf8_replacing(data, shown, skip=0)


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xef][\x80-\xbf]{2}"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf4][\x80-\xbf]{3}"
)


def _has_utf8_sequences(data: bytes) -> bool:
    """Valid multi-byte UTF-8 means UTF-8 with a few bad bytes; legacy 8-bit text almost never has them."""
    return _UTF8_MULTIBYTE.search(data) is not None


def _detect(data: bytes) -> str | None:
    """The encoding charset-normalizer finds most plausible, preferring cp1252 among equals."""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        return None
    least_chaos = min(m.chaos for m in matches)
    plausible = [m for m in matches if m.chaos <= least_chaos]
    if any(_PREFERRED_GUESS in m.could_be_from_charset for m in plausible):
        return _PREFERRED_GUESS
    return _codec(plausible[0].encoding)


def _utf8_replacing(data: bytes, shown: str, skip: int) -> str:
    """Decode as UTF-8; undecodable bytes become U+FFFD and one warning says where and how many."""
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError:
        pass
    with _REPLACED_LOCK:
        _REPLACED.clear()
        text = data[skip:].decode("utf-8", errors=_COUNTING_REPLACE)
        first, bad = skip + _REPLACED[0][0], sum(end - start for start, end in _REPLACED)
    log.warning(
        "%s: not valid UTF-8 (first bad byte at offset %d); %d undecodable byte(s) replaced with U+FFFD",
        shown,
        first,
        bad,
    )
    return text


def _replace_and_count(exc: UnicodeError) -> tuple[str, int]:
    """Like errors="replace", and remembers which byte ranges were replaced."""
    assert isinstance(exc, UnicodeDecodeError)
    _REPLACED.append((exc.start, exc.end))
    return "\ufffd", exc.end


_COUNTING_REPLACE = "briefer.replace-and-count"
_REPLACED: list[tuple[int, int]] = []
_REPLACED_LOCK = threading.Lock()
codecs.register_error(_COUNTING_REPLACE, _replace_and_count)
