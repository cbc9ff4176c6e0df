"""Ctrl-C ends a run at once, whichever thread the signal reaches and whatever the run is doing.

The kernel hands a process's SIGINT to any of its threads that does not block it,
while Python runs the handler in the main thread only: a main thread waiting with
no timeout for a model call is then not woken until the call ends. These tests
aim SIGINT at a worker thread (kill(2) on a thread's id delivers it there), and
interrupt the merging calls, where the main thread used to join the calls in flight.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ONE_SECTION, SEED, start_to_interrupt
from tests.scripted_server import Reply, ScriptedServer, completion, grounded_reply, request_schema

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc")

STALL = 60.0
"""How long the scripted server keeps a call waiting: far longer than a run may take to stop."""
PROMPT = 10.0
"""Longest a run may take to end after Ctrl-C (a loaded machine is slow to start a process's exit)."""
GIVE_UP = 30.0
"""A run still going this long after Ctrl-C is killed, and fails the test."""


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 90
    while not condition():
        assert process.poll() is None, f"the run ended before {what}: {process.communicate()[1]}"
        assert time.monotonic() < deadline, f"no {what} within 90 s"
        time.sleep(0.05)


def _interrupted(process: subprocess.Popen[str], pid: int) -> tuple[float, str]:
    """Send SIGINT to thread `pid` of `process` (its main thread when `pid` is the process's);
    returns how long the run took to end, and its stderr."""
    sent = time.monotonic()
    os.kill(pid, signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=GIVE_UP)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"the run was still going {GIVE_UP:g} s after Ctrl-C")
    return time.monotonic() - sent, stderr


def _worker_threads(process: subprocess.Popen[str]) -> list[int]:
    return sorted(int(t) for t in os.listdir(f"/proc/{process.pid}/task") if int(t) != process.pid)


def test_ctrl_c_reaching_a_worker_thread_ends_the_run_at_once(tmp_path: Path) -> None:
    out = tmp_path / "brief.md"
    with ScriptedServer(lambda n, r: Reply(body=completion("{}"), delay=STALL)) as server:
        process = start_to_interrupt(
            [str(SEED), "--base-url", server.url, "--chunk-tokens", "200", "--no-cache", "-o", str(out)]
        )
        _wait_for(lambda: len(server.requests) == 4, process, "four calls in flight")
        workers = _worker_threads(process)
        assert len(workers) >= 4  # the calls' threads
        took, stderr = _interrupted(process, workers[-1])
    assert process.returncode == 130, stderr
    assert stderr.strip() == "brief: interrupted"
    assert took < PROMPT
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_during_merge_calls_ends_the_run_at_once(tmp_path: Path) -> None:
    """More points than one merge call takes: the model is asked to merge them, in several calls
    at once, and those calls hang."""
    template = tmp_path / "facts.toml"
    template.write_text(ONE_SECTION, encoding="utf-8")
    article = tmp_path / "permits.txt"
    lines = [f"The council of Arlen approved {i + 3} housing permits in week {i + 1}." for i in range(120)]
    article.write_text("Council votes\n\n" + "\n".join(lines) + "\n", encoding="utf-8")

    def script(n: int, request: dict[str, Any]) -> Reply:
        reply = grounded_reply(n, request)
        if request_schema(request)[0] == "merged_points":
            reply.delay = STALL
        return reply

    out = tmp_path / "brief.json"
    with ScriptedServer(script) as server:
        process = start_to_interrupt([str(article), "-t", str(template), "--base-url", server.url, "--chunk-tokens", "50",
                          "--no-cache", "-o", str(out)])  # fmt: skip

        def merging() -> bool:
            return sum(request_schema(r.body)[0] == "merged_points" for r in list(server.requests)) >= 2

        _wait_for(merging, process, "two merge calls")
        took, stderr = _interrupted(process, process.pid)
    assert process.returncode == 130, stderr
    assert stderr.strip() == "brief: interrupted"
    assert took < PROMPT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["facts.toml", "permits.txt"]
    names = [request_schema(r.body)[0] for r in server.requests]
    assert names.count("brief_sections") >= 2 and names[-1] == "merged_points"  # extraction, then merges
