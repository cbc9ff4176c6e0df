"""A batch run: skip what is done, run the rest on an executor, write each result atomically.

Only this process writes to the output folder, under its lock: each job's files
are written atomically (`briefer.output.write_output`), then its index line. Ctrl-C
and SIGTERM are held back while a job's files are written and honoured between
jobs, so an interrupted batch leaves whole outputs only, and a rerun finishes
the rest. Jobs start largest first, so that the batch does not end waiting on
one long job. With `--ray-results` the Ray workers write each job's files into that
folder themselves (atomically too) and this process writes only the index line;
the executor removes what jobs cut short by an interrupt had written
(`RayExecutor.stop`), and both folders are locked.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from briefer._version import __version__
from briefer.batch.jobs import Job
from briefer.batch.state import FolderLock, Index, JobRecord, input_bytes, job_hash
from briefer.batch.worker import BatchOptions, JobResult, output_files, write_job_files
from briefer.errors import UsageError


class Executor(Protocol):
    """Where jobs run: local processes or a Ray cluster."""

    def run(self, jobs: Sequence[Job]) -> Iterator[JobResult]:
        """Each job's result, as jobs end."""
        ...

    def stop(self) -> None:
        """Stop every job still running, at once."""
        ...


@dataclass
class BatchProgress:
    """Where a batch stands: jobs ok, failed and skipped of `total`, and since when."""

    total: int
    ok: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    interrupted: bool = False

    @property
    def done(self) -> int:
        return self.ok + self.skipped + len(self.failed)

    @property
    def left(self) -> int:
        return self.total - self.done

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def rate(self) -> float:
        """Jobs run (not skipped) per minute so far."""
        ran = self.ok + len(self.failed)
        return ran * 60 / self.seconds if self.seconds > 0 else 0.0


class _Interrupted(BaseException):
    """Ctrl-C or SIGTERM during a batch; a BaseException, like KeyboardInterrupt, so that no job
    catching its own errors (`JobRunner.run`) takes it for a failure of that job."""


def settings_fingerprint(options: BatchOptions, job: Job) -> dict[str, Any]:
    """What, besides its sources, decides a job's brief: a change here makes a rerun redo it."""
    from briefer.templates import load_template, with_sections

    name, sections = options.template_of(job)
    template = with_sections(load_template(name), list(sections))
    settings = options.settings
    llm = settings.engine != "extractive"
    return {
        "briefer": __version__,
        "engine": settings.engine,
        "model": settings.model if llm else None,
        "base_url": settings.base_url if llm else None,
        "max_tokens": settings.max_tokens if llm else None,
        "chunk_tokens": options.chunk_tokens,
        "strict": options.strict,
        "template": template.model_dump(mode="json"),
    }


def run_batch(
    jobs: Sequence[Job],
    options: BatchOptions,
    out: Path,
    executor: Executor,
    *,
    force: bool = False,
    on_progress: Callable[[BatchProgress], None] | None = None,
    results: Path | None = None,
) -> BatchProgress:
    """Run `jobs` into folder `out`, skipping those already done with the same inputs (unless `force`).

    The briefs go to `results` instead when given (the executor's workers write them there, as
    `--ray-results` asks); the index and the lock stay in `out`.
    """
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file: give a folder for the briefs")
    if results is not None and results.exists() and not results.is_dir():
        raise UsageError(f"--ray-results {results} is a file: give a folder for the briefs")
    briefs = results or out
    fingerprints: dict[str, dict[str, Any]] = {}
    by_template: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}
    for job in jobs:  # a bad template fails the batch now, before any job runs
        key = options.template_of(job)
        if key not in by_template:
            by_template[key] = settings_fingerprint(options, job)
        fingerprints[job.id] = by_template[key]
    for folder in dict.fromkeys((out, briefs)):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot make the folder {folder}: {exc.strerror or exc}") from None
    progress = BatchProgress(total=len(jobs))
    report = on_progress or (lambda _: None)
    separate = briefs.resolve() != out.resolve()
    with FolderLock(out), FolderLock(briefs) if separate else nullcontext():
        index = Index(out)
        hashes = {job.id: job_hash(job.sources, fingerprints[job.id]) for job in jobs}
        todo = []
        for job in jobs:
            before = index.records.get(job.id)
            if (
                not force
                and before is not None
                and before.status in ("ok", "skipped")
                and before.hash == hashes[job.id]
                and all(p.is_file() for p in output_files(briefs, job.id, options.formats))
            ):
                index.records[job.id] = JobRecord(job.id, "skipped", hash=hashes[job.id])
                progress.skipped += 1
            else:
                todo.append(job)
        # Largest first (by bytes of sources): the last jobs to end are then short ones, and the
        # workers finish together rather than one waiting on the other's long last job.
        todo.sort(key=lambda job: input_bytes(job.sources), reverse=True)
        report(progress)
        signals = _HeldSignals()
        try:
            with signals:
                for result in executor.run(todo):
                    with signals.held():
                        _commit(result, briefs, index, hashes[result.id], options.formats)
                    if result.status == "ok":
                        progress.ok += 1
                    else:
                        progress.failed.append(result.id)
                    report(progress)
        except _Interrupted:
            progress.interrupted = True
        finally:
            executor.stop()
            index.rewrite(job.id for job in jobs)
    return progress


def _commit(result: JobResult, briefs: Path, index: Index, digest: str, formats: Sequence[str]) -> None:
    """Write a finished job's files (unless its worker did), then its index line."""
    if result.status == "ok" and not result.written:
        write_job_files(briefs, result, formats)
    record = JobRecord(
        result.id,
        result.status,
        result.error,
        round(result.seconds, 3),
        result.llm_calls,
        result.tokens,
        digest if result.status == "ok" else None,
    )
    index.add(record)


class _HeldSignals:
    """Turns Ctrl-C and SIGTERM into `_Interrupted`, held back while `held()` writes a job's files."""

    _SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self._holding = False
        self._pending: int | None = None
        self._before: dict[int, Any] = {}

    def __enter__(self) -> _HeldSignals:
        if threading.current_thread() is threading.main_thread():
            for number in self._SIGNALS:
                self._before[number] = signal.signal(number, self._caught)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._before.items():
            signal.signal(number, handler)
        self._before = {}

    def _caught(self, number: int, frame: FrameType | None) -> None:
        if self._holding:
            self._pending = number
        else:
            raise _Interrupted

    @contextmanager
    def held(self) -> Iterator[None]:
        self._holding = True
        try:
            yield
        finally:
            self._holding = False
        if self._pending is not None:
            raise _Interrupted


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM stops what runs inside like Ctrl-C (exit 130), as it does a batch's jobs."""

    def interrupt(number: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)
