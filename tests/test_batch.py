"""`brief batch`: the real CLI as a subprocess, on real files, writing into a real folder."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, SEED, assert_citations_grounded, run_brief
from tests.scripted_server import ScriptedServer

TEMPLATES = ("policy", "executive", "negotiation", "sitrep", "reactions")


def write_manifest(path: Path, jobs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(job) + "\n" for job in jobs), encoding="utf-8")
    return path


def index_of(out: Path) -> dict[str, dict[str, Any]]:
    lines = (out / "index.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert len({r["id"] for r in records}) == len(records), "one line per job"
    return {r["id"]: r for r in records}


def leftovers(out: Path) -> list[str]:
    """Temporary files a write left behind."""
    return sorted(p.name for p in out.iterdir() if p.name.endswith(".tmp"))


def test_a_manifest_gives_the_same_briefs_as_brief_and_lists_failures(tmp_path: Path) -> None:
    manifest = write_manifest(
        tmp_path / "jobs.jsonl",
        [
            {"id": "riyadh", "sources": [str(SEED)]},
            {"id": "riyadh.exec", "sources": [str(SEED)], "template": "executive"},
            {"id": "gone", "sources": ["no-such-article.txt"]},
        ],
    )
    out = tmp_path / "out"
    result = run_brief("batch", str(manifest), "--out", str(out), "--workers", "1", "-f", "html")
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"brief batch: error: 1 of 3 jobs failed: gone (errors in {out / 'index.jsonl'})"
    )
    assert "3 jobs in" in result.stderr and "2 ok, 1 failed" in result.stderr
    single = json.loads(run_brief(str(SEED), "--format", "json").stdout)
    batched = json.loads((out / "riyadh.json").read_text(encoding="utf-8"))
    assert batched == single
    assert assert_citations_grounded(batched) > 10
    assert json.loads((out / "riyadh.exec.json").read_text(encoding="utf-8"))["template"] == "executive"
    assert (out / "riyadh.md").read_text(encoding="utf-8") == run_brief(
        str(SEED), "--format", "markdown"
    ).stdout
    assert (out / "riyadh.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not (out / "gone.json").exists() and not (out / "gone.md").exists()
    index = index_of(out)
    assert list(index) == ["riyadh", "riyadh.exec", "gone"]
    assert index["riyadh"]["status"] == "ok" and index["riyadh"]["error"] is None
    assert index["riyadh"]["llm_calls"] == 0 and index["riyadh"]["seconds"] > 0
    assert index["gone"]["status"] == "failed"
    assert "no-such-article.txt: no such file" in index["gone"]["error"]
    assert set(index["riyadh"]) >= {"id", "status", "error", "seconds", "llm_calls", "tokens"}
    assert leftovers(out) == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"id": "a/b", "sources": ["x.txt"]}, 'id "a/b" contains a path separator'),
        ({"id": "a\\b", "sources": ["x.txt"]}, 'id "a\\\\b" contains a path separator'),
        ({"id": "..", "sources": ["x.txt"]}, "id \"..\" contains '..'"),
        ({"id": "x..y", "sources": ["x.txt"]}, "id \"x..y\" contains '..'"),
        ({"id": ".hidden", "sources": ["x.txt"]}, 'id ".hidden" is not allowed'),
        ({"id": "", "sources": ["x.txt"]}, "id must be a non-empty string"),
        ({"id": "ok", "sources": []}, "sources must be a non-empty list"),
        ({"id": "ok", "sources": ["-"]}, "cannot read stdin"),
        ({"id": "ok", "sources": ["x.txt"], "templat": "sitrep"}, "unknown field 'templat'"),
    ],
)
def test_bad_jobs_are_refused_before_any_work(tmp_path: Path, line: dict[str, Any], message: str) -> None:
    manifest = write_manifest(tmp_path / "jobs.jsonl", [{"id": "first", "sources": [str(SEED)]}, line])
    out = tmp_path / "out"
    result = run_brief("batch", str(manifest), "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"brief batch: error: {manifest} line 2: ")
    assert message in result.stderr and len(result.stderr.splitlines()) == 1
    assert not out.exists()  # not even the first, valid job ran


def test_duplicate_ids_broken_lines_and_bad_templates_are_refused(tmp_path: Path) -> None:
    job = {"id": "same", "sources": [str(SEED)]}
    twice = write_manifest(tmp_path / "twice.jsonl", [job, job])
    result = run_brief("batch", str(twice), "--out", str(tmp_path / "o"))
    assert (result.returncode, result.stderr) == (
        2,
        f"brief batch: error: {twice}: job id 'same' appears twice (jobs 1 and 2)\n",
    )
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "a", "sources": ["x"]}\n{"id": \n', encoding="utf-8")
    result = run_brief("batch", str(broken), "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and f"{broken} line 2: not valid JSON" in result.stderr
    bad_template = write_manifest(tmp_path / "t.jsonl", [{**job, "template": "no-such-template"}])
    result = run_brief("batch", str(bad_template), "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "no-such-template" in result.stderr
    assert not (tmp_path / "o").exists()
    result = run_brief("batch", str(tmp_path / "absent.jsonl"), "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "no such file or folder" in result.stderr


def test_a_folder_of_job_folders(tmp_path: Path) -> None:
    jobs = tmp_path / "clusters"
    for name in ("alpha", "beta"):
        (jobs / name).mkdir(parents=True)
        (jobs / name / "article.txt").write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    (jobs / "beta" / "second.txt").write_text(
        "Second report\n\nMarco Rubio met Sergei Lavrov in Riyadh on Tuesday.\n", encoding="utf-8"
    )
    (jobs / "notes.txt").write_text("not a job", encoding="utf-8")
    out = tmp_path / "out"
    result = run_brief("batch", str(jobs), "--out", str(out), "--workers", "1", "-t", "sitrep")
    assert result.returncode == 0, result.stderr
    assert list(index_of(out)) == ["alpha", "beta"]
    alpha = json.loads((out / "alpha.json").read_text(encoding="utf-8"))
    beta = json.loads((out / "beta.json").read_text(encoding="utf-8"))
    assert alpha["template"] == beta["template"] == "sitrep"
    assert len(alpha["sources"]) == 1 and len(beta["sources"]) == 2
    assert_citations_grounded(beta)


def test_a_rerun_skips_what_is_done_and_redoes_what_changed(tmp_path: Path) -> None:
    articles = [tmp_path / f"a{i}.txt" for i in range(3)]
    for path in articles:
        path.write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    manifest = write_manifest(
        tmp_path / "jobs.jsonl", [{"id": p.stem, "sources": [p.name]} for p in articles]
    )  # relative to the manifest's folder
    manifest.write_text(
        "\ufeff" + manifest.read_text(encoding="utf-8"), encoding="utf-8"
    )  # as Notepad saves it
    out = tmp_path / "out"
    first = run_brief("batch", str(manifest), "--out", str(out), "--workers", "1", cwd=ROOT)
    assert first.returncode == 0, first.stderr
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("a*.*")}
    assert len(stamps) == 6
    articles[1].write_text(SEED.read_text(encoding="utf-8") + "\nA sentence added later.\n", encoding="utf-8")
    second = run_brief("batch", str(manifest), "--out", str(out), "--workers", "1")
    assert second.returncode == 0, second.stderr
    assert {i: r["status"] for i, r in index_of(out).items()} == {
        "a0": "skipped",
        "a1": "ok",
        "a2": "skipped",
    }
    assert "1 ok, 2 skipped" in second.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("a*.*")} == {
        **stamps,
        "a1.json": (out / "a1.json").stat().st_mtime_ns,
        "a1.md": (out / "a1.md").stat().st_mtime_ns,
    }
    assert (out / "a1.json").stat().st_mtime_ns != stamps["a1.json"]
    (out / "a2.md").unlink()  # a missing output is made again
    other_template = run_brief("batch", str(manifest), "--out", str(out), "--workers", "1", "-t", "sitrep")
    assert other_template.returncode == 0
    assert {r["status"] for r in index_of(out).values()} == {"ok"}  # the template is part of the hash
    forced = run_brief("batch", str(manifest), "--out", str(out), "--workers", "1", "-t", "sitrep", "--force")
    assert forced.returncode == 0 and "3 ok" in forced.stderr


def test_a_second_batch_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "jobs.jsonl", [{"id": "one", "sources": [str(SEED)]}])
    out = tmp_path / "out"
    out.mkdir()
    with (out / ".brief-batch.lock").open("a+") as held:  # as a running batch holds it
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("4242\n")
        held.flush()
        result = run_brief("batch", str(manifest), "--out", str(out))
    assert result.returncode == 2
    assert result.stderr == (
        f"brief batch: error: {out} is in use by another brief batch (pid 4242): "
        "wait for it to finish, or give another --out\n"
    )
    assert not (out / "one.json").exists() and not (out / "index.jsonl").exists()
    after = run_brief("batch", str(manifest), "--out", str(out), "--workers", "1")
    assert after.returncode == 0, after.stderr  # released with the holder


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_half_way_then_a_rerun_does_every_job_exactly_once(tmp_path: Path, workers: str) -> None:
    jobs = [
        {"id": f"job{i:02d}", "sources": [str(SEED)], "template": TEMPLATES[i % len(TEMPLATES)]}
        for i in range(16)
    ]
    manifest = write_manifest(tmp_path / "jobs.jsonl", jobs)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "briefer", "batch", str(manifest), "--out", str(out), "--workers", workers]
    process = subprocess.Popen(args, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and process.poll() is None:
            index = out / "index.jsonl"
            if index.exists() and len(index.read_text(encoding="utf-8").splitlines()) >= 6:
                break
            time.sleep(0.02)
        assert process.poll() is None, "the batch ended before it could be interrupted"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "jobs left: rerun the same command to finish them" in stderr
    first = index_of(out)
    done_first = {i for i, r in first.items() if r["status"] == "ok"}
    assert 6 <= len(done_first) < 16 and set(first) == done_first
    assert leftovers(out) == []
    written = {p.stem for p in out.glob("*.json")}
    assert written == {p.stem for p in out.glob("*.md")} == done_first  # whole jobs only
    for job_id in written:
        json.loads((out / f"{job_id}.json").read_text(encoding="utf-8"))
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("job*")}

    rerun = run_brief("batch", str(manifest), "--out", str(out), "--workers", workers)
    assert rerun.returncode == 0, rerun.stderr
    second = index_of(out)
    assert list(second) == [job["id"] for job in jobs]
    assert {i for i, r in second.items() if r["status"] == "skipped"} == done_first
    assert {i for i, r in second.items() if r["status"] == "ok"} == {j["id"] for j in jobs} - done_first
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("job*") if p.name in stamps} == stamps
    assert len(list(out.glob("job*.json"))) == 16 and leftovers(out) == []


def test_llm_jobs_share_one_concurrency_limit_across_workers(tmp_path: Path) -> None:
    jobs = [{"id": f"j{i}", "sources": [str(SEED)]} for i in range(6)]
    manifest = write_manifest(tmp_path / "jobs.jsonl", jobs)
    peaks = {}
    for limit in ("1", "3"):
        with ScriptedServer(latency=0.3) as server:
            out = tmp_path / f"out{limit}"
            result = run_brief(
                "batch", str(manifest), "--out", str(out), "--base-url", server.url,
                "--workers", "2", "--concurrency", limit, "--no-cache",
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            peaks[limit] = server.max_in_flight()
            calls = sum(r["llm_calls"] for r in index_of(out).values())
            assert calls == len(server.requests) >= 6
        brief = json.loads((out / "j0.json").read_text(encoding="utf-8"))
        assert brief["engine"]["name"] == "openai" and assert_citations_grounded(brief) > 0
    # Two workers run three jobs each at once, so without a shared limit up to six calls overlap.
    assert peaks == {"1": 1, "3": 3}


def test_usage_errors_of_the_command(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "jobs.jsonl", [{"id": "one", "sources": [str(SEED)]}])
    result = run_brief("batch", str(manifest))
    assert result.returncode == 2 and "Missing option '--out'" in result.stderr
    (tmp_path / "file").write_text("x")
    result = run_brief("batch", str(manifest), "--out", str(tmp_path / "file"))
    assert result.returncode == 2 and "is a file" in result.stderr
    assert os.listdir(tmp_path) == sorted(os.listdir(tmp_path))  # nothing new beside them
    result = run_brief(
        "batch", str(manifest), "--out", str(tmp_path / "o"), "--ray-results", str(tmp_path / "r")
    )
    assert (result.returncode, result.stderr) == (
        2,
        "brief batch: error: --ray-results needs --executor ray: local workers write into --out\n",
    )
    assert not (tmp_path / "o").exists() and not (tmp_path / "r").exists()


def test_ray_executor_without_ray_says_what_to_install(tmp_path: Path) -> None:
    hidden = tmp_path / "no-ray"
    (hidden / "ray").mkdir(parents=True)
    (hidden / "ray" / "__init__.py").write_text("raise ImportError('Ray is not installed here')\n")
    manifest = write_manifest(tmp_path / "jobs.jsonl", [{"id": "one", "sources": [str(SEED)]}])
    pythonpath = os.pathsep.join(filter(None, [str(hidden), os.environ.get("PYTHONPATH")]))
    result = run_brief(
        "batch",
        str(manifest),
        "--out",
        str(tmp_path / "out"),
        "--executor",
        "ray",
        env={"PYTHONPATH": pythonpath},
    )
    assert (result.returncode, result.stderr) == (
        2,
        "brief batch: error: --executor ray needs Ray: pip install 'briefer[ray]'\n",
    )
    assert not (tmp_path / "out").exists()


def test_a_job_past_its_deadline_fails_and_the_others_are_written(tmp_path: Path) -> None:
    from tests.scripted_server import Reply, grounded_reply

    stuck = tmp_path / "stuck.txt"
    stuck.write_text("Harbour talks\n\nThe ferry talks in Zanzibar stalled on Monday.\n", encoding="utf-8")
    manifest = write_manifest(
        tmp_path / "jobs.jsonl",
        [
            {"id": "first", "sources": [str(SEED)]},
            {"id": "stuck", "sources": [str(stuck)]},
            {"id": "last", "sources": [str(SEED)], "template": "sitrep"},
        ],
    )

    def hang_on_zanzibar(n: int, request: dict[str, Any]) -> Reply:
        user = next(m["content"] for m in request["messages"] if m["role"] == "user")
        return Reply(delay=120) if "Zanzibar" in user else grounded_reply(n, request)

    out = tmp_path / "out"
    started = time.monotonic()
    with ScriptedServer(hang_on_zanzibar) as server:
        result = run_brief(
            "batch", str(manifest), "--out", str(out), "--base-url", server.url, "--workers", "1",
            "--concurrency", "2", "--deadline", "3", "--timeout", "600", "--no-cache",
        )  # fmt: skip
        took = time.monotonic() - started
        hung = [r for r in server.requests if "Zanzibar" in r.user_text]
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"brief batch: error: 1 of 3 jobs failed: stuck (errors in {out / 'index.jsonl'})"
    )
    index = index_of(out)
    assert [r["status"] for r in index.values()] == ["ok", "failed", "ok"]
    assert index["stuck"]["error"] == (
        "the model calls did not finish within --deadline 3 s: "
        "raise --deadline, or leave it unset for no overall limit"
    )
    assert 3 <= index["stuck"]["seconds"] < 3 + 10  # not the server's 120 s, nor --timeout's 600 s
    assert len(hung) == 1  # a deadline that has passed is not tried again
    assert took < 60  # start-up, three jobs and the deadline; the hung answer is never waited for
    for job_id in ("first", "last"):
        assert_citations_grounded(json.loads((out / f"{job_id}.json").read_text(encoding="utf-8")))
    assert not (out / "stuck.json").exists() and not (out / "stuck.md").exists()
    assert leftovers(out) == []


def test_the_largest_jobs_start_first(tmp_path: Path) -> None:
    small = tmp_path / "small.txt"
    small.write_text("Harbour talks\n\nThe ferry talks in Zanzibar stalled on Monday.\n", encoding="utf-8")
    medium = tmp_path / "medium.txt"
    medium.write_text(
        "Port deal\n\nThe port of Mombasa signed a deal with two shipping lines on Friday. "
        "The deal covers 40 berths. Officials in Nairobi welcomed it.\n",
        encoding="utf-8",
    )
    manifest = write_manifest(
        tmp_path / "jobs.jsonl",
        [
            {"id": "small", "sources": [str(small)]},
            {"id": "large", "sources": [str(SEED)]},
            {"id": "medium", "sources": [str(medium)]},
        ],
    )
    with ScriptedServer() as server:
        result = run_brief(
            "batch", str(manifest), "--out", str(tmp_path / "out"), "--base-url", server.url,
            "--workers", "1", "--concurrency", "1", "--no-cache",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        texts = [r.user_text for r in server.requests]
    order = [next(k for k, word in (("small", "Zanzibar"), ("medium", "Mombasa"), ("large", "Rubio")) if word in t)
             for t in texts]  # fmt: skip
    assert order == ["large", "medium", "small"]  # one job at a time, by bytes of sources
    assert list(index_of(tmp_path / "out")) == [
        "small",
        "large",
        "medium",
    ]  # the index keeps the manifest's order
