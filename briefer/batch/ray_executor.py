"""Running a batch's jobs on a Ray cluster: one actor per worker, each loading spaCy once.

`--executor ray` joins the cluster at `--ray-address` (or `RAY_ADDRESS`), or starts
a local one for the run. Each actor is a `JobRunner` (the same code as a local
worker), reads its jobs' sources where it runs, and sends the rendered outputs
back; this process writes them, as for local workers. With an LLM engine each
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
from typing import Any

from briefer.batch.jobs import Job
from briefer.batch.worker import BatchOptions, JobResult, JobRunner
from briefer.errors import RunError, UsageError

_POLL = 0.5
_CONNECT_TIMEOUT = 5.0


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
    """A Ray actor that runs jobs with a `JobRunner` made once, when it starts."""

    def __init__(self, options: BatchOptions, limit: Any) -> None:
        from briefer.llm.limit import share_call_limit

        share_call_limit(_RemoteSlot(limit))
        self.runner = JobRunner(options)

    def run(self, job: Job) -> JobResult:
        return self.runner.run(job)


class RayExecutor:
    """Runs jobs as calls to `workers` Ray actors (default: one per CPU of the cluster)."""

    def __init__(self, options: BatchOptions, workers: int | None, address: str | None, threads: int) -> None:
        try:
            import ray
        except ImportError:
            raise UsageError("--executor ray needs Ray: pip install 'briefer[ray]'") from None
        self.options = options
        self.threads = threads
        self._ray = ray
        self._actors: list[Any] = []
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
        self._actors = [actor_class.remote(self.options, limit) for _ in range(count)]
        waiting = list(jobs)
        running: dict[Any, Any] = {}
        for actor in self._actors:
            for _ in range(self.threads):
                if waiting:
                    running[actor.run.remote(waiting.pop(0))] = actor
        while running:
            # A short wait, so Ctrl-C and SIGTERM are seen while jobs run.
            ready, _ = ray.wait(list(running), num_returns=1, timeout=_POLL)
            if not ready:
                continue
            actor = running.pop(ready[0])
            if waiting:
                running[actor.run.remote(waiting.pop(0))] = actor
            try:
                yield ray.get(ready[0])
            except ray.exceptions.RayError as exc:
                raise RunError(
                    f"a Ray worker failed ({type(exc).__name__}): rerun the same command to finish the jobs left"
                ) from None

    def stop(self) -> None:
        """End the actors, and the local cluster if this run started one."""
        for actor in self._actors:
            self._ray.kill(actor)
        self._actors = []
        self._ray.shutdown()


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
