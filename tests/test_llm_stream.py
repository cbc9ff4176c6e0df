"""Streamed answers, the idle timeout, the run's deadline, output budgets and model progress.

Through the real CLI against the scripted server (tests/scripted_server.py), which
streams answers as server-sent events when asked, in pieces spread over a set time,
and can play a server that refuses or ignores streaming.
"""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from briefer.differences import MAX_DIFFERENCES
from briefer.llm.budget import (
    ANSWER_TOKENS,
    POINT_TOKENS,
    SECTION_TOKENS,
    differences_budget,
    item_tokens,
    sections_budget,
)
from briefer.llm.transport import TokenMeter
from briefer.templates import load_template, with_sections
from tests.conftest import ROOT, SEED, start_to_interrupt
from tests.scripted_server import Reply, ScriptedServer, completion, error, grounded_answer, grounded_reply
from tests.test_llm_scripted import brief_via, ok_json, one_error_line


def slow(spread: float, pieces: int) -> Any:
    """A script whose grounded answers arrive in `pieces` spread over `spread` seconds."""

    def script(n: int, request: dict[str, Any]) -> Reply:
        return Reply(body=completion(json.dumps(grounded_answer(request))), pieces=pieces, spread=spread)

    return script


def test_answers_are_streamed_with_usage_and_give_the_same_brief_as_whole_answers() -> None:
    with ScriptedServer() as server:
        streamed = ok_json(brief_via(server, "--chunk-tokens", "300", "--no-cache"))
    assert all(r.body["stream"] is True for r in server.requests)
    assert all(r.body["stream_options"] == {"include_usage": True} for r in server.requests)
    assert all(r.streamed for r in server.requests)
    calls = len(server.requests)
    assert streamed["usage"]["llm_calls"] == calls >= 2
    # The usage is the server's, from the stream's last event (not counted here).
    assert streamed["usage"]["prompt_tokens"] == 100 * calls
    assert streamed["usage"]["completion_tokens"] == 20 * calls
    for refusing in ("refuse", "ignore"):
        with ScriptedServer(streaming=refusing) as server:
            whole = ok_json(brief_via(server, "--chunk-tokens", "300", "--no-cache", "--concurrency", "1"))
        assert whole["sections"] == streamed["sections"]
        assert whole["usage"] == streamed["usage"]
        assert not any(r.streamed for r in server.requests)
        asked = [r.body.get("stream", False) for r in server.requests]
        if refusing == "refuse":  # one refused request, then plain ones for the rest of the run
            assert asked == [True, False] + [False] * (calls - 1)
            assert len(server.requests) == calls + 1
        else:  # the plain answer to a streamed request is read as it is: no request is lost
            assert asked == [True] + [False] * (calls - 1)
            assert len(server.requests) == calls


def test_streamed_and_whole_answers_share_the_cache() -> None:
    # One server (cache keys name the server), streaming for the first run only.
    with ScriptedServer() as server:
        first = ok_json(brief_via(server, "--chunk-tokens", "300"))
        assert server.requests and all(r.streamed for r in server.requests)
        server.streaming = "refuse"
        asked = len(server.requests)
        second = ok_json(brief_via(server, "--chunk-tokens", "300"))
        assert len(server.requests) == asked  # every answer came from the cache
    assert second["sections"] == first["sections"]
    assert second["usage"]["cached_calls"] == first["usage"]["llm_calls"]


def test_a_slow_answer_that_keeps_arriving_is_never_cut_off() -> None:
    # Each answer takes 45 s in small pieces (one every ~1.5 s); --timeout 15 bounds only the silences.
    started = time.monotonic()
    with ScriptedServer(slow(spread=45, pieces=30)) as server:
        brief = ok_json(brief_via(server, "--timeout", "15", "--no-cache"))
    took = time.monotonic() - started
    assert len(server.requests) == brief["usage"]["llm_calls"] == 1  # one request per call: no retry
    assert server.requests[0].streamed and server.requests[0].end is not None
    assert server.requests[0].end - server.requests[0].start >= 44
    assert took >= 45


def test_a_silent_server_is_given_up_on_after_four_waits_of_timeout() -> None:
    started = time.monotonic()
    with ScriptedServer(lambda n, r: Reply(body=completion("{}"), delay=60)) as server:
        result = brief_via(server, "--timeout", "2", "--no-cache")
    took = time.monotonic() - started
    assert result.returncode == 1
    line = one_error_line(result)
    assert "sent nothing for 2 s (4 attempts): raise --timeout" in line
    assert len(server.requests) == 4
    # Four waits of 2 s and three backoffs (0.5 + 1 + 2 s at most), plus start-up.
    assert 8 <= server.requests[-1].start - server.requests[0].start + 2 <= 8 + 3.5 + 1
    assert took < 40


def test_silence_in_the_middle_of_an_answer_is_a_timeout_too(tmp_path: Path) -> None:
    # Half the answer, then 30 s of silence: cut off after --timeout, asked again, and given up on.
    with ScriptedServer(slow(spread=30, pieces=2)) as server:
        result = brief_via(server, "--timeout", "1", "--no-cache", "-o", str(tmp_path / "b.json"))
    assert result.returncode == 1
    assert "sent nothing for 1 s (4 attempts)" in one_error_line(result)
    assert len(server.requests) == 4 and all(r.streamed for r in server.requests)
    assert list(tmp_path.iterdir()) == []


def test_the_deadline_bounds_the_whole_run_and_closes_the_connection(tmp_path: Path) -> None:
    started = time.monotonic()
    with ScriptedServer(slow(spread=40, pieces=40)) as server:
        result = brief_via(server, "--deadline", "3", "--no-cache", "-o", str(tmp_path / "b.json"))
        took = time.monotonic() - started
        waited = time.monotonic() + 5
        while server.requests[0].cut_off is None and time.monotonic() < waited:
            time.sleep(0.1)
    assert result.returncode == 1
    assert one_error_line(result) == (
        "brief: error: the model calls did not finish within --deadline 3 s: "
        "raise --deadline, or leave it unset for no overall limit"
    )
    assert len(server.requests) == 1
    assert server.requests[0].cut_off is not None  # the server saw the connection closed
    assert took < 3 + 15  # start-up, then at most the deadline and one piece
    assert list(tmp_path.iterdir()) == []


def test_a_retry_after_beyond_the_deadline_fails_at_once() -> None:
    with ScriptedServer(
        lambda n, r: error(429, "Rate limit reached", headers={"Retry-After": "30"})
    ) as server:
        result = brief_via(server, "--deadline", "10", "--no-cache")
    assert result.returncode == 1
    line = one_error_line(result)
    assert "asks to wait 30 s (Retry-After), and --deadline 10 s leaves" in line
    assert line.endswith("try again later or raise --deadline")
    assert len(server.requests) == 1  # not waited for, not asked again


def test_a_retry_after_of_minutes_fails_at_once_without_a_deadline() -> None:
    started = time.monotonic()
    with ScriptedServer(lambda n, r: error(429, "Slow down", headers={"Retry-After": "180"})) as server:
        result = brief_via(server, "--timeout", "5", "--no-cache")
    assert result.returncode == 1
    assert one_error_line(result).endswith(
        "asks to wait 180 s before trying again (Retry-After), longer than the 120 s briefer waits: "
        "try again later"
    )
    assert len(server.requests) == 1
    assert time.monotonic() - started < 60


def test_a_retry_after_within_the_deadline_is_waited_for() -> None:
    def script(n: int, request: dict[str, Any]) -> Reply:
        if n == 0:
            return error(429, "Rate limit reached", headers={"retry-after-ms": "1500"})
        return grounded_reply(n, request)

    with ScriptedServer(script) as server:
        ok_json(brief_via(server, "--deadline", "60", "--no-cache"))
    assert len(server.requests) == 2
    assert server.requests[1].start - server.requests[0].start >= 1.45


def test_output_limits_follow_the_template() -> None:
    policy = load_template("policy")
    wider = with_sections(policy, ["asian_reaction: How Asian governments responded"])
    # One more point section of the default 6 items adds exactly its allowance.
    assert sections_budget(wider) - sections_budget(policy) == SECTION_TOKENS + 6 * POINT_TOKENS
    assert sections_budget(policy) == ANSWER_TOKENS + sum(
        SECTION_TOKENS + spec.max_items * item_tokens(spec) for spec in policy.sections
    )
    assert differences_budget() == ANSWER_TOKENS + SECTION_TOKENS + MAX_DIFFERENCES * POINT_TOKENS
    with ScriptedServer() as server:
        ok_json(brief_via(server, "--no-cache"))
        result = brief_via(server, "--no-cache", "-s", "asian_reaction: How Asian governments responded")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["sections"][-1]["key"] == "asian_reaction"
        ok_json(brief_via(server, "--no-cache", "--max-tokens", "700"))
    sent = [r.body["max_tokens"] for r in server.requests]
    assert sent == [sections_budget(policy), sections_budget(wider), 700]
    assert sent[0] != 2048


def test_a_rambling_model_is_stopped_by_the_budget_and_its_chunk_split() -> None:
    # A model that repeats itself inside the JSON until it hits whatever limit it is given.
    def rambling(n: int, request: dict[str, Any]) -> Reply:
        if len(request["messages"][1]["content"].splitlines()) > 10:
            loop = '{"participants": [' + '{"name": "Marco Rubio", "role": "", "citations": ["S1:1"]}, ' * 50
            return Reply(
                body=completion(loop, finish_reason="length", completion_tokens=request["max_tokens"])
            )
        return grounded_reply(n, request)

    with ScriptedServer(rambling) as server:
        brief = ok_json(brief_via(server, "--no-cache"))
    budget = sections_budget(load_template("policy"))
    limits = [(len(r.sentence_ids), r.body["max_tokens"]) for r in server.requests]
    assert limits[:2] == [(28, budget), (28, 2 * budget)]  # asked again once with twice the budget
    assert all(tokens in (budget, 2 * budget) for _, tokens in limits)
    assert brief["usage"]["llm_calls"] == len(server.requests) > 2  # then split into smaller calls


def test_a_server_with_no_structured_output_at_all_says_so_in_one_line() -> None:
    def script(n: int, request: dict[str, Any]) -> Reply:
        return error(400, "this server cannot follow a response_format or JSON schema")

    with ScriptedServer(script) as server:
        result = brief_via(server, "--no-cache")
    assert result.returncode == 1
    # Two warnings as plainer formats are tried, then one error line.
    *warnings, line = result.stderr.splitlines()
    assert len(warnings) == 2 and all(w.startswith("brief: warning: ") for w in warnings)
    assert line.startswith(f"brief: error: the model server at {server.url} cannot produce structured output")
    assert line.endswith(
        "use a server and model with JSON-schema or grammar support (see 'Local models and servers' in the README)"
    )
    assert len(server.requests) == 4  # bounded schema, strict schema, JSON mode, schema in the prompt


def test_ctrl_c_during_a_streamed_answer_closes_the_connection(tmp_path: Path) -> None:
    out = tmp_path / "brief.md"
    with ScriptedServer(slow(spread=60, pieces=60)) as server:
        args = [str(SEED), "--base-url", server.url, "--no-cache", "-o", str(out)]
        process = start_to_interrupt(args)
        waited = time.monotonic() + 60
        while not server.requests and time.monotonic() < waited:
            time.sleep(0.1)
        time.sleep(3)  # a few pieces have arrived
        assert process.poll() is None
        interrupted = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        while server.requests[0].cut_off is None and time.monotonic() < interrupted + 10:
            time.sleep(0.1)
    assert process.returncode == 130
    assert stderr.strip() == "brief: interrupted"
    assert time.monotonic() - interrupted < 15
    cut_off = server.requests[0].cut_off
    assert cut_off is not None and cut_off - interrupted < 5  # the server stopped sending
    assert list(tmp_path.iterdir()) == []


def test_the_token_meter_counts_and_rates() -> None:
    meter = TokenMeter()
    assert meter.tokens == 0 and meter.rate() == 0.0
    for _ in range(10):
        meter.add(3)
    assert meter.tokens == 30
    assert meter.rate() == pytest.approx(30.0, rel=0.2)  # 30 tokens within the first second


def _terminal_run(args: list[str]) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal; (exit code, what the terminal showed)."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "160", "TERM": "xterm-256color"}
    process = subprocess.Popen(
        [sys.executable, "-m", "briefer", *args],
        stdout=subprocess.DEVNULL,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env=env,
    )
    os.close(slave)
    shown = b""
    while True:
        try:
            piece = os.read(master, 65536)
        except OSError:
            break
        if not piece:
            break
        shown += piece
    code = process.wait(timeout=120)
    os.close(master)
    return code, shown.decode("utf-8", "replace")


def test_progress_on_a_terminal_shows_calls_tokens_and_rate() -> None:
    with ScriptedServer(slow(spread=6, pieces=60)) as server:
        code, shown = _terminal_run([str(SEED), "--base-url", server.url, "--no-cache", "--format", "json"])
        assert code == 0
        # While the answer streams in: calls done/total, tokens received so far, and the rate.
        assert "Briefing: " in shown and "extract 0/1 · " in shown
        counts = [int(n.replace(",", "")) for n in re.findall(r"([\d,]+) tok(?!/)", shown)]
        assert counts and counts == sorted(counts) and counts[-1] > counts[0] > 0
        assert " tok/s" in shown
        code, quiet = _terminal_run(
            [str(SEED), "--base-url", server.url, "--no-cache", "--format", "json", "--quiet"]
        )
    assert code == 0 and "Briefing" not in quiet and "tok/s" not in quiet
