"""`brief batch --executor ray` against a local Ray cluster this test starts (2 CPUs, on loopback)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SEED, assert_citations_grounded, run_brief
from tests.scripted_server import ScriptedServer
from tests.test_batch import TEMPLATES, index_of, leftovers, write_manifest

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'briefer[ray]' to run these tests")


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A local Ray cluster with 2 CPUs; its address, for `--ray-address`."""
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def test_ray_gives_the_same_briefs_as_local_workers(tmp_path: Path, cluster: str) -> None:
    jobs = [
        {"id": f"job{i}", "sources": [str(SEED)], "template": TEMPLATES[i % len(TEMPLATES)]} for i in range(6)
    ]
    jobs.append({"id": "gone", "sources": ["no-such-article.txt"]})
    manifest = write_manifest(tmp_path / "jobs.jsonl", jobs)
    local, remote = tmp_path / "local", tmp_path / "ray"
    run_brief("batch", str(manifest), "--out", str(local), "--workers", "2")
    result = run_brief(
        "batch", str(manifest), "--out", str(remote), "--executor", "ray", "--ray-address", cluster,
        "--workers", "2", "-f", "html",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "1 of 7 jobs failed: gone" in result.stderr
    for job in jobs[:-1]:
        for suffix in (".json", ".md"):
            name = f"{job['id']}{suffix}"
            assert (remote / name).read_bytes() == (local / name).read_bytes(), name
        assert (remote / f"{job['id']}.html").is_file()
    assert_citations_grounded(json.loads((remote / "job0.json").read_text(encoding="utf-8")))
    index = index_of(remote)
    assert [r["status"] for r in index.values()] == ["ok"] * 6 + ["failed"]
    assert "no-such-article.txt: no such file" in index["gone"]["error"]
    assert leftovers(remote) == []
    rerun = run_brief(
        "batch", str(manifest), "--out", str(remote), "--executor", "ray", "--ray-address", cluster,
    )  # fmt: skip
    assert "0 ok, 6 skipped, 1 failed" in rerun.stderr


def test_ray_workers_write_the_briefs_to_a_shared_path_and_a_rerun_resumes_there(
    tmp_path: Path, cluster: str
) -> None:
    jobs = [{"id": f"job{i}", "sources": [str(SEED)], "template": TEMPLATES[i]} for i in range(3)]
    jobs.append({"id": "gone", "sources": ["no-such-article.txt"]})
    manifest = write_manifest(tmp_path / "jobs.jsonl", jobs)
    out, shared = tmp_path / "out", tmp_path / "shared" / "briefs"
    args = ["batch", str(manifest), "--out", str(out), "--executor", "ray", "--ray-address", cluster,
            "--workers", "2", "--ray-results", str(shared)]  # fmt: skip
    result = run_brief(*args)
    assert result.returncode == 1, result.stderr
    assert "1 of 4 jobs failed: gone" in result.stderr and f"briefs in {shared}" in result.stderr
    written = [f"job{i}{suffix}" for i in range(3) for suffix in (".json", ".md")]
    assert sorted(p.name for p in shared.iterdir()) == sorted([".brief-batch.lock", *written])
    assert sorted(p.name for p in out.iterdir()) == [".brief-batch.lock", "index.jsonl"]
    single = json.loads(run_brief(str(SEED), "--format", "json").stdout)
    assert json.loads((shared / "job0.json").read_text(encoding="utf-8")) == single
    assert json.loads((shared / "job2.json").read_text(encoding="utf-8"))["template"] == TEMPLATES[2]
    index = index_of(out)
    assert [r["status"] for r in index.values()] == ["ok"] * 3 + ["failed"]
    stamps = {p.name: p.stat().st_mtime_ns for p in shared.glob("job*")}

    (shared / "job1.md").unlink()  # resuming checks the files on the shared path
    rerun = run_brief(*args)
    assert "1 ok, 2 skipped, 1 failed" in rerun.stderr, rerun.stderr
    assert {i: r["status"] for i, r in index_of(out).items()} == {
        "job0": "skipped", "job1": "ok", "job2": "skipped", "gone": "failed"
    }  # fmt: skip
    assert {n: t for n, t in stamps.items() if not n.startswith("job1")} == {
        p.name: p.stat().st_mtime_ns for p in shared.glob("job*") if not p.name.startswith("job1")
    }
    assert (shared / "job1.md").is_file() and leftovers(shared) == []


def test_sigterm_leaves_whole_briefs_on_the_shared_path_and_a_rerun_finishes(
    tmp_path: Path, cluster: str
) -> None:
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    jobs = [{"id": f"job{i:02d}", "sources": [str(SEED)], "template": TEMPLATES[i % 5]} for i in range(16)]
    manifest = write_manifest(tmp_path / "jobs.jsonl", jobs)
    out, shared = tmp_path / "out", tmp_path / "shared"
    args = ["batch", str(manifest), "--out", str(out), "--executor", "ray", "--ray-address", cluster,
            "--workers", "2", "--ray-results", str(shared)]  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "briefer", *args], cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            index = out / "index.jsonl"
            if index.exists() and len(index.read_text(encoding="utf-8").splitlines()) >= 4:
                break
            time.sleep(0.02)
        assert process.poll() is None, "the batch ended before it could be interrupted"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    done = {i for i, r in index_of(out).items() if r["status"] == "ok"}
    assert 4 <= len(done) < 16
    # Only the jobs the index records are on the shared path, whole; what the others wrote is gone.
    assert {p.stem for p in shared.glob("*.json")} == {p.stem for p in shared.glob("*.md")} == done
    assert leftovers(shared) == []
    rerun = run_brief(*args)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{16 - len(done)} ok, {len(done)} skipped" in rerun.stderr
    assert len(list(shared.glob("job*.json"))) == 16 and leftovers(shared) == []


def test_ray_actors_share_one_call_limit(tmp_path: Path, cluster: str) -> None:
    manifest = write_manifest(
        tmp_path / "jobs.jsonl", [{"id": f"j{i}", "sources": [str(SEED)]} for i in range(4)]
    )
    with ScriptedServer(latency=0.3) as server:
        result = run_brief(
            "batch", str(manifest), "--out", str(tmp_path / "out"), "--executor", "ray",
            "--ray-address", cluster, "--workers", "2", "--base-url", server.url,
            "--concurrency", "2", "--no-cache",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        # Two actors run two jobs each at once: four calls could overlap without the shared limit.
        assert server.max_in_flight() == 2
        assert sum(r["llm_calls"] for r in index_of(tmp_path / "out").values()) == len(server.requests)


def test_an_unreachable_cluster_is_one_clear_line(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "jobs.jsonl", [{"id": "one", "sources": [str(SEED)]}])
    result = run_brief(
        "batch",
        str(manifest),
        "--out",
        str(tmp_path / "out"),
        "--executor",
        "ray",
        "--ray-address",
        "127.0.0.1:9",
    )
    assert result.returncode == 1
    assert result.stderr.startswith("brief batch: error: cannot reach the Ray cluster at 127.0.0.1:9 (")
    assert not (tmp_path / "out").exists()
