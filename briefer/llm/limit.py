"""One limit on model calls in flight, shared by every job of a batch, across processes.

A batch's worker processes each run several briefs; `share_call_limit` gives them
one semaphore (a `multiprocessing` one, made by the batch), so `--concurrency`
bounds the calls of the whole batch, not of each brief. A single run shares none.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_shared: Any = None


def share_call_limit(semaphore: Any) -> None:
    """Make every model call of this process take a slot of `semaphore` (None: no shared limit)."""
    global _shared
    _shared = semaphore


@contextmanager
def call_slot() -> Iterator[None]:
    """Hold a slot of the shared limit, if there is one, while a request is out."""
    if _shared is None:
        yield
        return
    with _shared:
        yield
