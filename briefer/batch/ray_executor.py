"""Running a batch's jobs on a Ray cluster: one actor per worker, each loading spaCy once.

`--executor ray` joins the cluster at `--ray-address` (or `RAY_ADDRESS`), or starts
a local one for the run. Each actor is a `JobRunner` (the same code as a local
worker), reads its jobs' sources where it runs, and sends the rendered outputs
back; this process writes them, as for local workers. With `--ray-results PATH`
(a folder every node sees) each actor writes its jobs' files there itself, each
atomically, and sends back only how the job went. With an LLM engine each
actor runs up to `--concurrency` jobs at once, and every model call of every
actor takes a slot of one `CallLimit` actor, so the cluster as a whole keeps
`--concurrency` calls in flight. Every node needs briefer installed
(`pip install 'briefer[ray]'`), the same version as here.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from briefer.batch.jobs import Job
from briefer.batch.worker import BatchOptions, JobResult, JobRunner, output_files, write_where_run
from briefer.errors import RunError, UsageError

_POLL = 0.5
_CONNECT_TIMEOUT = 5.0
_KILL_WAIT = 10.0
"""Longest wait, when a run is stopped, for the actors killed to be gone."""


class CallLimit:
    """A semaphore of `slots` as a Ray actor, shared by every actor of a batch."""

    def __init__(self, slots: int) -> None:
        self._slots = asyncio.Semaphore(slots)

    async def acquire(self) -> None:
        await self._slots.acquire()

    async def release(self) -> None:
        self._slots.release()


class _RemoteSlot:
    """The `CallLimit` actor seen as a context manager, for `briefer.llm.limit`."""

    def __init__(self, limit: Any) -> None:
        self.limit = limit

    def __enter__(self) -> None:
        import ray

        ray.get(self.limit.acquire.remote())

    def __exit__(self, *exc: object) -> None:
        import ray

        ray.get(self.limit.release.remote())


class RayWorker:
    """A Ray actor that runs jobs with a `JobRunner` made once, when it starts; with `results`, it
    writes each job's files there itself."""

    def __init__(self, options: BatchOptions, limit: Any, results: Path | None = None) -> None:
        from briefer.llm.limit import share_call_limit

        share_call_limit(_RemoteSlot(limit))
        self.runner = JobRunner(options)
        self.results = results

    def run(self, job: Job) -> JobResult:
        result = self.runner.run(job)
        if self.results is None:
            return result
        return write_where_run(self.results, result, self.runner.options.formats)


class RayExecutor:
    """Runs jobs as calls to `workers` Ray actors (default: one per CPU of the cluster)."""

    def __init__(
        self,
        options: BatchOptions,
        workers: int | None,
        address: str | None,
        threads: int,
        results: Path | None = None,
    ) -> None:
        try:
            import ray
        except ImportError:
            raise UsageError("--executor ray needs Ray: pip install 'briefer[ray]'") from None
        self.options = options
        self.threads = threads
        self.results = results.resolve() if results is not None else None
        """Where the actors write the briefs themselves (`--ray-results`); None: they come back here."""
        self._ray = ray
        self._actors: list[Any] = []
        self._running: dict[Any, Job] = {}
        address = address or os.environ.get("RAY_ADDRESS") or None
        if address:
            _check_reachable(address)
        try:
            ray.init(
                address=address,
                include_dashboard=False,
                logging_level=logging.WARNING,
                log_to_driver=False,
                configure_logging=False,
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"at {address}" if address else "on this machine"
            raise RunError(
                f"cannot start or join a Ray cluster {where}: {' '.join(str(exc).split())}"
            ) from None
        resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
        self.workers = workers or max(1, int(resources.get("CPU", 1)))

    def run(self, jobs: Sequence[Job]) -> Iterator[JobResult]:
        """Each job's result, in the order they end."""
        if not jobs:
            return
        ray = self._ray
        limit = ray.remote(num_cpus=0)(CallLimit).remote(self.options.settings.concurrency)
        actor_class = ray.remote(num_cpus=1, max_concurrency=self.threads)(RayWorker)
        count = min(self.workers, len(jobs))
        self._actors = [actor_class.remote(self.options, limit, self.results) for _ in range(count)]
        waiting = list(jobs)
        running: dict[Any, Any] = {}
        self._running = {}

        def start(actor: Any) -> None:
            job = waiting.pop(0)
            ref = actor.run.remote(job)
            running[ref], self._running[ref] = actor, job

        for _ in range(self.threads):
            for actor in self._actors:  # in turn, so that each actor gets its share of the largest jobs
                if waiting:
                    start(actor)
        while running:
            # A short wait, so Ctrl-C and SIGTERM are seen while jobs run.
            ready, _ = ray.wait(list(running), num_returns=1, timeout=_POLL)
            if not ready:
                continue
            actor = running.pop(ready[0])
            if waiting:
                start(actor)
            try:
                result = ray.get(ready[0])
            except ray.exceptions.RayError as exc:
                raise RunError(
                    f"a Ray worker failed ({type(exc).__name__}): rerun the same command to finish the jobs left"
                ) from None
            del self._running[ready[0]]  # from here on the batch records it
            yield result

    def stop(self) -> None:
        """End the actors, and the local cluster if this run started one. With `--ray-results`, the
        files of jobs cut short (none recorded in the index) are removed once their actors are gone."""
        for actor in self._actors:
            self._ray.kill(actor)
        self._actors = []
        if self.results is not None and self._running:
            # An actor is gone when its calls fail; until then it might still rename a file into place.
            self._ray.wait(list(self._running), num_returns=len(self._running), timeout=_KILL_WAIT)
            for job in self._running.values():
                _remove_outputs(self.results, job.id, self.options.formats)
        self._running = {}
        self._ray.shutdown()


def _remove_outputs(folder: Path, job_id: str, formats: Sequence[str]) -> None:
    """Remove what a job cut short wrote into `folder`: its files and their temporary files."""
    for path in output_files(folder, job_id, formats):
        for stray in (path, *folder.glob(f".{path.name}.*.tmp")):
            stray.unlink(missing_ok=True)


def _check_reachable(address: str) -> None:
    """Fail at once when a `host:port` address does not answer (Ray itself waits minutes)."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", or a form Ray knows better
    try:
        socket.create_connection((host, int(port)), timeout=_CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise RunError(
            f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}): check --ray-address "
            "(or RAY_ADDRESS) and that `ray start --head` runs there"
        ) from None
