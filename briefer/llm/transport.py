"""How long to wait for a model server: the run's deadline, waits between tries, tokens as they arrive.

`--timeout` bounds silence, not total time: it is the longest wait for the first
byte of an answer and between two pieces of a streamed one (httpx's read timeout
is per read). `--deadline`, unset by default, bounds all of a run's model calls
together, including the waits between tries. A server asking to wait longer than
`MAX_RETRY_AFTER`, or longer than the deadline leaves, is not waited for: the run
fails at once and says so. Nothing here imports openai.
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
import time
from collections import deque
from collections.abc import Mapping

from briefer.errors import ModelError

MAX_RETRY_AFTER = 120.0
"""Longest `Retry-After` waited for (as the openai SDK); a server asking for more fails the run at once."""
_FIRST_BACKOFF, _MAX_BACKOFF = 0.5, 8.0
_RATE_WINDOW = 5.0
"""Seconds of arrivals the current rate is measured over."""


class Deadline:
    """The end of the time the run's model calls may take (`--deadline`), from when the first call starts."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._ends: float | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the clock (once: later calls keep the first start)."""
        with self._lock:
            if self.seconds is not None and self._ends is None:
                self._ends = time.monotonic() + self.seconds

    def remaining(self) -> float | None:
        """Seconds left, or None when there is no deadline."""
        if self._ends is None:
            return None
        return max(0.0, self._ends - time.monotonic())

    def check(self) -> None:
        """Fail if the deadline has passed."""
        if self.remaining() == 0.0:
            raise ModelError(self.passed())

    def bound(self, timeout: float) -> float:
        """`timeout`, shortened to what the deadline leaves (a wait never outlasts the deadline by much)."""
        left = self.remaining()
        return timeout if left is None else max(0.05, min(timeout, left))

    def passed(self) -> str:
        assert self.seconds is not None
        return (
            f"the model calls did not finish within --deadline {self.seconds:g} s: "
            "raise --deadline, or leave it unset for no overall limit"
        )


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds a server asks to wait before the next try (`retry-after-ms`, `retry-after` in seconds
    or as an HTTP date), or None when it does not say."""
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        if math.isfinite(seconds):
            return max(0.0, seconds)
        return math.inf
    value = headers.get("retry-after")
    if value:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        return max(0.0, when.timestamp() - time.time())
    return None


def backoff(tries_so_far: int) -> float:
    """Exponential backoff with jitter: 0.5 s, 1 s, 2 s … at most 8 s, each up to a quarter shorter."""
    return min(_FIRST_BACKOFF * 2.0**tries_so_far, _MAX_BACKOFF) * (1 - 0.25 * random.random())


def wait_before_retry(asked: float | None, tries_so_far: int, deadline: Deadline, where: str) -> float:
    """How long to wait before the next try: what the server asked, else backoff. A wait the
    server asks for that is too long, or that the deadline does not leave time for, fails now."""
    wait = backoff(tries_so_far) if asked is None else asked
    left = deadline.remaining()
    if asked is not None and asked > MAX_RETRY_AFTER:
        raise ModelError(
            f"the model server at {where} asks to wait {_seconds(asked)} before trying again "
            f"(Retry-After), longer than the {MAX_RETRY_AFTER:g} s briefer waits: try again later"
        )
    if left is not None and wait >= left:
        why = f"asks to wait {_seconds(wait)} (Retry-After)" if asked is not None else "is failing"
        raise ModelError(
            f"the model server at {where} {why}, and --deadline {deadline.seconds:g} s leaves "
            f"{left:.0f} s: try again later or raise --deadline"
        )
    return wait


def _seconds(value: float) -> str:
    return "forever" if not math.isfinite(value) else f"{value:.0f} s"


class TokenMeter:
    """Tokens of streamed answers received so far, and the rate they arrive at (for progress displays)."""

    def __init__(self) -> None:
        self.tokens = 0
        self._recent: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    def add(self, tokens: int) -> None:
        now = time.monotonic()
        with self._lock:
            self.tokens += tokens
            self._recent.append((now, tokens))
            while self._recent and now - self._recent[0][0] > _RATE_WINDOW:
                self._recent.popleft()

    def rate(self) -> float:
        """Tokens per second over the last few seconds (0 when nothing arrived lately)."""
        now = time.monotonic()
        with self._lock:
            recent = [(t, n) for t, n in self._recent if now - t <= _RATE_WINDOW]
        if not recent:
            return 0.0
        span = max(1.0, now - recent[0][0])
        return sum(n for _, n in recent) / span
