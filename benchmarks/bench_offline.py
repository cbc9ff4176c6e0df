"""Wall time and peak memory of the offline (extractive) brief, against one bare spaCy pass.

Run from the project root, in the project's virtualenv:

    python benchmarks/bench_offline.py            # seed article + ~1 MB corpus (a few minutes)
    python benchmarks/bench_offline.py --quick    # seed article + ~200 kB corpus
    python benchmarks/bench_offline.py --chars 500000 --skip-api

What it measures
----------------
Two inputs:

1. the seed article ``seeds/us-russia-riyadh-talks.txt``;
2. a corpus of about 1,000,000 characters (``--quick``: 200,000) built at run time
   from ``../shared/eval`` (relative to the project root): the WikiNews articles of
   ``multiling2011_sacrerouge/documents.jsonl``, the articles of
   ``multinews_TheAthleticCoder/*.csv`` and the left/center/right excerpts of
   ``neus_allsides/*.jsonl``, taken round-robin across the three sets and repeated
   (file names prefixed ``r1-``, ``r2-`` …) until the target size is reached. Each
   article becomes one ``.txt`` file in a temporary directory that is deleted at the
   end; nothing is written into the repository (the licences forbid copying the
   text). If ``../shared/eval`` is absent the corpus part is skipped with a message.

For each input, three configurations, each in its own child process so that its
peak memory is not polluted by the others (peak = ``ru_maxrss`` of that child
alone, from ``os.wait4``; wall time = clock around the whole child, so Python
start-up, imports and model loading are included for every configuration):

* ``bare spaCy`` - ``spacy.load(<model>)`` with the full default pipeline (the first
  of ``briefer.sentences.SPACY_MODELS`` that loads) and
  ``for doc in nlp.pipe(paragraphs, batch_size=64): pass``. ``paragraphs`` are the
  non-blank lines of each file, stripped (every file is written one paragraph per
  line, so these are the same blocks the brief sends to spaCy, give or take its
  joining of hard-wrapped lines). Inside the loop the only work besides the parse
  is counting each doc's sentences (``len(list(doc.sents))``), which costs next to
  nothing and keeps no docs alive.
* ``brief CLI`` - ``python -m briefer <input> --format json -q`` exactly as a user
  would run it, stdout to a temporary file (parsed afterwards for sentence counts).
* ``brief API`` - ``load_sources`` + ``make_brief`` + ``render_json`` in a child,
  with a breakdown by stage from the ``on_progress`` callback (``--skip-api`` to
  leave it out).

Targets for the corpus: brief CLI wall time at most 1.5x the bare spaCy child's,
and brief CLI peak memory under 600 MB. MB here are MiB (ru_maxrss KiB / 1024).
``ratio`` is wall time over the bare spaCy child's; ``cpu s`` / ``cpu ratio`` are the
child's user+system CPU seconds (from ``os.wait4``), steadier than wall time when
other work shares the machine (the load average is printed at start and end).
``--repeat N`` runs each configuration N times and keeps the best wall time.
"""

from __future__ import annotations

import argparse
import ast
import csv
import itertools
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "us-russia-riyadh-talks.txt"
EVAL_DIR = ROOT / ".." / "shared" / "eval"
FULL_CHARS = 1_000_000
QUICK_CHARS = 200_000
BIG_CHARS = 20_000_000
TARGET_RATIO = 1.5
TARGET_MB = 600
TARGET_STARTUP_S = 0.3
TARGET_GROWTH = 1.5
TARGET_PARALLEL_RATIO = 0.6


# --------------------------------------------------------------------------- helpers


def _expand(path: Path) -> list[Path]:
    """The .txt/.md files a path stands for, in sorted order (as the brief reads a directory)."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".txt", ".md"))
    return [path]


def _paragraphs(text: str) -> list[str]:
    """The baseline's blocks: every non-blank line, stripped."""
    return [line.strip() for line in text.split("\n") if line.strip()]


def _peak_mb(maxrss_kib: int) -> float:
    return maxrss_kib / 1024


# --------------------------------------------------------------------------- children


def child_baseline(path: Path, models: list[str]) -> dict[str, object]:
    t0 = time.perf_counter()
    import spacy

    nlp = None
    for name in models:
        try:
            nlp = spacy.load(name)
        except OSError:
            continue
        model = name
        break
    if nlp is None:
        raise SystemExit(f"no spaCy model of {models} is installed")
    t1 = time.perf_counter()
    texts = [p.read_text(encoding="utf-8") for p in _expand(path)]
    paragraphs = [para for text in texts for para in _paragraphs(text)]
    t2 = time.perf_counter()
    sentences = 0
    for doc in nlp.pipe(paragraphs, batch_size=64):
        sentences += len(list(doc.sents))  # negligible next to the parse; keeps no doc alive
    t3 = time.perf_counter()
    return {
        "model": model,
        "pipes": nlp.pipe_names,
        "import_load_s": t1 - t0,
        "pipe_s": t3 - t2,
        "files": len(texts),
        "chars": sum(len(t) for t in texts),
        "paragraphs": len(paragraphs),
        "sentences": sentences,
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def child_api(path: Path) -> dict[str, object]:
    t0 = time.perf_counter()
    from briefer import load_sources, make_brief, render_json
    from briefer.sentences import load_nlp

    t1 = time.perf_counter()
    sources = load_sources([str(path)])
    t2 = time.perf_counter()
    load_nlp()
    t3 = time.perf_counter()
    marks: dict[str, float] = {}

    def progress(step: object) -> None:
        now = time.perf_counter()
        key = f"{step.stage}:{'start' if step.done == 0 else 'end' if step.done == step.total else 'mid'}"  # type: ignore[attr-defined]
        marks.setdefault(key, now)
        if key == "chunks:end":
            marks[key] = now

    brief = make_brief(sources, on_progress=progress)
    t4 = time.perf_counter()
    text = render_json(brief)
    t5 = time.perf_counter()
    sentences_end = marks.get("sentences:end", t4)  # the last source split (the offline engine then extracts)
    extract_end = marks.get("chunks:end", sentences_end)
    return {
        "import_s": t1 - t0,
        "load_sources_s": t2 - t1,
        "load_nlp_s": t3 - t2,
        "sentences_chunks_s": sentences_end - t3,
        "extract_s": extract_end - sentences_end,
        "verify_merge_model_s": t4 - extract_end,
        "render_json_s": t5 - t4,
        "make_brief_s": t4 - t3,
        "files": len(sources),
        "chars": sum(len(s.text) for s in sources),
        "sentences": sum(s.sentences or 0 for s in brief.sources),
        "output_chars": len(text),
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


# --------------------------------------------------------------------------- parent


def _tree_pids(pid: int) -> list[int]:
    """`pid` and every process below it, from /proc (Linux); [pid] where that is unavailable."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    todo.extend(int(child) for child in f.read().split())
        except OSError:
            continue
    return pids


def _pss_kib(pid: int) -> int:
    """Proportional set size of one process (shared pages split between the processes sharing them)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeSampler(threading.Thread):
    """Samples the summed PSS of a process and its descendants (worker processes) every 0.2 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kib, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.peak_kib = max(self.peak_kib, sum(_pss_kib(p) for p in _tree_pids(self.pid)))


def run_child(cmd: list[str], stdout_path: Path) -> dict[str, object]:
    """Run `cmd` with stdout to a file: wall seconds; the largest single process's peak RSS
    (`ru_maxrss` from os.wait4 covers the child and its waited-for workers); the peak of the
    whole process tree's summed PSS, sampled; user+system CPU seconds of the tree."""
    stderr_path = stdout_path.with_suffix(".stderr")
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        sampler.done.set()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.stderr.write(stderr_path.read_text(errors="replace"))
        raise SystemExit(f"child failed with exit code {proc.returncode}: {' '.join(cmd)}")
    return {
        "wall_s": wall,
        "peak_mb": _peak_mb(usage.ru_maxrss),
        "tree_mb": sampler.peak_kib / 1024,
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }


def _child_cmd(mode: str, path: Path, models: list[str] | None = None) -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, str(path)]
    if models:
        cmd += ["--models", ",".join(models)]
    return cmd


def _brief_cmd() -> list[str]:
    """The `brief` console script of this Python's environment, else `python -m briefer`."""
    script = Path(sys.executable).with_name("brief")
    return [str(script)] if script.exists() else [sys.executable, "-m", "briefer"]


def _has_jobs_option() -> bool:
    """Whether this checkout's `brief` has --jobs (the benchmark also runs on older code)."""
    shown = subprocess.run([*_brief_cmd(), "--help"], capture_output=True, text=True, cwd=ROOT).stdout
    return "--jobs" in shown


def best_of(repeat: int, cmd: list[str], stdout_path: Path) -> dict[str, object]:
    """Run `cmd` `repeat` times: the fastest wall time, and the highest peak memory seen."""
    runs = [run_child(cmd, stdout_path) for _ in range(repeat)]
    best = min(runs, key=lambda r: float(r["wall_s"]))  # type: ignore[arg-type]
    best["peak_mb"] = max(float(r["peak_mb"]) for r in runs)  # type: ignore[arg-type]
    best["tree_mb"] = max(float(r["tree_mb"]) for r in runs)  # type: ignore[arg-type]
    return best


def measure_startup(repeat: int, work: Path) -> list[dict[str, object]]:
    """Median wall, CPU and peak RSS of `brief --help`, `brief --version` and `brief templates`."""
    rows = []
    for args in (["--help"], ["--version"], ["templates"]):
        runs = [run_child([*_brief_cmd(), *args], work / "startup.out") for _ in range(repeat)]
        rows.append(
            {
                "name": "brief " + " ".join(args),
                **{k: statistics.median(float(r[k]) for r in runs) for k in ("wall_s", "cpu_s", "peak_mb")},  # type: ignore[arg-type]
                "walls": [float(r["wall_s"]) for r in runs],  # type: ignore[arg-type]
            }
        )
    return rows


def print_startup(rows: list[dict[str, object]], repeat: int) -> None:
    print()
    print(f"Start-up (median of {repeat} runs of the `brief` console script)")
    print(f"  {'command':<18} {'wall s':>7} {'cpu s':>7} {'RSS MB':>7}   all walls")
    for row in rows:
        walls = " ".join(f"{w:.2f}" for w in row["walls"])  # type: ignore[attr-defined]
        print(
            f"  {row['name']:<18} {row['wall_s']:>7.3f} {row['cpu_s']:>7.3f} {row['peak_mb']:>7.1f}   {walls}"
        )
    worst = max(float(row["wall_s"]) for row in rows)  # type: ignore[arg-type]
    print(f"  target: each <= {TARGET_STARTUP_S} s: {'OK' if worst <= TARGET_STARTUP_S else 'OVER TARGET'}")


def _cli_row(
    label: str, path: Path, work: Path, repeat: int, jobs: int | None, name: str
) -> dict[str, object]:
    print(f"  [{label}] {name} …", file=sys.stderr, flush=True)
    out = work / f"{label}-cli-{jobs}.json"
    flags = ["--jobs", str(jobs)] if jobs else []
    row = best_of(repeat, [*_brief_cmd(), str(path), "--format", "json", "-q", *flags], out)
    brief = json.loads(out.read_text())
    row.update(
        name=name,
        jobs=jobs,
        files=len(brief["sources"]),
        chars=sum(s.get("chars") or 0 for s in brief["sources"]),
        sentences=sum(s.get("sentences") or 0 for s in brief["sources"]),
        output_chars=out.stat().st_size,
    )
    return row


def measure(
    label: str, path: Path, work: Path, skip_api: bool, repeat: int, jobs_runs: list[int | None]
) -> list[dict[str, object]]:
    from briefer.sentences import SPACY_MODELS

    rows: list[dict[str, object]] = []
    print(f"  [{label}] bare spaCy …", file=sys.stderr, flush=True)
    out = work / f"{label}-baseline.json"
    base = best_of(repeat, _child_cmd("baseline", path, list(SPACY_MODELS)), out)
    base.update(json.loads(out.read_text().strip().splitlines()[-1]))
    base["name"] = "bare spaCy (full pipeline)"
    rows.append(base)

    for jobs in jobs_runs:
        name = f"brief CLI --jobs {jobs}" if jobs else "brief CLI"
        rows.append(_cli_row(label, path, work, repeat, jobs, name))

    if not skip_api:
        print(f"  [{label}] brief API …", file=sys.stderr, flush=True)
        out = work / f"{label}-api.json"
        api = best_of(repeat, _child_cmd("api", path), out)
        api.update(json.loads(out.read_text().strip().splitlines()[-1]))
        api["name"] = "brief API (make_brief)"
        rows.append(api)
    return rows


def print_table(title: str, rows: list[dict[str, object]], check_targets: bool) -> None:
    base_wall = float(rows[0]["wall_s"])  # type: ignore[arg-type]
    base_cpu = float(rows[0]["cpu_s"])  # type: ignore[arg-type]
    print()
    print(title)
    header = (
        f"  {'run':<30} {'files':>6} {'input chars':>12} {'sentences':>10} {'wall s':>8} {'peak MB':>8} "
        f"{'tree MB':>8} {'ratio':>6} {'cpu s':>8} {'cpu ratio':>9}"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    for row in rows:
        ratio = float(row["wall_s"]) / base_wall  # type: ignore[arg-type]
        print(
            f"  {row['name']:<30} {row['files']:>6} {row['chars']:>12,} {row['sentences']:>10,} "
            f"{row['wall_s']:>8.2f} {row['peak_mb']:>8.1f} {row['tree_mb']:>8.1f} {ratio:>5.2f}x "
            f"{row['cpu_s']:>8.2f} {float(row['cpu_s']) / base_cpu:>8.2f}x"  # type: ignore[arg-type]
        )
    base = rows[0]
    print(
        f"  bare spaCy: model {base['model']} {base['pipes']}; {base['paragraphs']:,} paragraphs; "
        f"import+load {base['import_load_s']:.2f} s, nlp.pipe {base['pipe_s']:.2f} s"
    )
    for row in rows[1:]:
        if "make_brief_s" in row:
            print(
                f"  brief API stages: import {row['import_s']:.2f} s, "
                f"load_sources {row['load_sources_s']:.2f} s, load_nlp {row['load_nlp_s']:.2f} s, "
                f"sentences+chunks {row['sentences_chunks_s']:.2f} s, extract {row['extract_s']:.2f} s, "
                f"verify+merge+validate {row['verify_merge_model_s']:.2f} s, "
                f"render_json {row['render_json_s']:.2f} s"
            )
    if check_targets:
        for cli in (r for r in rows[1:] if str(r["name"]).startswith("brief CLI")):
            ratio = float(cli["wall_s"]) / base_wall  # type: ignore[arg-type]
            peak = float(cli["peak_mb"])  # type: ignore[arg-type]
            print(
                f"  target wall: {cli['name']} / bare spaCy = {ratio:.2f}x (target <= {TARGET_RATIO}x): "
                f"{'OK' if ratio <= TARGET_RATIO else 'OVER TARGET'}"
            )
            print(
                f"  target peak: {cli['name']} peak = {peak:.1f} MB (target < {TARGET_MB} MB): "
                f"{'OK' if peak < TARGET_MB else 'OVER TARGET'}"
            )
        parallel = [r for r in rows[1:] if (r.get("jobs") or 0) >= 2]
        for cli in parallel:
            ratio = float(cli["wall_s"]) / base_wall  # type: ignore[arg-type]
            print(
                f"  target parallel: {cli['name']} / single-process bare spaCy = {ratio:.2f}x "
                f"(target <= {TARGET_PARALLEL_RATIO}x): {'OK' if ratio <= TARGET_PARALLEL_RATIO else 'OVER TARGET'}"
            )


def print_growth(small: dict[str, object], big: dict[str, object]) -> None:
    """The large corpus's peaks against the ~1 MB corpus's, for the same command."""
    print()
    print(f"Memory as input grows: {big['name']}, {big['chars']:,} chars against {small['chars']:,}")
    for key, what in (("peak_mb", "largest process peak RSS"), ("tree_mb", "process tree peak PSS")):
        ratio = float(big[key]) / float(small[key])  # type: ignore[arg-type]
        print(
            f"  {what:<26} {float(small[key]):>8.1f} MB -> {float(big[key]):>8.1f} MB = {ratio:.2f}x "  # type: ignore[arg-type]
            f"(target <= {TARGET_GROWTH}x): {'OK' if ratio <= TARGET_GROWTH else 'OVER TARGET'}"
        )
    print(f"  wall {float(small['wall_s']):.1f} s -> {float(big['wall_s']):.1f} s")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- corpus


def _multiling(eval_dir: Path) -> list[tuple[str, str]]:
    out = []
    with (eval_dir / "multiling2011_sacrerouge" / "documents.jsonl").open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            instance = json.loads(line)
            for doc in instance["documents"]:
                text = "\n".join(s.strip() for s in doc["text"] if s.strip())
                out.append((f"multiling-{doc['filename']}", text))
    return out


def _multinews(eval_dir: Path) -> list[tuple[str, str]]:
    csv.field_size_limit(sys.maxsize)
    out = []
    for path in sorted((eval_dir / "multinews_TheAthleticCoder").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            for i, row in enumerate(csv.DictReader(f)):
                for j, article in enumerate(ast.literal_eval(row["documents"])):
                    out.append((f"multinews-{path.stem}-{i:02d}-{j}", article))
    return out


def _neus(eval_dir: Path) -> list[tuple[str, str]]:
    out = []
    for path in sorted((eval_dir / "neus_allsides").glob("*.jsonl")):
        with path.open(encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                story = json.loads(line)
                for side, article in sorted(story.get("news", {}).items()):
                    body = [p.strip() for p in article.get("newBody") or [] if p and p.strip()]
                    if not body:
                        continue
                    title = (article.get("newsTitle") or "").strip()
                    text = "\n\n".join([title, *body] if title else body)
                    out.append((f"neus-{story['id']}-{side}", text))
    return out


def build_corpus(eval_dir: Path, target_chars: int, dest: Path) -> tuple[int, int, int]:
    """Write ~target_chars of articles as .txt files into `dest`; return (files, chars, distinct articles)."""
    sets = [_multiling(eval_dir), _multinews(eval_dir), _neus(eval_dir)]
    articles = [a for group in itertools.zip_longest(*sets) for a in group if a is not None]
    articles = [(name, text) for name, text in articles if text.strip()]
    total = files = 0
    for rnd in itertools.count(1):
        for idx, (name, text) in enumerate(articles):
            if total >= target_chars:
                return files, total, len(articles)
            safe = re.sub(r"[^A-Za-z0-9_-]+", "_", name)
            (dest / f"r{rnd}-{idx:04d}-{safe}.txt").write_text(text.rstrip() + "\n", encoding="utf-8")
            total += len(text.rstrip()) + 1
            files += 1
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"~{QUICK_CHARS:,} chars instead of {FULL_CHARS:,}"
    )
    parser.add_argument("--chars", type=int, help="corpus size in characters (overrides --quick)")
    parser.add_argument(
        "--big-chars", type=int, default=BIG_CHARS, help=f"large corpus size (default {BIG_CHARS:,})"
    )
    parser.add_argument("--skip-big", action="store_true", help="do not run the large corpus")
    parser.add_argument("--skip-startup", action="store_true", help="do not time start-up")
    parser.add_argument("--startup-repeat", type=int, default=5, help="runs per start-up command (median)")
    parser.add_argument("--eval-dir", type=Path, default=EVAL_DIR, help="default: ../shared/eval")
    parser.add_argument("--skip-api", action="store_true", help="do not run the library API child")
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration: best wall, worst peak")
    parser.add_argument("--skip-seed", action="store_true", help="do not benchmark the seed article")
    parser.add_argument("--child", choices=["baseline", "api"], help=argparse.SUPPRESS)
    parser.add_argument("--models", help=argparse.SUPPRESS)
    parser.add_argument("path", nargs="?", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        if args.child == "baseline":
            result = child_baseline(args.path, args.models.split(","))
        else:
            result = child_api(args.path)
        print(json.dumps(result))
        return

    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    target = args.chars or (QUICK_CHARS if args.quick else FULL_CHARS)
    # The large corpus is past the default input limit (5,000,000 characters): raise it for the children.
    os.environ["BRIEF_MAX_CHARS"] = str(2 * max(target, args.big_chars))
    cpus = os.cpu_count() or 1
    # Old checkouts have no --jobs: one CLI run with the defaults. Otherwise --jobs 1 and 2, and the
    # default (one per CPU) too when that is neither; the large corpus runs with the default.
    jobs_runs: list[int | None] = [1, 2] + ([] if cpus <= 2 else [None]) if _has_jobs_option() else [None]
    default_jobs = None if None in jobs_runs else min(cpus, 2)
    print(
        f"briefer offline benchmark: python {sys.version.split()[0]}, {cpus} CPUs, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    with tempfile.TemporaryDirectory(prefix="briefer-bench-") as tmp:
        work = Path(tmp)
        if ROOT in work.resolve().parents:
            raise SystemExit(f"temporary directory {work} is inside the repository; set TMPDIR elsewhere")
        if not args.skip_startup:
            print_startup(measure_startup(args.startup_repeat, work), args.startup_repeat)
        if not args.skip_seed:
            rows = measure("seed", SEED, work, args.skip_api, args.repeat, [default_jobs])
            print_table(f"Seed article: {SEED.relative_to(ROOT)}", rows, check_targets=False)
        eval_dir = args.eval_dir.resolve()
        if not eval_dir.is_dir():
            print(f"\nSkipping the corpus benchmark: {args.eval_dir} ({eval_dir}) is absent.")
            return
        corpus = work / "corpus"
        corpus.mkdir()
        files, chars, distinct = build_corpus(eval_dir, target, corpus)
        print(
            f"\nCorpus: {files} files, {chars:,} chars ({distinct} distinct articles from {eval_dir}, "
            f"repeated as needed) in a temporary directory"
        )
        rows = measure("corpus", corpus, work, args.skip_api, args.repeat, jobs_runs)
        print_table(f"Corpus (~{target:,} chars)", rows, check_targets=True)
        if not args.skip_big:
            small = next(r for r in rows if r.get("jobs", "absent") == default_jobs)
            big_corpus = work / "big"
            big_corpus.mkdir()
            files, chars, distinct = build_corpus(eval_dir, args.big_chars, big_corpus)
            print(
                f"\nLarge corpus: {files} files, {chars:,} chars ({distinct} distinct articles, "
                f"repeated as needed) in a temporary directory"
            )
            big = _cli_row("big", big_corpus, work, 1, default_jobs, str(small["name"]))
            print_growth(small, big)
        print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
