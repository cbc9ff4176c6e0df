"""The LLM engine's parts: cache, schema, support check, prompts, packing, reduce rounds."""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from briefer.cache import AnswerCache, request_key
from briefer.chunking import chunk_sentences
from briefer.config import resolve_settings
from briefer.engines.openai_engine import OpenAIEngine
from briefer.findings import Finding
from briefer.llm.local_server import cut_connections
from briefer.llm.prompt import extract_messages, reask_messages, sentence_lines
from briefer.llm.reduce import MAX_ROUNDS
from briefer.llm.schema import (
    AnswerError,
    answer_model,
    parse_answer,
    sections_schema,
    unbounded,
)
from briefer.pipeline import make_brief
from briefer.sentences import Sentence, split_sentences
from briefer.sources import Source, load_sources
from briefer.templates import load_template, parse_template
from briefer.verify import check_support, parse_ref, person_supported, point_supported
from tests.conftest import SEED, assert_citations_grounded
from tests.scripted_server import Reply, ScriptedServer, completion

MINI = parse_template(
    """
name = "mini"
title = "Mini brief"
description = "Who took part and what happened."
instructions = "Be terse."
[[sections]]
key = "people"
title = "People"
items = "people"
max_items = 3
description = "People named, with their roles."
[[sections]]
key = "events"
title = "Events"
max_items = 2
description = "What happened."
""",
    "mini",
)


def engine_for(server: ScriptedServer, **settings: Any) -> OpenAIEngine:
    chosen = resolve_settings(base_url=server.url, env={}, no_cache=True, **settings)
    return OpenAIEngine(chosen)


def test_cache_keys_are_canonical() -> None:
    assert request_key({"a": 1, "b": [1, 2]}) == request_key({"b": [1, 2], "a": 1})
    assert request_key({"model": "x"}) != request_key({"model": "y"})
    assert len(request_key({})) == 64


def test_cache_keeps_answers_across_runs_and_threads(tmp_path: Path) -> None:
    cache = AnswerCache(tmp_path)

    def put(i: int) -> None:
        cache.put(f"k{i}", {"content": f"answer {i}"})

    threads = [threading.Thread(target=put, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cache.close()
    again = AnswerCache(tmp_path)
    assert again.get("k7") == {"content": "answer 7"}
    assert again.get("missing") is None
    again.close()


def test_a_corrupt_cache_file_is_rebuilt_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "responses.sqlite3").write_bytes(b"garbage" * 1000)
    with caplog.at_level(logging.WARNING, logger="briefer"):
        cache = AnswerCache(tmp_path)
    assert "is unusable" in caplog.text and "starting a new one" in caplog.text
    cache.put("k", {"content": "x"})
    assert cache.get("k") == {"content": "x"}
    cache.close()
    with sqlite3.connect(tmp_path / "responses.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM answers").fetchone() == (1,)


def test_an_unusable_cache_folder_means_no_cache(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="briefer"):
        cache = AnswerCache(blocker / "cache")
    assert "running without a cache" in caplog.text
    cache.put("k", {"content": "x"})
    assert cache.get("k") is None


def test_the_schema_follows_the_template_and_lists_the_ids_shown() -> None:
    schema = sections_schema(MINI, ["S1:1", "S1:2"])
    assert schema["required"] == ["people", "events"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["events"]["maxItems"] == 2
    assert schema["$defs"]["id"] == {"type": "string", "enum": ["S1:1", "S1:2"]}
    assert set(schema["$defs"]["person"]["required"]) == {"name", "role", "citations"}
    plain = unbounded(schema)
    assert "maxItems" not in json.dumps(plain) and "maxLength" not in json.dumps(plain)
    assert plain["$defs"]["id"]["enum"] == ["S1:1", "S1:2"]


def test_answers_are_checked_locally() -> None:
    model = answer_model(MINI)
    good = parse_answer(
        '```json\n{"people": [], "events": [{"text": "x", "citations": ["S1:1"]}]}\n```', model
    )
    assert good.events[0].citations == ["S1:1"]  # type: ignore[attr-defined]
    with pytest.raises(AnswerError, match="not valid JSON"):
        parse_answer('{"people": [', model)
    with pytest.raises(AnswerError, match="the answer was empty"):
        parse_answer("  ", model)
    with pytest.raises(AnswerError) as caught:
        parse_answer('{"people": [{"name": "A"}], "events": [], "extra": 1}', model)
    message = str(caught.value)
    assert "people.0.role: Field required" in message
    assert "extra: unexpected field" in message
    assert parse_ref("S2:14") == ("S2", 14) and parse_ref("[S1:3]") == ("S1", 3)
    assert parse_ref("S1") is None and parse_ref("sentence 3") is None


def test_support_is_content_word_overlap_and_names_must_appear() -> None:
    sentence = "Secretary of State Marco Rubio is meeting Russian Foreign Minister Sergei Lavrov in Riyadh."
    assert point_supported("Rubio and Lavrov meet in Riyadh", [sentence])
    assert point_supported("Rubio met Lavrov", [sentence])
    assert not point_supported("Bananas ripen faster in Iceland", [sentence])
    assert not point_supported("", [sentence])
    assert person_supported("Marco Rubio", "Secretary of State", [sentence])
    assert person_supported("Sergei Lavrov", None, [sentence])
    assert not person_supported("Angela Merkel", None, [sentence])
    assert not person_supported("Marco Rubio", "Chancellor of Germany", [sentence])


def test_the_prompt_carries_the_template_and_numbered_sentences() -> None:
    sources = [
        Source(id="S1", path="a.txt", title="a", text="Anna Berg met Jonas Dahl.\n\nThey  talked\ttrade.")
    ]
    sentences = split_sentences(sources)["S1"]
    system, user = extract_messages(MINI, sentences)
    assert 'You write parts of a brief, "Mini brief"' in system["content"]
    assert "Be terse." in system["content"]
    assert "- people (people): People named, with their roles." in system["content"]
    assert "- events: What happened." in system["content"]
    assert user["content"] == "[S1:1] Anna Berg met Jonas Dahl.\n[S1:2] They talked trade."
    messages = [system, user]
    again = reask_messages(messages, "{bad", "not valid JSON: oops")
    assert again[:2] == messages and len(again) == 4
    assert again[2] == {"role": "assistant", "content": "{bad"}
    piece = Sentence("S1", 5, 0, 3, "abc")
    assert sentence_lines([piece, replace(piece, start=3, end=6, text="def")]) == "[S1:5] abc def"


def test_short_sources_share_a_call_and_long_ones_do_not() -> None:
    sources = load_sources([str(SEED)])
    texts = [
        Source(id=f"S{i}", path=f"{i}.txt", title="t", text=f"Person {i} spoke. It rained.")
        for i in (1, 2, 3)
    ]
    with ScriptedServer() as server:
        engine = engine_for(server)
    small = split_sentences(texts)
    chunks = [c for s in texts for c in chunk_sentences(small[s.id], 3000)]
    assert len(engine.plan(chunks, 3000)) == 1
    big = split_sentences(sources)["S1"]
    big_chunks = chunk_sentences(big, 300)
    planned = engine.plan(big_chunks, 300)
    assert len(planned) == len(big_chunks)
    assert [s for unit in planned for s in unit.sentences] == list(big)


def _sentences(count: int) -> dict[str, list[Sentence]]:
    text = " ".join(f"Delegate number {i} proposed measure {i} on trade." for i in range(1, count + 1))
    found = split_sentences([Source(id="S1", path="x.txt", title="x", text=text)])
    assert len(found["S1"]) == count
    return found


def test_reduce_runs_in_capped_rounds_and_keeps_every_citation() -> None:
    sentences = _sentences(40)
    findings = [Finding("events", f"Delegate {i} proposed measure {i}", [("S1", i)]) for i in range(1, 41)]
    with ScriptedServer() as server:  # merges candidates two by two, two points per call
        engine = engine_for(server, concurrency=2)
        engine.reduce_budget = 4
        reduced = engine.reduce(findings, MINI, sentences, ["S1"])
    calls = [
        r for r in server.requests if r.body["response_format"]["json_schema"]["name"] == "merged_points"
    ]
    # 40 candidates in groups of 4 → 20 points; → 10; → 5: still over 4 after the third round,
    # which is the last.
    assert MAX_ROUNDS == 3
    assert len(calls) == 10 + 5 + 3
    assert all(r.user_text.count("\n") + 1 <= 4 for r in calls)
    assert len(reduced.items) == 5
    assert reduced.usage.llm_calls == 18
    refs = [ref for f in reduced.items for ref in f.refs]
    assert sorted(refs) == [("S1", i) for i in range(1, 41)]  # every citation kept, each once
    assert all(len(f.refs) == 8 for f in reduced.items)  # 2 of 2 of 2 candidates
    check_support(reduced.items, sentences)  # every engine's findings are checked in verify
    assert all(f.supported is True for f in reduced.items)


def test_reduce_leaves_small_sections_alone() -> None:
    sentences = _sentences(5)
    findings = [Finding("events", f"Delegate {i} proposed measure {i}", [("S1", i)]) for i in range(1, 6)]
    with ScriptedServer() as server:
        engine = engine_for(server)
        reduced = engine.reduce(findings, MINI, sentences, ["S1"])
    assert server.requests == []
    assert reduced.items == findings and reduced.usage.llm_calls == 0


def test_reduce_ignores_unknown_candidate_ids_and_counts_empty_points() -> None:
    sentences = _sentences(10)
    findings = [Finding("events", f"Delegate {i} proposed measure {i}", [("S1", i)]) for i in range(1, 11)]
    answer = {
        "points": [
            {"text": "Delegates proposed measures.", "merges": ["P1", "P2", "P99"]},
            {"text": "x", "merges": []},
        ]
    }
    with ScriptedServer(lambda n, r: Reply(body=completion(json.dumps(answer)))) as server:
        engine = engine_for(server)
        engine.reduce_budget = 5
        reduced = engine.reduce(findings, MINI, sentences, ["S1"])
    # Each answer merges its first two candidates and leaves the others out: those are kept as
    # they are, so the rounds go on while the section shrinks, and no citation is lost.
    assert [f.refs for f in reduced.items] == [
        [("S1", 1), ("S1", 2), ("S1", 3), ("S1", 4)],
        [("S1", 5)],
        [("S1", 6), ("S1", 7)],
        [("S1", 8), ("S1", 9)],
        [("S1", 10)],
    ]
    assert reduced.items[0].text == "Delegates proposed measures."
    assert reduced.dropped == len(server.requests) == 6  # 3 rounds of 2 calls; the "x" of each answer


def test_a_brief_with_a_reduce_step_is_grounded_and_counts_every_call() -> None:
    template = load_template("policy")
    sources = load_sources([str(SEED)])
    with ScriptedServer() as server:
        engine = engine_for(server, concurrency=3)
        engine.reduce_budget = 3
        brief = make_brief(sources, template, engine, chunk_tokens=100)
    names = [r.body["response_format"]["json_schema"]["name"] for r in server.requests]
    assert "merged_points" in names and "brief_sections" in names
    assert brief.usage.llm_calls == len(server.requests)
    checked = assert_citations_grounded(json.loads(brief.to_json()), sources)
    assert checked == brief.verification.citations_checked > 0
    agenda = brief.section("agenda").items
    assert agenda and max(len(item.citations) for item in agenda) >= 2  # merged points keep all citations


@pytest.mark.skipif(not Path("/dev/fd").is_dir(), reason="needs /dev/fd to find the process's sockets")
def test_cutting_connections_wakes_a_thread_waiting_for_an_answer() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    served, _ = listener.accept()
    other = socket.create_server(("127.0.0.1", 0))  # a connection elsewhere is left alone
    bystander = socket.create_connection(other.getsockname())
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(client.recv(100)))
    reader.start()
    reader.join(0.3)
    assert reader.is_alive()  # blocked: the server has not answered
    assert cut_connections(port) == 1
    reader.join(5)
    assert not reader.is_alive() and got == [b""]
    assert served.recv(100) == b""  # and the server sees its client gone
    bystander.sendall(b"still open")
    for sock in (client, served, listener, bystander, other):
        sock.close()
