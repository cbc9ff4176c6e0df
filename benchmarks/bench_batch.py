"""`brief batch` throughput: local workers, separate processes, Ray, and LLM calls under one limit.

Run from the project root, in the project's virtualenv:

    python benchmarks/bench_batch.py                  # everything (several minutes)
    python benchmarks/bench_batch.py --skip-ray --skip-llm

The 40 jobs are 40 news clusters of ``../shared/eval`` (MultiLing, Multi-News and
AllSides, taken in turn from each), written at run time as one folder of ``.txt``
articles per job in a temporary folder (nothing is copied into the repository),
and briefed with the offline engine and the policy template. Each command runs
as a subprocess; its peak memory is the largest resident set of any of its
processes (the batch or one worker), from ``getrusage(RUSAGE_CHILDREN)`` of a
wrapper process.

1. ``brief batch --workers 1`` and ``--workers 2``: jobs per minute (target: 2
   workers ≥ 1.7x one on 2 cores);
2. the same 40 jobs as 40 separate ``brief FOLDER -o ID.json`` processes, one after
   another (target: ``batch --workers 1`` ≥ 1.5x faster, since spaCy loads once);
3. ``--executor ray --workers 2`` on a local Ray cluster (2 CPUs) started here and
   already running: identical JSON to the local workers, and Ray's cost per job
   over the local workers (skipped when Ray is not installed);
4. 20 of the jobs with the openai engine against ``tests/scripted_server.py`` at
   0.5 s latency: ``--concurrency 8`` against ``--concurrency 1`` (target ≥ 4x), for
   whole clusters at the default chunking, the same with ``--chunk-tokens 400`` (more
   calls per job, so the model's latency dominates), and each cluster's first article.
   Starting the workers (spaCy, openai) costs the same at either setting.

Every figure is printed with the load average of the minute before it (``load``):
on a shared machine other work takes CPU from the batch, and wall times mean little
unless the load is below the number of CPUs. ``--repeat N`` runs each measured
command N times and keeps the fastest (the least disturbed), printing every try.
The LLM lines also give the CPU seconds of the batch divided by the CPUs: with
so few calls per job, the batch is bound by splitting sentences (spaCy), not by
the model, once that floor is above the model's share (calls x 0.5 s / 8).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

JOBS = 40
LLM_JOBS = 20
LATENCY = 0.5
SMALL_CHUNKS = 400
_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "start = time.monotonic()\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "used = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(time.monotonic() - start, used.ru_maxrss, used.ru_utime + used.ru_stime, code)\n"
)


def write_jobs(folder: Path, count: int) -> Path:
    """`count` clusters as job folders under `folder`, taken in turn from each dataset; the manifest."""
    from bench_quality import DATASETS

    streams = [iter(reader(EVAL / sub)) for sub, reader in DATASETS.values() if (EVAL / sub).is_dir()]
    lines = []
    while len(lines) < count and streams:
        for stream in list(streams):
            cluster = next(stream, None)
            if cluster is None:
                streams.remove(stream)
                continue
            job_id = f"{cluster.dataset}-{len(lines):02d}"
            job = folder / job_id
            job.mkdir(parents=True)
            for number, (title, text) in enumerate(cluster.articles, start=1):
                (job / f"article-{number}.txt").write_text(f"{title}\n\n{text}", encoding="utf-8")
            lines.append(json.dumps({"id": job_id, "sources": [str(job)]}) + "\n")
            if len(lines) == count:
                break
    manifest = folder / "jobs.jsonl"
    manifest.write_text("".join(lines), encoding="utf-8")
    return manifest


REPEAT = 1
"""Times each measured command runs (`--repeat`); the fastest is kept."""


def load() -> str:
    """The load average over the last minute, to print beside a figure."""
    return f"load {os.getloadavg()[0]:.1f}"


def measure(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """The fastest of `REPEAT` runs: wall seconds, peak resident MB of the largest process, and CPU
    seconds of all its processes."""
    tries = [_measure_once(args, env) for _ in range(REPEAT)]
    if REPEAT > 1:
        print(f"    tries: {', '.join(f'{t[0]:.1f} s' for t in tries)} ({load()})")
    return min(tries)


def _measure_once(args: list[str], env: dict[str, str] | None) -> tuple[float, float, float]:
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )
    seconds, kilobytes, cpu, code = result.stdout.split()
    if code != "0":
        raise SystemExit(f"failed ({code}): {' '.join(args)}\n{result.stderr}")
    return float(seconds), int(kilobytes) / 1024, float(cpu)


def brief(*args: str) -> list[str]:
    return [sys.executable, "-m", "briefer", *args]


def jsons(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.json"))}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skip-workers", action="store_true", help="leave out the --workers 1 / 2 runs")
    parser.add_argument("--skip-separate", action="store_true", help="leave out the 40 separate processes")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--skip-llm", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each command; the fastest is kept")
    args = parser.parse_args()
    global REPEAT
    REPEAT = max(1, args.repeat)
    if not EVAL.is_dir():
        print(f"Skipping: {EVAL} is absent.")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        manifest = write_jobs(work / "jobs", JOBS)
        ids = [json.loads(line)["id"] for line in manifest.read_text().splitlines()]
        env = {"BRIEF_CACHE_DIR": str(work / "cache")}
        print(f"{len(ids)} jobs from {EVAL}, offline engine, policy template; {os.cpu_count()} CPUs")
        print(f"load average at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        runs: dict[str, float] = {}
        if not args.skip_workers:
            for workers in ("1", "2"):
                out = work / f"w{workers}"
                seconds, peak, cpu = measure(
                    brief("batch", str(manifest), "--out", str(out), "-q", "--workers", workers, "--force"),
                    env,
                )
                runs[workers] = seconds
                print(
                    f"batch --workers {workers}: {seconds:6.1f} s, {len(ids) * 60 / seconds:5.1f} jobs/min, "
                    f"{cpu:.1f} CPU s, peak {peak:.0f} MB per process ({load()})"
                )
            print(f"  speed-up with 2 workers: {runs['1'] / runs['2']:.2f}x (target 1.7x)")
            print(f"  same briefs with 1 and 2 workers: {jsons(work / 'w1') == jsons(work / 'w2')}")
        if not args.skip_separate:
            separate(work, ids, env, runs.get("1"))
        if not args.skip_ray:
            ray_run(manifest, work, env, runs.get("2"), len(ids))
        if not args.skip_llm:
            llm_run(work, ids[:LLM_JOBS], env, whole=True)
            llm_run(work, ids[:LLM_JOBS], env, whole=True, chunk_tokens=SMALL_CHUNKS)
            llm_run(work, ids[:LLM_JOBS], env, whole=False)
    return 0


def separate(work: Path, ids: list[str], env: dict[str, str], batch_seconds: float | None) -> None:
    """The jobs as separate `brief` processes, one after another."""
    out = work / "separate"
    out.mkdir()
    start, peak, cpu = time.monotonic(), 0.0, 0.0
    for job_id in ids:
        _, used, spent = measure(
            brief(str(work / "jobs" / job_id), "-q", "-o", str(out / f"{job_id}.json")), env
        )
        peak, cpu = max(peak, used), cpu + spent
    seconds = time.monotonic() - start
    print(
        f"{len(ids)} separate brief processes: {seconds:6.1f} s, {len(ids) * 60 / seconds:5.1f} jobs/min, "
        f"{cpu:.1f} CPU s, peak {peak:.0f} MB"
    )
    if batch_seconds is not None:
        print(f"  batch --workers 1 is {seconds / batch_seconds:.2f}x faster (target 1.5x)")


def ray_run(manifest: Path, work: Path, env: dict[str, str], local_seconds: float | None, jobs: int) -> None:
    """The jobs on a local Ray cluster with 2 CPUs, started before the clock starts."""
    try:
        import ray
    except ImportError:
        print("Ray: skipped (pip install 'briefer[ray]')")
        return
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    try:
        address = ray.get_runtime_context().gcs_address
        seconds, _, _ = measure(
            brief("batch", str(manifest), "--out", str(work / "ray"), "-q", "--executor", "ray",
                  "--ray-address", address, "--workers", "2", "--force"), env
        )  # fmt: skip
    finally:
        ray.shutdown()
    line = f"batch --executor ray --workers 2 (local cluster, running): {seconds:6.1f} s"
    print(f"{line}, {jobs * 60 / seconds:5.1f} jobs/min")
    if local_seconds is not None:
        print(f"  identical JSON to local workers: {jsons(work / 'ray') == jsons(work / 'w2')}")
        print(f"  Ray's cost: {(seconds - local_seconds) / jobs:+.2f} s per job over --workers 2")


def llm_run(
    work: Path, ids: list[str], env: dict[str, str], whole: bool, chunk_tokens: int | None = None
) -> None:
    """The jobs with the openai engine against the scripted server: whole clusters, or each one's first
    article; with `chunk_tokens`, smaller chunks (more calls per job, so the model's latency dominates)."""
    from tests.scripted_server import ScriptedServer

    kind = ("clusters" if whole else "first articles") + (
        f", --chunk-tokens {chunk_tokens}" if chunk_tokens else ""
    )
    manifest = work / f"llm-{'whole' if whole else 'first'}-{chunk_tokens or 0}.jsonl"
    chunking = ["--chunk-tokens", str(chunk_tokens)] if chunk_tokens else []
    sources = {i: str(work / "jobs" / i) if whole else str(work / "jobs" / i / "article-1.txt") for i in ids}
    manifest.write_text("".join(json.dumps({"id": i, "sources": [sources[i]]}) + "\n" for i in ids))
    times = {}
    cpus = os.cpu_count() or 1
    for limit in ("1", "8"):
        with ScriptedServer(latency=LATENCY) as server:
            out = work / f"llm-{manifest.stem}-{limit}"
            seconds, _, cpu = measure(
                brief("batch", str(manifest), "--out", str(out), "-q", "--base-url", server.url,
                      "--no-cache", "--concurrency", limit, *chunking, "--force"), env
            )  # fmt: skip
            calls, peak = len(server.requests) // REPEAT, server.max_in_flight()
        times[limit] = seconds
        print(
            f"{len(ids)} LLM jobs ({kind}), {LATENCY} s latency, --concurrency {limit}: {seconds:6.1f} s, "
            f"{cpu:.1f} CPU s (/{cpus} CPUs = {cpu / cpus:.1f} s), {calls} calls, at most {peak} at once, "
            f"model's share {calls * LATENCY / int(limit):.1f} s ({load()})"
        )
    print(f"  speed-up at --concurrency 8: {times['1'] / times['8']:.2f}x (target 4x)")


if __name__ == "__main__":
    sys.exit(main())
