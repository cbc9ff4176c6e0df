"""Running a batch's jobs on this machine: in this process, or in worker processes.

With one worker and an engine that works on this CPU, jobs run here, one after
another. Otherwise `workers` processes start, each with spaCy loaded once, and
take jobs from a queue. On Linux, from a process with no other thread, they are
forked after spaCy is loaded here, so they start at once and share the model;
otherwise they are spawned (nothing of this process's threads is copied) and
each loads it. With an LLM engine each process runs up to `--concurrency` jobs at once in
threads, since they mostly wait on the model, and every model call of every
process takes a slot of one shared semaphore of `--concurrency` slots, so the
batch as a whole keeps the provider's limit. A worker whose parent dies exits.
"""

from __future__ import annotations

import gc
import os
import queue
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from briefer.batch.jobs import Job
from briefer.batch.worker import BatchOptions, JobResult, JobRunner
from briefer.errors import RunError

_POLL = 0.2


class LocalExecutor:
    """Runs jobs in `workers` processes (or here, for one worker and a CPU-bound engine)."""

    def __init__(self, options: BatchOptions, workers: int, threads: int) -> None:
        self.options = options
        self.workers = workers
        self.threads = threads
        """Jobs each worker runs at once (more than one only for engines that wait on a server)."""
        self._processes: list[Any] = []
        self._queues: list[Any] = []
        self._frozen = False

    def run(self, jobs: Sequence[Job]) -> Iterator[JobResult]:
        """Each job's result, in the order they end."""
        if not jobs:
            return
        if self.workers == 1 and self.threads == 1:
            runner = JobRunner(self.options)
            for job in jobs:
                yield runner.run(job)
            return
        yield from self._run_in_processes(jobs)

    def _run_in_processes(self, jobs: Sequence[Job]) -> Iterator[JobResult]:
        from briefer.engines import engine_class
        from briefer.sentences import load_nlp, worker_context

        context: Any = worker_context()  # a fork or spawn context: both make Processes
        if context.get_start_method() == "fork":
            load_nlp()  # before the fork, so that the workers inherit it
            engine_class(self.options.settings.engine).warm_up()
            # The collector of a forked worker then leaves the inherited objects (spaCy's) alone,
            # rather than touching each one and so copying the pages they share with this process.
            gc.freeze()
            self._frozen = True
        tasks: Any = context.Queue()
        results: Any = context.Queue()
        self._queues = [tasks, results]
        limit = context.BoundedSemaphore(self.options.settings.concurrency)
        workers = min(self.workers, len(jobs))
        for number in range(workers):  # before any job is queued: no queue thread runs at a fork
            process = context.Process(
                target=_worker_main,
                args=(self.options, tasks, results, limit, self.threads, os.getpid()),
                name=f"brief-batch-{number + 1}",
                daemon=True,
            )
            process.start()
            self._processes.append(process)
        for job in jobs:
            tasks.put(job)
        for _ in range(workers * self.threads):
            tasks.put(None)
        left = len(jobs)
        while left:
            try:
                result = results.get(timeout=_POLL)
            except queue.Empty:
                dead = [p for p in self._processes if p.exitcode not in (None, 0)]
                if dead:
                    raise RunError(
                        f"worker process {dead[0].name} died (exit code {dead[0].exitcode}) "
                        f"with {left} jobs unfinished: rerun the same command to finish them"
                    ) from None
                continue
            left -= 1
            yield result

    def stop(self) -> None:
        """End every worker now; their jobs in progress are lost, and written nowhere."""
        for process in self._processes:
            if process.is_alive():
                process.terminate()
        for process in self._processes:
            process.join(timeout=5)
        self._processes = []
        for pipe in self._queues:
            pipe.cancel_join_thread()  # jobs no worker took are dropped, not waited on at exit
            pipe.close()
        self._queues = []
        if self._frozen:  # this process's objects are the collector's again
            gc.unfreeze()
            self._frozen = False


def _worker_main(
    options: BatchOptions, tasks: Any, results: Any, limit: Any, threads: int, parent: int
) -> None:
    """A worker process: load once, then run jobs from `tasks` in `threads` threads until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the batch's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked worker must not inherit the batch's handler
    from briefer.llm.limit import share_call_limit

    share_call_limit(limit)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    runner = JobRunner(options)

    def work() -> None:
        while True:
            # The turn first: until a thread can start a job, the job waits in the queue, where
            # any worker may take it (with the largest jobs first, no worker hoards them).
            turn = runner.take_turn()
            job = tasks.get()
            if job is None:
                turn.end()
                return
            results.put(runner.run(job, turn))

    running = [threading.Thread(target=work) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()


def _exit_with_parent(parent: int) -> None:
    """Exit when the batch that started this worker is gone (killed without a chance to stop it)."""
    while True:
        time.sleep(1)
        if os.getppid() != parent:
            os._exit(1)
