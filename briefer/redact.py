"""Keeping secrets out of what briefer shows: API keys, bearer tokens and credentials in URLs.

`redact(text)` blanks every secret it knows or recognises in any text about to be
shown (an error line, a log line, a debug traceback, a model's answer): the keys
registered with `remember_secret` (the key a run uses, from any setting),
`Authorization: Bearer …` values, `sk-…` style keys, and the user-info and query
values of URLs. `mask_url(url)` is the form of a URL that may be shown or
stored: `https://***@host/v1?api-key=***`.
"""

from __future__ import annotations

import os
import re
import threading
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_MIN_SECRET = 4
"""Shorter values are not treated as secrets: blanking them would mangle ordinary text."""
_known: set[str] = set()
_lock = threading.Lock()

_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}")
_KEY_LIKE = re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}")
_HEADER = re.compile(r"(?i)\b((?:x-)?api[-_]?key|authorization)(['\"]?\s*[:=]\s*['\"]?)[^\s'\",;}&]+")
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def remember_secret(value: str | None) -> None:
    """Blank `value` wherever `redact` sees it, from now on in this process."""
    if value and len(value) >= _MIN_SECRET:
        with _lock:
            _known.add(value)


def redact_known(text: str) -> str:
    """`text` with the keys this run knows replaced by `***` (for text that is not about requests,
    such as a model's answer, where only an exact key is a secret)."""
    for secret in _known_secrets():
        text = text.replace(secret, MASK)
    return text


def _known_secrets() -> list[str]:
    with _lock:
        return sorted(_known | _environment_keys(), key=len, reverse=True)


def redact(text: str) -> str:
    """`text` with every known or recognisable secret replaced by `***`."""
    text = redact_known(text)
    text = _URL.sub(lambda m: mask_url(m.group(0)), text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return _KEY_LIKE.sub(MASK, text)


def mask_url(url: str) -> str:
    """`url` with its user name, password and query values replaced by `***`; other URLs unchanged."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return url
    if host is None or not (parts.username or parts.password or parts.query):
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if parts.username or parts.password:
        netloc = f"{MASK}@{netloc}"
    query = "&".join(
        f"{pair.split('=', 1)[0]}={MASK}" if "=" in pair else pair for pair in parts.query.split("&") if pair
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _environment_keys() -> set[str]:
    key = os.environ.get("OPENAI_API_KEY", "")
    return {key} if len(key) >= _MIN_SECRET else set()
