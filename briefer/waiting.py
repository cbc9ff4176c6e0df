"""Waits of the main thread that Ctrl-C always ends at once.

Python runs signal handlers in the main thread only, but the kernel may hand
SIGINT to any thread of the process. A wait with no timeout (`Future.result()`,
`as_completed`) is then not woken: it ends when a worker finishes, which for a
model call may be minutes. These wait in short steps, so a Ctrl-C that reached
any thread raises KeyboardInterrupt here within `STEP` seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TypeVar

T = TypeVar("T")

STEP = 0.2
"""Longest single wait, in seconds: how late a Ctrl-C that reached another thread is seen."""


def result_of(future: Future[T]) -> T:
    """`future.result()`, waited for in short steps."""
    while not future.done():
        wait([future], timeout=STEP)
    return future.result()


def as_finished(futures: Iterable[Future[T]]) -> Iterator[Future[T]]:
    """Each of `futures` as it finishes (like `as_completed`), waited for in short steps."""
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=STEP, return_when=FIRST_COMPLETED)
        yield from done
