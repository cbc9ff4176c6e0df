"""`brief batch --batch-api`: OpenAI Batch API files against a scripted server with files and batches."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from briefer.batch.provider import split_files
from tests.conftest import ONE_SECTION, ROOT, SEED, assert_citations_grounded, run_brief
from tests.scripted_batches import BatchServer
from tests.scripted_server import ScriptedServer, grounded_reply
from tests.test_batch import index_of, write_manifest

SECOND = (
    "Talks in Riyadh\n\nMarco Rubio met Sergei Lavrov in Riyadh on Tuesday. The talks lasted five hours.\n"
)
FAST_POLL = {"BRIEF_BATCH_POLL": "0.05"}


def manifest(tmp_path: Path) -> Path:
    second = tmp_path / "second.txt"
    second.write_text(SECOND, encoding="utf-8")
    return write_manifest(
        tmp_path / "jobs.jsonl",
        [
            {"id": "one", "sources": [str(SEED)]},
            {"id": "two", "sources": [str(SEED), str(second)], "template": "sitrep"},
            {"id": "three", "sources": [str(SEED)], "template": "executive"},
        ],
    )


def without_usage(brief: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in brief.items() if k != "usage"}


def briefs(out: Path) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(out.glob("*.json"))}


def test_batch_answers_make_the_same_briefs_as_live_ones(tmp_path: Path) -> None:
    jobs = manifest(tmp_path)
    with ScriptedServer() as live:
        result = run_brief("batch", str(jobs), "--out", str(tmp_path / "live"), "--base-url", live.url,
                           env={"BRIEF_CACHE_DIR": str(tmp_path / "live-cache")})  # fmt: skip
        assert result.returncode == 0, result.stderr
        live_calls = len(live.requests)
    with BatchServer(polls=3) as server:
        result = run_brief("batch", str(jobs), "--out", str(tmp_path / "out"), "--base-url", server.url,
                           "--batch-api", env=FAST_POLL)  # fmt: skip
        assert result.returncode == 0, result.stderr
        # Three extraction calls and the one asking where the two sources of job "two" differ.
        assert len(server.batch_lines) == live_calls == 4
        assert server.requests == []  # nothing was asked live
        assert len(server.batches) == 1 and len(server.files) == 2  # the input file and the output file
    for line in server.batch_lines:
        assert set(line) == {"custom_id", "method", "url", "body"}
        assert (line["method"], line["url"]) == ("POST", "/v1/chat/completions")
        assert line["body"]["response_format"]["type"] == "json_schema"
    assert "round 1: 1 batch: 4 answers cached" in result.stderr
    assert "batch API: 1 round, 1 batch: 4 answers cached" in result.stderr
    assert not (tmp_path / "out" / "batch-state.json").exists()
    batched, live_briefs = briefs(tmp_path / "out"), briefs(tmp_path / "live")
    assert list(batched) == ["one", "three", "two"]
    for job_id, brief in batched.items():
        assert without_usage(brief) == without_usage(live_briefs[job_id])
        assert brief["usage"]["llm_calls"] == 0 and brief["usage"]["cached_calls"] >= 1
        assert_citations_grounded(brief)
    assert {r["llm_calls"] for r in index_of(tmp_path / "out").values()} == {0}


def test_an_expired_batch_with_failed_requests_asks_those_live(tmp_path: Path) -> None:
    jobs = manifest(tmp_path)
    with BatchServer(polls=2, expire=True, fails=lambda n: n in (0, 2)) as server:
        result = run_brief("batch", str(jobs), "--out", str(tmp_path / "out"), "--base-url", server.url,
                           "--batch-api", env=FAST_POLL)  # fmt: skip
        assert result.returncode == 0, result.stderr
        failed_ids = {server.batch_lines[n]["custom_id"] for n in (0, 2)}
        assert len(server.requests) == 2  # each failed request once, live
        live_bodies = [r.body["messages"] for r in server.requests]
    assert sorted(json.dumps(m) for m in live_bodies) == sorted(
        json.dumps(line["body"]["messages"]) for line in server.batch_lines if line["custom_id"] in failed_ids
    )
    assert "batch batch-1 expired: its missing answers are asked live" in result.stderr
    assert "2 answers cached" in result.stderr and "2 failed or unusable, asked live" in result.stderr
    index = index_of(tmp_path / "out")
    assert sum(r["llm_calls"] for r in index.values()) == 2
    assert {r["status"] for r in index.values()} == {"ok"}


def test_failed_requests_whose_live_retry_fails_are_reported_per_job(tmp_path: Path) -> None:
    jobs = manifest(tmp_path)
    with BatchServer(expire=True, fails=lambda n: n == 0) as server:
        server.script = lambda n, request: _fail()
        result = run_brief("batch", str(jobs), "--out", str(tmp_path / "out"), "--base-url", server.url,
                           "--batch-api", "--timeout", "2", env=FAST_POLL)  # fmt: skip
    assert result.returncode == 1
    index = index_of(tmp_path / "out")
    assert [i for i, r in index.items() if r["status"] == "failed"] == ["one"]
    assert "HTTP 400" in index["one"]["error"]
    assert result.stderr.splitlines()[-1].startswith("brief batch: error: 1 of 3 jobs failed: one (")


def _fail() -> Any:
    from tests.scripted_server import error

    return error(400, "this server takes no live requests")


def test_a_rerun_polls_the_batch_already_sent(tmp_path: Path) -> None:
    jobs = manifest(tmp_path)
    out = tmp_path / "out"
    with BatchServer(polls=10_000) as server:
        args = [sys.executable, "-m", "briefer", "batch", str(jobs), "--out", str(out), "--base-url", server.url,
                "--batch-api"]  # fmt: skip
        process = subprocess.Popen(args, cwd=ROOT, stderr=subprocess.PIPE, text=True, env=_env(FAST_POLL))
        deadline = time.monotonic() + 120
        while not (out / "batch-state.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 130, stderr
        state = json.loads((out / "batch-state.json").read_text(encoding="utf-8"))
        assert [b["id"] for b in state["batches"]] == ["batch-1"]
        assert not list(out.glob("*.md"))
        server.polls = 1
        result = run_brief("batch", str(jobs), "--out", str(out), "--base-url", server.url, "--batch-api",
                           env=FAST_POLL)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert len(server.batches) == 1 and len(server.batch_lines) == 4  # nothing sent twice
        assert server.requests == []
    assert "sent batch" not in result.stderr and "4 answers cached" in result.stderr
    assert sorted(p.stem for p in out.glob("*.md")) == ["one", "three", "two"]
    assert not (out / "batch-state.json").exists()


def _env(extra: dict[str, str]) -> dict[str, str]:
    import os

    return {**os.environ, **extra}


def test_export_then_import_results_made_elsewhere(tmp_path: Path) -> None:
    jobs = manifest(tmp_path)
    out = tmp_path / "out"
    # Cache keys name the server: export and import name the same one (it is not asked either time).
    with ScriptedServer() as server:
        exported = run_brief("batch", str(jobs), "--out", str(out), "--engine", "openai", "--base-url",
                             server.url, "--batch-api", "export")  # fmt: skip
        assert exported.returncode == 0, exported.stderr
        requests = [json.loads(line) for line in (out / "batch-requests.jsonl").read_text().splitlines()]
        assert len(requests) == 4 and "wrote 4 requests" in exported.stderr
        assert not list(out.glob("*.json"))  # export runs no job
        # What `vllm run-batch -i batch-requests.jsonl -o results.jsonl` writes, one line per request.
        results = tmp_path / "results.jsonl"
        lines = [
            {"id": f"r{n}", "custom_id": r["custom_id"], "error": None,
             "response": {"status_code": 200, "body": grounded_reply(n, r["body"]).body}}
            for n, r in enumerate(requests)
        ]  # fmt: skip
        lines.append({"custom_id": "not-ours", "response": {"status_code": 200, "body": {}}})
        results.write_text(
            "".join(json.dumps(line) + "\n" for line in lines) + "not json\n",
            encoding="utf-8",
        )
        imported = run_brief("batch", str(jobs), "--out", str(out), "--base-url", server.url,
                             "--batch-api", "import", "--batch-file", str(results))  # fmt: skip
        assert imported.returncode == 0, imported.stderr
        assert server.requests == []
    assert "4 answers cached" in imported.stderr and "1 failed or unusable" in imported.stderr
    assert sorted(briefs(out)) == ["one", "three", "two"]


def test_bad_answers_in_the_batch_are_checked_and_asked_again_live(tmp_path: Path) -> None:
    from tests.scripted_server import Reply, completion

    jobs = write_manifest(tmp_path / "jobs.jsonl", [{"id": "one", "sources": [str(SEED)]}])
    broken = lambda n, request: Reply(body=completion('{"participants": "not a list"}'))  # noqa: E731
    with BatchServer(answer=broken) as server:
        result = run_brief("batch", str(jobs), "--out", str(tmp_path / "out"), "--base-url", server.url,
                           "--batch-api", env=FAST_POLL)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert len(server.requests) == 1  # the bad answer was not cached: asked live, answered well
    assert "0 answers cached" in result.stderr and "1 failed or unusable" in result.stderr
    assert_citations_grounded(json.loads((tmp_path / "out" / "one.json").read_text(encoding="utf-8")))


def test_dry_run_shows_requests_and_both_costs(tmp_path: Path) -> None:
    result = run_brief("batch", str(manifest(tmp_path)), "--out", str(tmp_path / "out"), "--engine", "openai",
                       "--dry-run")  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Dry run: nothing is sent to any model."
    assert lines[1].startswith("3 jobs: 4 first requests to send (0 answered by the cache), ")
    # One chunk per job: no section can get more candidates than one merge call takes.
    assert lines[2].startswith("Round 2 (merging the points of sections with more than 32 candidates, ")
    assert "at most 0 requests" in lines[2]
    live, batch = (float(x) for x in _dollars(lines[3]))
    assert batch == round(live / 2, 4) or abs(batch - live / 2) < 1e-4
    assert not (tmp_path / "out").exists()


def _dollars(line: str) -> list[str]:
    import re

    return re.findall(r"\$(\d+\.\d{4})", line)


def test_request_files_are_split_by_count_and_size() -> None:
    lines = [{"custom_id": f"k{i}", "method": "POST", "url": "/v1/chat/completions", "body": {"x": "y" * 50}}
             for i in range(5)]  # fmt: skip
    assert [f.count("\n") for f in split_files(lines, max_requests=2)] == [2, 2, 1]
    size = len(json.dumps(lines[0]).encode()) + 1
    assert [f.count("\n") for f in split_files(lines, max_bytes=size * 3)] == [3, 2]
    assert "".join(split_files(lines, max_requests=2)) == "".join(split_files(lines))


# ------------------------------------------------ later rounds: merging the points of long jobs

TOWNS = ("Arlen", "Brisco", "Cedar", "Dunmore", "Elgin", "Fairview", "Galway", "Hollis", "Ivory", "Juniper")
SMALL_CHUNKS = ("--chunk-tokens", "50")


def merging_manifest(tmp_path: Path) -> Path:
    """Two jobs: a long article briefed in small chunks under a one-section template, whose points
    are more than one merge call takes (so merging takes rounds), and the seed (nothing to merge)."""
    template = tmp_path / "facts.toml"
    template.write_text(ONE_SECTION, encoding="utf-8")
    article = tmp_path / "permits.txt"
    sentences = [
        f"The council of {TOWNS[i % 10]} approved {i + 3} housing permits in week {i + 1}."
        for i in range(120)
    ]
    article.write_text("Council votes\n\n" + "\n".join(sentences) + "\n", encoding="utf-8")
    return write_manifest(
        tmp_path / "merging.jsonl",
        [
            {"id": "long", "sources": [str(article)], "template": str(template)},
            {"id": "seed", "sources": [str(SEED)]},
        ],
    )


def schema_names(lines: list[dict[str, Any]]) -> list[str]:
    from tests.scripted_server import request_schema

    return [request_schema(line)[0] for line in lines]


def live_briefs(tmp_path: Path, jobs: Path, *extra: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The briefs of a live run of `jobs`, and the schema names of the requests it sent."""
    with ScriptedServer() as live:
        result = run_brief("batch", str(jobs), "--out", str(tmp_path / "live"), "--base-url", live.url,
                           *SMALL_CHUNKS, *extra, env={"BRIEF_CACHE_DIR": str(tmp_path / "live-cache")})  # fmt: skip
        assert result.returncode == 0, result.stderr
        return briefs(tmp_path / "live"), schema_names([r.body for r in live.requests])


def test_merges_go_out_as_later_batch_rounds_and_make_the_same_briefs(tmp_path: Path) -> None:
    jobs = merging_manifest(tmp_path)
    expected, live_names = live_briefs(tmp_path, jobs)
    assert live_names.count("merged_points") >= 2  # the live run merged, in more than one call
    out = tmp_path / "out"
    with BatchServer(polls=2) as server:
        result = run_brief("batch", str(jobs), "--out", str(out), "--base-url", server.url, *SMALL_CHUNKS,
                           "--batch-api", env=FAST_POLL)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert server.requests == []  # nothing was asked live: every merge went out in a batch
        by_batch = [schema_names([json.loads(x)["body"] for x in server.files[b["input_file_id"]].decode().splitlines()])
                    for b in server.batches.values()]  # fmt: skip
    assert set(by_batch[0]) == {"brief_sections"}  # round 1: extraction
    assert len(by_batch) >= 2 and all(set(names) == {"merged_points"} for names in by_batch[1:])
    assert sorted(n for names in by_batch for n in names) == sorted(live_names)
    rounds = len(by_batch)
    assert f"round 2: 1 batch: {len(by_batch[1])} answers cached" in result.stderr
    assert f"batch API: {rounds} rounds, {rounds} batches: {len(live_names)} answers cached" in result.stderr
    assert not (out / "batch-state.json").exists()
    batched = briefs(out)
    for job_id in ("long", "seed"):
        assert without_usage(batched[job_id]) == without_usage(expected[job_id])
        assert batched[job_id]["usage"]["llm_calls"] == 0
        assert_citations_grounded(batched[job_id])


def test_an_expired_merge_round_asks_what_failed_live(tmp_path: Path) -> None:
    jobs = merging_manifest(tmp_path)
    expected, _ = live_briefs(tmp_path, jobs)
    server = BatchServer(expire=True)
    failed: list[int] = []

    def first_of_round_2(n: int) -> bool:
        if len(server.batches) == 1 and not failed:  # batch-2 is being made
            failed.append(n)
        return n in failed

    server.fails = first_of_round_2
    with server:
        result = run_brief("batch", str(jobs), "--out", str(tmp_path / "out"), "--base-url", server.url,
                           *SMALL_CHUNKS, "--batch-api", env=FAST_POLL)  # fmt: skip
        assert result.returncode == 0, result.stderr
        failed_line = server.batch_lines[failed[0]]
        live = [r.body for r in server.requests]
        batches = len(server.batches)
    assert schema_names([failed_line["body"]]) == ["merged_points"]
    assert "batch batch-2 expired: its missing answers are asked live" in result.stderr
    assert "round 2: 1 batch: " in result.stderr and "; 1 failed or unusable, asked live" in result.stderr
    # The job missing a merge answer leaves the later rounds and asks the rest of its merging live.
    assert batches == 2
    assert set(schema_names(live)) == {"merged_points"}
    assert failed_line["body"]["messages"] in [body["messages"] for body in live]
    index = index_of(tmp_path / "out")
    assert {r["status"] for r in index.values()} == {"ok"} and index["long"]["llm_calls"] == len(live)
    assert without_usage(briefs(tmp_path / "out")["long"]) == without_usage(expected["long"])


def test_a_rerun_polls_the_merge_round_already_sent(tmp_path: Path) -> None:
    jobs = merging_manifest(tmp_path)
    out = tmp_path / "out"
    with BatchServer(polls=lambda batch: 10**6 if batch == "batch-2" else 1) as server:
        args = [sys.executable, "-m", "briefer", "batch", str(jobs), "--out", str(out), "--base-url", server.url,
                *SMALL_CHUNKS, "--batch-api"]  # fmt: skip
        process = subprocess.Popen(args, cwd=ROOT, stderr=subprocess.PIPE, text=True, env=_env(FAST_POLL))
        deadline = time.monotonic() + 120
        while "batch-2" not in server.batches and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the state naming batch-2 is written once it is made
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 130, stderr
        state = json.loads((out / "batch-state.json").read_text(encoding="utf-8"))
        assert state["round"] == 2 and [b["id"] for b in state["batches"]] == ["batch-2"]
        assert state["may_merge"] == ["long", "seed"]  # in 50-token chunks, both can have points to merge
        assert len(state["sent"]) == len(server.files["file-1"].decode().splitlines())  # round 1's requests
        server.polls = 1
        result = run_brief("batch", str(jobs), "--out", str(out), "--base-url", server.url, *SMALL_CHUNKS,
                           "--batch-api", env=FAST_POLL)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert server.requests == []
        made = sorted(server.batches)
    assert "round 1:" not in result.stderr and "round 2: 1 batch: " in result.stderr
    assert "round 2: sent" not in result.stderr  # batch-2 was polled, not sent again
    assert made[:2] == ["batch-1", "batch-2"] and len(made) >= 2
    assert sorted(briefs(out)) == ["long", "seed"]
    assert not (out / "batch-state.json").exists()


def test_export_writes_the_round_that_is_due_and_import_says_when_another_is(tmp_path: Path) -> None:
    jobs = merging_manifest(tmp_path)
    expected, live_names = live_briefs(tmp_path, jobs)
    out = tmp_path / "out"
    exported_names: list[list[str]] = []
    with ScriptedServer() as server:
        common = ("--out", str(out), "--engine", "openai", "--base-url", server.url, *SMALL_CHUNKS)
        for turn in range(1, 6):
            exported = run_brief("batch", str(jobs), *common, "--batch-api", "export")
            assert exported.returncode == 0, exported.stderr
            requests = [json.loads(x) for x in (out / "batch-requests.jsonl").read_text().splitlines()]
            exported_names.append(schema_names([r["body"] for r in requests]))
            which = "round 1 (first requests)" if turn == 1 else "the next round (merging points)"
            assert f"wrote {len(requests)} requests of {which}" in exported.stderr
            if turn == 2:
                dry = run_brief("batch", str(jobs), *common, "--dry-run")
                assert f"Round 2 (merging points): {len(requests)} requests, " in dry.stdout
            results = tmp_path / f"results-{turn}.jsonl"
            results.write_text("".join(
                json.dumps({"custom_id": r["custom_id"], "error": None,
                            "response": {"status_code": 200, "body": grounded_reply(0, r["body"]).body}}) + "\n"
                for r in requests
            ), encoding="utf-8")  # fmt: skip
            imported = run_brief(
                "batch", str(jobs), *common, "--batch-api", "import", "--batch-file", str(results)
            )
            assert imported.returncode == 0, imported.stderr
            assert f"{len(requests)} answers cached" in imported.stderr
            if "are due as the next round" not in imported.stderr:
                break
            assert not (out / "long.json").exists()  # no job runs while a round is due
        assert server.requests == []
    assert set(exported_names[0]) == {"brief_sections"}
    assert len(exported_names) >= 2 and all(set(n) == {"merged_points"} for n in exported_names[1:])
    assert sorted(n for names in exported_names for n in names) == sorted(live_names)
    assert without_usage(briefs(out)["long"]) == without_usage(expected["long"])


def test_extract_only_sends_one_round_and_merges_live(tmp_path: Path) -> None:
    jobs = merging_manifest(tmp_path)
    with BatchServer() as server:
        result = run_brief("batch", str(jobs), "--out", str(tmp_path / "out"), "--base-url", server.url,
                           *SMALL_CHUNKS, "--batch-api", "extract-only", env=FAST_POLL)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert len(server.batches) == 1 and set(schema_names([x["body"] for x in server.batch_lines])) == {
            "brief_sections"
        }
        assert schema_names([r.body for r in server.requests]).count("merged_points") >= 2
        assert set(schema_names([r.body for r in server.requests])) == {"merged_points"}
    assert "batch API: 1 round, 1 batch" in result.stderr


def test_only_jobs_with_enough_chunks_can_have_merges(tmp_path: Path) -> None:
    from briefer.batch.provider import merges_at_most
    from briefer.templates import load_template

    (tmp_path / "facts.toml").write_text(ONE_SECTION, encoding="utf-8")
    facts = load_template(str(tmp_path / "facts.toml"))  # one section of at most 5 points per call
    assert [merges_at_most(facts, units) for units in (1, 6, 7, 40)] == [
        0,
        0,
        2,
        7,
    ]  # 35 points: 2 calls of 32
    policy = load_template("policy")  # its people section is never merged
    assert merges_at_most(policy, 1) == 0
    points = [s for s in policy.sections if s.items != "people"]
    assert merges_at_most(policy, 100) == sum(-(-100 * s.max_items // 32) for s in points)
