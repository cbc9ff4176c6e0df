"""Many briefs at once: `brief batch JOBS --out DIR`, resumable, on local workers or a Ray cluster.

- `jobs`: the manifest or folder of jobs, and id checks;
- `state`: the output folder's index, input hashes and lock;
- `worker`: one job through the same pipeline and renderers as `brief`;
- `local`: jobs in this process or in worker processes, sharing one model-call limit;
- `ray_executor`: jobs as Ray actors on a cluster (imported only when asked for);
- `run`: the run itself: skip, execute, write atomically, survive interrupts.
"""

from __future__ import annotations

from pathlib import Path

from briefer.batch.jobs import Job, read_jobs
from briefer.batch.run import BatchProgress, Executor, run_batch
from briefer.batch.worker import BatchOptions, JobResult, JobRunner
from briefer.engines import engine_class
from briefer.errors import UsageError
from briefer.sentences import default_jobs


def make_executor(
    kind: str,
    options: BatchOptions,
    workers: int | None,
    address: str | None,
    results: Path | None = None,
) -> Executor:
    """The executor named `kind` (`local` or `ray`) with `workers` workers (default: one per CPU);
    Ray's write the briefs into `results` themselves when it is given.

    An engine that waits on a model server runs up to `--concurrency` jobs at once in each
    worker; the others, one.
    """
    threads = options.settings.concurrency if engine_class(options.settings.engine).overlaps else 1
    if kind == "ray":
        from briefer.batch.ray_executor import RayExecutor

        return RayExecutor(options, workers, address, threads, results)
    if results is not None:
        raise UsageError("--ray-results needs --executor ray: local workers write into --out")
    from briefer.batch.local import LocalExecutor

    return LocalExecutor(options, workers or default_jobs(), threads)


__all__ = [
    "BatchOptions",
    "BatchProgress",
    "Executor",
    "Job",
    "JobResult",
    "JobRunner",
    "make_executor",
    "read_jobs",
    "run_batch",
]
