"""http(s) URLs: fetched with a timeout and a size limit, then read by the reader the content type names.

BRIEF_FETCH_TIMEOUT (seconds, default 20) bounds the whole fetch: connecting, headers and body;
BRIEF_FETCH_MAX_BYTES (default 10 MB) bounds the body after decompression, counted while it streams in.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from briefer.errors import SourceError, UsageError
from briefer.formats.document import reason

DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
_URL = re.compile(r"^https?://", re.IGNORECASE)
_OTHER_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Fetched:
    """A downloaded body with its media type (`text/html`) and declared charset, if any."""

    data: bytes
    media_type: str
    charset: str | None


def is_url(arg: str) -> bool:
    """True for http:// and https:// URLs; other schemes are refused with a clear error."""
    if _URL.match(arg):
        return True
    if _OTHER_SCHEME.match(arg):
        scheme = arg.split(":", 1)[0]
        raise SourceError(arg, f"unsupported URL scheme {scheme}: (briefer fetches http and https URLs)")
    return False


def fetch(url: str, accept: str = "*/*") -> Fetched:
    """GET `url`, asking for the `accept` content types and following up to MAX_REDIRECTS redirects;
    every failure is a SourceError naming the URL.

    BRIEF_FETCH_TIMEOUT bounds the whole fetch: connecting, the headers and the body together.
    A per-read timeout alone lets a server that sends a header line every few seconds hold the
    run forever, so the request runs under one asyncio deadline that cancels whatever it waits on.
    """
    timeout, limit = fetch_timeout(), fetch_max_bytes()
    try:
        return _run(_fetch(url, accept, timeout, limit))
    except TimeoutError as exc:
        raise SourceError(
            url, f"timed out after {timeout:g} s (set BRIEF_FETCH_TIMEOUT to wait longer)"
        ) from exc


def _run(work: Coroutine[Any, Any, Fetched]) -> Fetched:
    """Run `work` to completion from synchronous code, also when this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    with ThreadPoolExecutor(max_workers=1) as pool:  # a loop cannot be nested: use a thread of our own
        return pool.submit(asyncio.run, work).result()


async def _fetch(url: str, accept: str, timeout: float, limit: int) -> Fetched:
    import httpx

    from briefer._version import __version__

    headers = {"User-Agent": f"briefer/{__version__}", "Accept": accept}
    try:
        async with (
            asyncio.timeout(timeout),
            httpx.AsyncClient(
                timeout=timeout, follow_redirects=True, max_redirects=MAX_REDIRECTS, headers=headers
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise SourceError(url, f"HTTP {response.status_code} {response.reason_phrase}".rstrip())
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise SourceError(url, _too_large(limit))
            body = bytearray()
            async for chunk in response.aiter_bytes():  # decompressed: the limit counts what is kept
                body += chunk
                if len(body) > limit:
                    raise SourceError(url, _too_large(limit))
            media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            return Fetched(bytes(body), media_type, response.charset_encoding)
    except httpx.TimeoutException as exc:
        raise TimeoutError from exc
    except httpx.TooManyRedirects as exc:
        raise SourceError(url, f"too many redirects (more than {MAX_REDIRECTS})") from exc
    except httpx.ConnectError as exc:
        raise SourceError(url, f"cannot connect ({reason(exc)})") from exc
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise SourceError(url, f"not a valid URL ({reason(exc)})") from exc
    except httpx.HTTPError as exc:
        raise SourceError(url, f"cannot fetch ({reason(exc)})") from exc


def fetch_timeout() -> float:
    """Seconds from BRIEF_FETCH_TIMEOUT, else DEFAULT_TIMEOUT."""
    return _positive("BRIEF_FETCH_TIMEOUT", DEFAULT_TIMEOUT, float, "a number of seconds")


def fetch_max_bytes() -> int:
    """Bytes from BRIEF_FETCH_MAX_BYTES, else DEFAULT_MAX_BYTES."""
    return int(_positive("BRIEF_FETCH_MAX_BYTES", DEFAULT_MAX_BYTES, int, "a whole number of bytes"))


def _positive(name: str, default: float, kind: type[float] | type[int], what: str) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise UsageError(f"{name} must be {what} above 0, not {raw!r}")
    return value


def _too_large(limit: int) -> str:
    return f"larger than the {_size(limit)} limit (set BRIEF_FETCH_MAX_BYTES to raise it)"


def _size(count: int) -> str:
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if count >= size and count % size == 0:
            return f"{count // size} {unit}"
    return f"{count:,} bytes"
