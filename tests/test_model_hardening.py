"""Hostile model servers and a shared cache (issue 9): answers that break output, leak keys, or
lose points; a cache that is busy, shared between servers, or readable by others.

Each hostile server is one mode of tests/scripted_server.py; the CLI runs as a subprocess.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from briefer.cache import CACHE_FILE
from briefer.findings import Finding
from briefer.llm.ask import MAX_ECHOED_CHARS
from briefer.llm.schema import MAX_TEXT_CHARS, clean_model_text
from briefer.merge import merge
from briefer.pipeline import make_brief
from briefer.redact import mask_url, redact, remember_secret
from briefer.sentences import split_sentences
from briefer.sources import Source, load_sources
from briefer.templates import load_template, parse_template
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


@contextmanager
def _writing(folder: Path, lock_out_readers: bool) -> Iterator[None]:
    """Another process's connection in the middle of writing the cache, rolled back at the end;
    with `lock_out_readers`, one that keeps the file to itself (SQLite's exclusive locking mode)."""
    holder = sqlite3.connect(folder / CACHE_FILE, isolation_level=None)
    if lock_out_readers:
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO answers (key, answer) VALUES ('pending', '{}')")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_cache_locked_by_another_process_is_skipped_not_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRIEF_CACHE_DIR", str(tmp_path))
    with ScriptedServer() as server:
        before = _cache_with_entries(tmp_path, server, extra=130)
        with _writing(tmp_path, lock_out_readers=True):
            result = brief_via(server)
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
        with _writing(tmp_path, lock_out_readers=False):
            result = brief_via(server)
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


# ---------------------------------------------------------------- the parts, on small inputs


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://alice:pw@host.example/v1", "https://***@host.example/v1"),
        ("https://host.example:8443/v1?api-key=abc&x=1", "https://host.example:8443/v1?api-key=***&x=***"),
        ("http://token@[::1]:8080/v1", "http://***@[::1]:8080/v1"),
        ("http://127.0.0.1:11434/v1", "http://127.0.0.1:11434/v1"),
        ("not a url", "not a url"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_redact_blanks_known_keys_bearer_tokens_and_urls_in_any_text() -> None:
    remember_secret("zz-custom-secret-value")
    text = (
        "failed: zz-custom-secret-value; Authorization: Bearer abc.def-ghi; api_key=k123456 "
        "at https://u:p@h.example/v1?key=q9 with sk-proj-ABCDEFGH12345678"
    )
    shown = redact(text)
    for secret in ("zz-custom-secret-value", "abc.def-ghi", "k123456", "u:p@", "q9", "sk-proj-ABCD"):
        assert secret not in shown
    assert shown.startswith("failed: ***; Authorization: ") and "https://***@h.example/v1?key=***" in shown


def test_model_text_is_cleaned_of_escapes_controls_surrogates_and_the_key() -> None:
    remember_secret("zz-model-echoed-key")
    dirty = "A\x1b[1;31mB\x1b[0m C\x1b]8;;http://x/\x07D\x1b]8;;\x1b\\ E\x00\x07\x9b F\u202e\ud83d G\nH zz-model-echoed-key"
    assert clean_model_text(dirty) == "AB CD E F G H ***"
    assert clean_model_text("Kyiv – “talks” 😀 €5") == "Kyiv – “talks” 😀 €5"


def test_one_section_each_keeps_the_best_ranked_copy_and_leaves_distinct_lines() -> None:
    template = parse_template(
        """
name = "two"
title = "Two"
description = "Two point sections."
[[sections]]
key = "talks"
title = "Talks"
description = "What the talks covered."
[[sections]]
key = "reaction"
title = "Reaction"
description = "How Europe reacted."
""",
        "two",
    )
    text = "Europe reacted with alarm to the talks."
    sentences = split_sentences([Source(id="S1", path="x.txt", title="x", text=f"{text} The talks began.")])
    findings = [
        Finding("talks", "Europe reacted with alarm", [("S1", 1)], score=0.5),
        Finding("reaction", "Europe reacted with alarm.", [("S1", 1)], score=0.9),
        Finding("talks", "The talks began", [("S1", 2)], score=0.9),
        Finding("reaction", "The talks began", [("S1", 2)], score=0.9),  # a tie: the section's words
    ]
    sections = merge(findings, sentences, template, ["S1"], verbatim=False)
    assert [[i.text for i in s.items] for s in sections] == [
        ["The talks began"],
        ["Europe reacted with alarm."],
    ]
