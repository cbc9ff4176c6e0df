"""Hostile model servers and a shared cache (issue 9): answers that break output, leak keys, or
lose points; a cache that is busy, shared between servers, or readable by others.

Each hostile server is one mode of tests/scripted_server.py; the CLI runs as a subprocess.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from briefer.cache import CACHE_FILE
from briefer.llm.ask import MAX_ECHOED_CHARS
from briefer.llm.schema import MAX_TEXT_CHARS
from briefer.pipeline import make_brief
from briefer.sources import load_sources
from briefer.templates import load_template
from tests.conftest import SEED, items_of, run_brief
from tests.scripted_server import (
    ScriptedServer,
    deeply_nested,
    echoing_authorization,
    empty_merges,
    grounded_reply,
    lone_surrogates,
    malformed_merges,
    oversized_item,
    rejecting,
    repeated_across_sections,
    repeating_key,
    request_schema,
    terminal_escapes,
)
from tests.test_llm_parts import engine_for
from tests.test_llm_scripted import brief_via, ok_json, one_error_line

KEY = "sk-test-Hq7rV2mPz9XcL4fake"
POINT_SECTIONS = ("agenda", "european_reaction", "open_questions")


# ---------------------------------------------------------------- model answers


def test_lone_surrogates_are_cleaned_and_every_format_is_written(tmp_path: Path) -> None:
    with ScriptedServer(lone_surrogates) as server:
        brief = ok_json(brief_via(server))
        for fmt in ("markdown", "html", "terminal"):
            result = brief_via(server, "--format", fmt)
            assert result.returncode == 0, result.stderr
            assert "Rubio" in result.stdout
    assert len(server.requests) == 1  # the cleaned answer was cached and served the other formats
    texts = [item["text"] for key in POINT_SECTIONS for item in items_of(brief, key)]
    assert texts and all(not any(0xD800 <= ord(c) <= 0xDFFF for c in t) for t in texts)
    assert all("\ufffd" not in t and not t.endswith(" ") for t in texts)


def test_terminal_escapes_and_controls_are_removed_from_model_text_in_json_too() -> None:
    with ScriptedServer(terminal_escapes) as server:
        raw = brief_via(server)
        markdown = brief_via(server, "--format", "markdown")
    brief = ok_json(raw)
    texts = [item["text"] for key in POINT_SECTIONS for item in items_of(brief, key)]
    assert texts and all(t.endswith("RED link") for t in texts)
    for output in (raw.stdout, markdown.stdout):
        for bad in ("\x1b", "\\u001b", "\x07", "\\u0007", "\u202e", "\\u202e", "evil.example"):
            assert bad not in output


def test_an_answer_nested_200000_levels_deep_is_asked_again() -> None:
    with ScriptedServer(deeply_nested(200_000)) as server:
        result = brief_via(server)
    ok_json(result)
    assert "internal error" not in result.stderr
    assert len(server.requests) == 2
    reask = server.requests[1].messages[-1]["content"]
    assert "nested too deeply" in reask
    assert len(server.requests[1].messages[-2]["content"]) == MAX_ECHOED_CHARS  # not the 400 kB answer


def test_an_item_over_the_schema_length_is_asked_again_not_kept() -> None:
    with ScriptedServer(oversized_item(2_000_000)) as server:
        result = brief_via(server)
    brief = ok_json(result)
    assert len(server.requests) == 2
    reask = server.requests[1].messages[-1]["content"]
    assert f"at most {MAX_TEXT_CHARS} characters" in reask
    assert len(server.requests[1].messages[-2]["content"]) == MAX_ECHOED_CHARS
    assert len(result.stdout) < 100_000
    assert all(len(i["text"]) <= MAX_TEXT_CHARS for s in brief["sections"] for i in s["items"])


@pytest.mark.parametrize("script", [empty_merges, malformed_merges], ids=["empty", "malformed"])
def test_a_reduce_answer_that_merges_nothing_keeps_the_candidates(script: Any) -> None:
    template = load_template("policy")
    sources = load_sources([str(SEED)])
    with ScriptedServer(grounded_reply) as server:
        plain = make_brief(sources, template, engine_for(server), chunk_tokens=100)
    with ScriptedServer(script) as server:
        engine = engine_for(server)
        engine.reduce_budget = 3
        reduced = make_brief(sources, template, engine, chunk_tokens=100)
    merges = [r for r in server.requests if request_schema(r.body)[0] == "merged_points"]
    for key in POINT_SECTIONS:
        title = template.section(key).title
        assert any(f'the section "{title}"' in r.messages[0]["content"] for r in merges)
        assert reduced.section(key).items
        assert [i.text for i in reduced.section(key).items] == [i.text for i in plain.section(key).items]


# ---------------------------------------------------------------- secrets


def test_debug_tracebacks_redact_a_key_the_server_echoes_in_a_chained_error() -> None:
    with ScriptedServer() as server:
        server.script = echoing_authorization(server.requests)
        result = brief_via(server, "--no-cache", env={"OPENAI_API_KEY": KEY, "BRIEF_DEBUG": "1"})
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "BadRequestError" in result.stderr  # the chain is shown
    assert KEY not in result.stderr and KEY[8:] not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("brief: error: the model server rejected the request")


def test_the_key_is_redacted_when_the_model_writes_it() -> None:
    with ScriptedServer() as server:
        server.script = repeating_key(server.requests)
        result = brief_via(server, env={"OPENAI_API_KEY": KEY})
        markdown = brief_via(server, "--format", "markdown", env={"OPENAI_API_KEY": KEY})
    brief = ok_json(result)
    assert any("(key ***)" in i["text"] for key in POINT_SECTIONS for i in items_of(brief, key))
    for output in (result.stdout, markdown.stdout):
        assert KEY not in output and KEY[8:] not in output


def _credentialed(url: str) -> str:
    return url.replace("http://", "http://alice:hunter2pass@") + "?api-key=qsecret99"


def test_credentials_in_the_base_url_are_masked_in_the_dry_run_and_errors() -> None:
    with ScriptedServer() as server:
        dry = run_with_url(_credentialed(server.url), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "server http://***@127.0.0.1:" in dry.stdout and "?api-key=***" in dry.stdout
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    closed = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    probe.close()  # nothing listens there now
    failed = run_with_url(_credentialed(closed), "--no-cache", "--timeout", "2")
    assert failed.returncode == 1
    line = one_error_line(failed)
    assert "cannot reach the model server at http://***@127.0.0.1:" in line and "api-key=***" in line
    for text in (dry.stdout, dry.stderr, failed.stderr):
        assert "hunter2pass" not in text and "qsecret99" not in text and "alice" not in text


def run_with_url(url: str, *args: str) -> Any:
    return run_brief(str(SEED), "--base-url", url, "--format", "json", *args)


# ---------------------------------------------------------------- the cache


def test_answers_of_one_server_are_not_served_for_another(tmp_path: Path) -> None:
    with ScriptedServer() as good:
        ok_json(brief_via(good))
    with ScriptedServer(rejecting) as bad:
        result = brief_via(bad)
    assert len(bad.requests) == 1  # asked, not answered from the other server's cache
    assert result.returncode == 1
    assert "this server accepts no requests" in one_error_line(result)


def test_the_cache_and_its_folder_are_readable_by_the_user_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "new" / "cache"
    monkeypatch.setenv("BRIEF_CACHE_DIR", str(folder))
    with ScriptedServer() as server:
        ok_json(brief_via(server))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = [p for p in folder.iterdir() if p.name.startswith(CACHE_FILE)]
    assert (folder / CACHE_FILE) in files
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files), files


def _cache_with_entries(folder: Path, server: ScriptedServer, extra: int) -> int:
    """A cache made by a real run, with `extra` more rows; returns its row count."""
    ok_json(brief_via(server))
    with sqlite3.connect(folder / CACHE_FILE) as db:
        db.executemany(
            "INSERT INTO answers (key, answer) VALUES (?, ?)",
            [(f"k{i}", json.dumps({"content": "{}"})) for i in range(extra)],
        )
    db.close()
    return _rows(folder)


def _rows(folder: Path) -> int:
    db = sqlite3.connect(folder / CACHE_FILE)
    try:
        return int(db.execute("SELECT count(*) FROM answers").fetchone()[0])
    finally:
        db.close()


def test_a_cache_locked_by_another_process_is_skipped_not_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRIEF_CACHE_DIR", str(tmp_path))
    with ScriptedServer() as server:
        before = _cache_with_entries(tmp_path, server, extra=130)
        holder = sqlite3.connect(tmp_path / CACHE_FILE, isolation_level=None)
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("INSERT INTO answers (key, answer) VALUES ('held', '{}')")
        try:
            result = brief_via(server)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    ok_json(result)
    assert len(server.requests) == 2  # run without the cache: asked again
    assert "in use by another process" in result.stderr and "without the cache" in result.stderr
    assert "unusable" not in result.stderr
    assert before == 131 and _rows(tmp_path) == before


def test_a_writer_holding_the_cache_does_not_block_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRIEF_CACHE_DIR", str(tmp_path))
    with ScriptedServer() as server:
        before = _cache_with_entries(tmp_path, server, extra=5)
        writer = sqlite3.connect(tmp_path / CACHE_FILE, isolation_level=None)
        writer.execute("BEGIN EXCLUSIVE")
        writer.execute("INSERT INTO answers (key, answer) VALUES ('pending', '{}')")
        try:
            result = brief_via(server)
        finally:
            writer.execute("ROLLBACK")
            writer.close()
    brief = ok_json(result)
    assert result.stderr == ""
    assert len(server.requests) == 1 and brief["usage"]["cached_calls"] == 1
    assert _rows(tmp_path) == before


# ---------------------------------------------------------------- one section per item


def test_a_line_the_model_gives_in_several_sections_stays_in_one() -> None:
    with ScriptedServer(grounded_reply) as server:
        own = ok_json(brief_via(server, "--no-cache"))
    with ScriptedServer(repeated_across_sections) as server:
        brief = ok_json(brief_via(server, "--no-cache"))
    texts = [item["text"] for key in POINT_SECTIONS for item in items_of(brief, key)]
    assert texts and len(texts) == len(set(texts))
    for key in POINT_SECTIONS:  # each stays where the model ranked it first
        assert [i["text"] for i in items_of(brief, key)] == [i["text"] for i in items_of(own, key)]
