"""The openai engine through the real CLI against a scripted OpenAI-compatible server on 127.0.0.1.

Each test scripts what the server does (429, 500, hangs, broken JSON, cut-off
answers, refusals, citations of sentences that don't exist) and checks the exit
code, the message, the brief and the requests the server saw.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from briefer.brief import brief_model
from briefer.config import resolve_settings
from briefer.engines.openai_engine import OpenAIEngine
from briefer.errors import ModelError
from briefer.llm.schema import SCHEMA_NAME
from briefer.pipeline import Progress, make_brief
from briefer.sources import Source, load_sources
from briefer.templates import load_template
from tests.conftest import SEED, assert_citations_grounded, items_of, run_brief, start_to_interrupt
from tests.scripted_server import (
    Reply,
    ScriptedServer,
    completion,
    error,
    grounded_answer,
    grounded_reply,
)


def brief_via(server: ScriptedServer, *args: str, **kwargs: Any) -> Any:
    """Run `brief SEED --base-url <server> …` (JSON unless another format is given)."""
    fmt = () if "--format" in args or "-o" in args else ("--format", "json")
    return run_brief(str(SEED), "--base-url", server.url, *args, *fmt, **kwargs)


def ok_json(result: Any) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    brief: dict[str, Any] = json.loads(result.stdout)
    brief_model(load_template(brief["template"])).model_validate(brief)
    assert_citations_grounded(brief)
    return brief


def one_error_line(result: Any) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("brief: error: ")
    return lines[0]


def test_grounded_brief_from_a_server() -> None:
    with ScriptedServer() as server:
        brief = ok_json(brief_via(server, "--model", "test-model"))
    assert len(server.requests) == 1
    request = server.requests[0].body
    assert request["model"] == "test-model"
    assert request["response_format"]["type"] == "json_schema"
    assert request["response_format"]["json_schema"]["strict"] is True
    schema = request["response_format"]["json_schema"]["schema"]
    assert list(schema["properties"]) == ["participants", "agenda", "european_reaction", "open_questions"]
    assert schema["$defs"]["id"]["enum"][:2] == ["S1:1", "S1:2"]
    system, user = server.requests[0].messages
    assert "european_reaction: How European governments" in system["content"]
    assert user["content"].startswith("[S1:1] Secretary of State Marco Rubio")
    assert len(server.requests[0].sentence_ids) == 28
    assert brief["engine"] == {"name": "openai", "model": "test-model"}
    assert brief["usage"] == {
        "llm_calls": 1,
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "cached_calls": 0,
    }
    agenda = items_of(brief, "agenda")
    assert agenda and all(item["supported"] is True for item in agenda)
    assert brief["verification"]["items_dropped"] == 0
    assert brief["verification"]["citations_checked"] == assert_citations_grounded(brief)


def test_429_is_retried_after_retry_after() -> None:
    def script(n: int, request: dict[str, Any]) -> Reply:
        if n == 0:
            return error(429, "Rate limit reached", headers={"Retry-After": "1"})
        return grounded_reply(n, request)

    with ScriptedServer(script) as server:
        brief = ok_json(brief_via(server))
    assert len(server.requests) == 2
    assert server.requests[1].start - server.requests[0].start >= 0.95  # waited as told
    assert brief["usage"]["llm_calls"] == 1


def test_500_past_the_retry_limit_fails_with_no_file(tmp_path: Path) -> None:
    with ScriptedServer(lambda n, r: error(500, "upstream exploded")) as server:
        result = brief_via(server, "-o", str(tmp_path / "brief.md"))
    assert result.returncode == 1
    line = one_error_line(result)
    assert "the model server failed (HTTP 500) after 4 attempts: upstream exploded" in line
    assert len(server.requests) == 4  # one try and three retries, then it stops
    assert list(tmp_path.iterdir()) == []


def test_a_hang_past_timeout_fails(tmp_path: Path) -> None:
    started = time.monotonic()
    with ScriptedServer(lambda n, r: Reply(body=completion("{}"), delay=30)) as server:
        result = brief_via(server, "--timeout", "0.5", "-o", str(tmp_path / "brief.json"))
    assert result.returncode == 1
    line = one_error_line(result)
    assert (
        "sent nothing for 0.5 s (4 attempts): raise --timeout (the longest wait for the first or next "
        "piece of an answer) or check the server" in line
    )
    assert len(server.requests) == 4
    assert time.monotonic() - started < 25
    assert list(tmp_path.iterdir()) == []


def test_invalid_json_is_asked_again_with_the_error() -> None:
    def script(n: int, request: dict[str, Any]) -> Reply:
        return Reply(body=completion('{"participants": [')) if n == 0 else grounded_reply(n, request)

    with ScriptedServer(script) as server:
        brief = ok_json(brief_via(server))
    first, second = server.requests
    assert len(first.messages) == 2
    assert second.messages[:2] == first.messages
    assert second.messages[2] == {"role": "assistant", "content": '{"participants": ['}
    assert second.messages[3]["role"] == "user"
    assert "not valid JSON" in second.messages[3]["content"]
    assert brief["usage"]["llm_calls"] == 2


def test_schema_violations_are_asked_again_without_growing_then_fail() -> None:
    bad = [json.dumps({"participants": [], "agenda": [{"text": f"attempt {n}"}]}) for n in range(3)]

    with ScriptedServer(lambda n, r: Reply(body=completion(bad[n]))) as server:
        result = brief_via(server)
    assert result.returncode == 1
    line = one_error_line(result)
    assert "does not match the schema" in line and "agenda.0.citations: Field required" in line
    assert "(3 tries): try another --model" in line
    assert len(server.requests) == 3  # the first ask and two re-asks, no more
    original = server.requests[0].messages
    for n, request in enumerate(server.requests[1:], start=1):
        # Each re-ask is the original messages plus only the last bad answer and its error.
        assert len(request.messages) == 4
        assert request.messages[:2] == original
        assert request.messages[2]["content"] == bad[n - 1]


def test_schema_violation_then_valid() -> None:
    def script(n: int, request: dict[str, Any]) -> Reply:
        if n == 0:
            return Reply(body=completion(json.dumps({"participants": "Rubio"})))
        return grounded_reply(n, request)

    with ScriptedServer(script) as server:
        brief = ok_json(brief_via(server))
    assert "participants: Input should be a valid list" in server.requests[1].messages[3]["content"]
    assert items_of(brief, "agenda")


def test_cut_off_answers_raise_the_limit_once_then_split_the_chunk() -> None:
    def script(n: int, request: dict[str, Any]) -> Reply:
        lines = request["messages"][1]["content"].count("\n") + 1
        if lines > 10:
            return Reply(body=completion('{"participants": [{"name": "Marco', finish_reason="length"))
        return grounded_reply(n, request)

    with ScriptedServer(script) as server:
        brief = ok_json(brief_via(server, "--max-tokens", "300"))
    sizes = [(len(r.sentence_ids), r.body["max_tokens"]) for r in server.requests]
    # 28 sentences: cut off at 300 and at 600 tokens, then halves of 14 (cut off twice each),
    # then quarters of 7 that fit.
    assert sizes[:2] == [(28, 300), (28, 600)]
    assert sorted(sizes[2:]) == sorted([(14, 300), (14, 600)] * 2 + [(7, 300)] * 4)
    assert all(a.body != b.body for a, b in zip(server.requests, server.requests[1:], strict=False))
    covered = sorted({ref for r in server.requests for ref in r.sentence_ids}, key=lambda s: int(s[3:]))
    assert len(covered) == 28
    assert brief["usage"]["llm_calls"] == len(server.requests) == 10


def test_a_refusal_is_reported_as_such(tmp_path: Path) -> None:
    refusal = completion(None, refusal="I can't help with that request.")
    with ScriptedServer(lambda n, r: Reply(body=refusal)) as server:
        result = brief_via(server, "-o", str(tmp_path / "brief.md"))
    assert result.returncode == 1
    assert one_error_line(result) == "brief: error: the model refused: I can't help with that request."
    assert len(server.requests) == 1
    assert list(tmp_path.iterdir()) == []


def test_items_citing_sentences_that_do_not_exist_are_dropped_and_counted() -> None:
    def script(n: int, request: dict[str, Any]) -> Reply:
        answer = grounded_answer(request)
        answer["agenda"].append({"text": "Talks will resume in Geneva.", "citations": ["S1:999"]})
        answer["agenda"].append({"text": "A made-up source.", "citations": ["S7:1", "bogus"]})
        answer["open_questions"].append(
            # Sentence 1 names Rubio and Lavrov but not Riyadh: a line adding the place would be
            # unsupported (a name its citations lack), so this one keeps to what the sentence says.
            {"text": "Rubio is meeting Lavrov on normalizing relations.", "citations": ["S1:999", "S1:1"]}
        )
        return Reply(body=completion(json.dumps(answer)))

    with ScriptedServer(script) as server:
        brief = ok_json(brief_via(server))
    assert brief["verification"]["items_dropped"] == 2
    texts = [item["text"] for section in brief["sections"] for item in section["items"]]
    assert "Talks will resume in Geneva." not in texts and "A made-up source." not in texts
    partial = next(i for i in items_of(brief, "open_questions") if i["text"].startswith("Rubio is meeting"))
    assert [c["sentence"] for c in partial["citations"]] == [1]
    assert partial["supported"] is True


def test_items_their_citations_do_not_support_are_flagged() -> None:
    def script(n: int, request: dict[str, Any]) -> Reply:
        answer = grounded_answer(request)
        answer["agenda"].insert(0, {"text": "Bananas ripen faster in Iceland.", "citations": ["S1:2"]})
        answer["participants"].append({"name": "Angela Merkel", "role": "", "citations": ["S1:1"]})
        return Reply(body=completion(json.dumps(answer)))

    with ScriptedServer(script) as server:
        result = brief_via(server, "--format", "markdown")
    assert result.returncode == 0, result.stderr
    assert "- Bananas ripen faster in Iceland.[^S1-2] _(not supported by its citations)_" in result.stdout
    assert "- Angela Merkel[^S1-1] _(not supported by its citations)_" in result.stdout
    with ScriptedServer(script) as server:
        brief = ok_json(brief_via(server, "--no-cache"))
    assert brief["verification"]["items_unsupported"] == 2


def test_requests_overlap_under_concurrency_and_the_brief_keeps_source_order() -> None:
    def slow_first(n: int, request: dict[str, Any]) -> Reply:
        # Earlier chunks answer later, so completion order is the reverse of source order.
        first = int(request["messages"][1]["content"].split("]", 1)[0].split(":")[1])
        return Reply(body=completion(json.dumps(grounded_answer(request))), delay=max(0.0, 0.6 - first / 50))

    with ScriptedServer(slow_first) as server:
        parallel = ok_json(brief_via(server, "--chunk-tokens", "120", "--concurrency", "4", "--no-cache"))
    assert len(server.requests) >= 6
    assert server.max_in_flight() >= 2
    assert server.max_in_flight() <= 4
    with ScriptedServer(slow_first) as server:
        serial = ok_json(brief_via(server, "--chunk-tokens", "120", "--concurrency", "1", "--no-cache"))
    assert server.max_in_flight() == 1
    assert parallel["sections"] == serial["sections"]
    assert parallel["usage"]["llm_calls"] == serial["usage"]["llm_calls"] == len(server.requests)


def test_a_second_identical_run_sends_nothing() -> None:
    with ScriptedServer() as server:
        first = ok_json(brief_via(server, "--chunk-tokens", "300"))
        sent = len(server.requests)
        second = ok_json(brief_via(server, "--chunk-tokens", "300"))
        assert len(server.requests) == sent  # all answered from the cache
        assert first["sections"] == second["sections"]
        assert first["usage"]["llm_calls"] == sent and first["usage"]["cached_calls"] == 0
        assert second["usage"] == {
            "llm_calls": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "cached_calls": sent,
        }
        ok_json(brief_via(server, "--chunk-tokens", "300", "--no-cache"))
        assert len(server.requests) == 2 * sent  # --no-cache asks again
        ok_json(brief_via(server, "--chunk-tokens", "300", "--model", "another-model"))
        assert len(server.requests) == 3 * sent  # another model is another request


def test_a_corrupt_cache_is_reported_and_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIEF_CACHE_DIR", str(tmp_path))
    (tmp_path / "responses.sqlite3").write_bytes(b"this is not a database" * 100)
    with ScriptedServer() as server:
        result = brief_via(server)
        ok_json(result)
        assert (
            "cache" in result.stderr and "unusable" in result.stderr and "starting a new one" in result.stderr
        )
        again = brief_via(server)
        ok_json(again)
        assert again.stderr == ""
    assert len(server.requests) == 1  # the rebuilt cache answered the second run


def test_the_api_key_never_appears_in_output_errors_or_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-test-Zq8vN3wTQ1bL0fake"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    cache = tmp_path / "cache"
    monkeypatch.setenv("BRIEF_CACHE_DIR", str(cache))
    outputs: list[str] = []
    with ScriptedServer() as server:
        out = tmp_path / "brief.md"
        result = brief_via(server, "-o", str(out), "--chunk-tokens", "300")
        assert result.returncode == 0, result.stderr
        outputs += [result.stdout, result.stderr, out.read_text()]
        result = brief_via(server, "--chunk-tokens", "300", "--dry-run")
        outputs += [result.stdout, result.stderr]
    sent = server.requests[0].headers["authorization"]
    assert sent == f"Bearer {key}"  # the server did get it
    # Servers that echo the key back in their errors.
    for status, message in ((500, f"cannot serve {sent}"), (401, f"Incorrect API key provided: {key}")):
        with ScriptedServer(lambda n, r, s=status, m=message: error(s, m)) as server:
            result = brief_via(server, "--no-cache")
        assert result.returncode == 1
        outputs += [result.stdout, result.stderr]
    assert "rejected the API key (HTTP 401): check OPENAI_API_KEY" in outputs[-1]
    assert "cannot serve Bearer [key]" in outputs[-3]
    for text in outputs:
        assert key not in text and key[8:] not in text
    cached = b"".join(p.read_bytes() for p in cache.rglob("*") if p.is_file())
    assert cached and key.encode() not in cached and key[8:].encode() not in cached


def test_servers_without_strict_schemas_get_json_mode() -> None:
    def script(n: int, request: dict[str, Any]) -> Reply:
        if request.get("response_format", {}).get("type") == "json_schema":
            return error(400, "response_format type json_schema is not supported by this server")
        return grounded_reply(n, request)

    with ScriptedServer(script) as server:
        result = brief_via(server, "--chunk-tokens", "300", "--concurrency", "1")
        brief = ok_json(result)
    kinds = [r.body.get("response_format", {}).get("type") for r in server.requests]
    # Strict with bounds, strict without, then JSON mode, which is kept for the rest of the run.
    assert kinds[:3] == ["json_schema", "json_schema", "json_object"]
    assert set(kinds[3:]) == {"json_object"}
    assert "maxLength" in json.dumps(server.requests[0].body["response_format"])
    assert "maxLength" not in json.dumps(server.requests[1].body["response_format"])
    assert "The JSON must match this schema:" in server.requests[2].messages[0]["content"]
    assert "asking for json object" in result.stderr or "now asking for json object" in result.stderr
    assert items_of(brief, "agenda")


def test_length_bounds_are_dropped_quietly_when_refused() -> None:
    def script(n: int, request: dict[str, Any]) -> Reply:
        if "maxLength" in json.dumps(request.get("response_format")):
            return error(
                400, "Invalid schema for response_format 'brief_sections': 'maxLength' is not permitted."
            )
        return grounded_reply(n, request)

    with ScriptedServer(script) as server:
        result = brief_via(server)
        ok_json(result)
    assert result.stderr == ""
    assert [r.body["response_format"]["json_schema"]["strict"] for r in server.requests] == [True, True]


def test_other_bad_requests_fail_with_the_servers_message() -> None:
    with ScriptedServer(lambda n, r: error(400, "model 'nope' does not exist")) as server:
        result = brief_via(server, "--model", "nope")
    assert result.returncode == 1
    assert one_error_line(result) == (
        "brief: error: the model server rejected the request (HTTP 400): model 'nope' does not exist"
    )
    assert len(server.requests) == 1


def test_an_unreachable_server_fails_with_one_line() -> None:
    with ScriptedServer() as server:
        url = server.url
    result = run_brief(str(SEED), "--base-url", url, "--timeout", "2")
    assert result.returncode == 1
    assert "cannot reach the model server at http://127.0.0.1:" in one_error_line(result)


def _two_sources(tmp_path: Path, second: str) -> list[str]:
    wire, paper = tmp_path / "wire.txt", tmp_path / "paper.txt"
    wire.write_text(
        "The explosion on the Piccadilly line killed 26 people, police said on Friday.\n"
        "Commissioner Ian Blair said the investigation would take weeks.\n"
    )
    paper.write_text(second)
    return [str(wire), str(paper)]


def test_several_sources_share_a_call_and_the_model_is_asked_where_they_differ(tmp_path: Path) -> None:
    paths = _two_sources(
        tmp_path,
        "Police said the explosion on the Piccadilly line killed 27 people.\n"
        "Prime Minister Tony Blair visited the station on Saturday.\n",
    )
    with ScriptedServer() as server:
        brief = ok_json(run_brief(*paths, "--base-url", server.url, "--format", "json"))
    # Two short sources share one call; one more call, made alongside, asks where they differ.
    by_kind = {r.body["response_format"]["json_schema"]["name"]: r for r in server.requests}
    assert len(server.requests) == 2 and set(by_kind) == {"brief_sections", "source_differences"}
    assert by_kind["brief_sections"].sentence_ids == ["S1:1", "S1:2", "S2:1", "S2:2"]
    differ = by_kind["source_differences"]
    assert differ.sentence_ids == ["S1:1", "S2:1"]  # only the pair about the same thing is shown
    assert differ.user_text.endswith("Pairs to compare:\n1. S1:1 and S2:1")
    assert [
        (d["text"], [f"{c['source']}:{c['sentence']}" for c in d["citations"]]) for d in brief["differences"]
    ] == [("The figures differ: 26 in S1, 27 in S2", ["S1:1", "S2:1"])]
    assert brief["usage"]["llm_calls"] == 2


def test_the_same_fact_in_other_words_is_no_difference_for_the_llm_engine(tmp_path: Path) -> None:
    paths = _two_sources(
        tmp_path,
        "Police said the explosion on the Piccadilly line killed 26 people.\n"
        "Prime Minister Tony Blair visited the station on Saturday.\n",
    )
    with ScriptedServer() as server:
        brief = ok_json(run_brief(*paths, "--base-url", server.url, "--format", "json"))
    assert brief["differences"] == []
    markdown = run_brief(*paths, "--base-url", server.url, "--format", "markdown")  # cached: no calls
    assert (
        "## Where sources differ\n\n_No numbers or dates that the sources give differently._"
        in markdown.stdout
    )


def test_a_difference_citing_one_source_or_unknown_sentences_is_dropped_and_counted(tmp_path: Path) -> None:
    paths = _two_sources(
        tmp_path,
        "Police said the explosion on the Piccadilly line killed 27 people.\n"
        "Prime Minister Tony Blair visited the station on Saturday.\n",
    )

    def script(n: int, request: dict[str, Any]) -> Reply:
        if request["response_format"]["json_schema"]["name"] != "source_differences":
            return grounded_reply(n, request)
        answer = {
            "differences": [
                {"text": "One side only", "citations": ["S1:1"]},
                {"text": "Made-up sentences", "citations": ["S1:9", "S2:9"]},
            ]
        }
        return Reply(body=completion(json.dumps(answer)))

    with ScriptedServer(script) as server:
        brief = ok_json(run_brief(*paths, "--base-url", server.url, "--format", "json", "--no-cache"))
    assert brief["differences"] == []
    assert brief["verification"]["items_dropped"] >= 2


def test_ctrl_c_during_concurrent_calls_exits_at_once_without_output(tmp_path: Path) -> None:
    out = tmp_path / "brief.md"
    with ScriptedServer(lambda n, r: Reply(body=completion("{}"), delay=60)) as server:
        args = [str(SEED), "--base-url", server.url, "--chunk-tokens", "200", "-o", str(out)]
        process = start_to_interrupt(args)
        deadline = time.monotonic() + 60
        while len(server.requests) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(server.requests) == 4  # four calls in flight, the rest waiting
        interrupted = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert stderr.strip() == "brief: interrupted"  # (click starts a new line first)
    assert time.monotonic() - interrupted < 10  # calls in flight are not waited for
    assert list(tmp_path.iterdir()) == []


def _many_sources(tmp_path: Path, count: int, paragraphs: int) -> list[Source]:
    """`count` sources of `paragraphs` short paragraphs each: enough blocks that splitting takes a while."""
    paths = []
    for n in range(1, count + 1):
        path = tmp_path / f"report-{n}.txt"
        path.write_text(
            "\n\n".join(
                f"Minister Anna Berg of region {n} said on Monday that {k} new schools would open soon."
                for k in range(paragraphs)
            )
            + "\n",
            encoding="utf-8",
        )
        paths.append(str(path))
    return load_sources(paths)


def _api_engine(url: str, concurrency: int) -> OpenAIEngine:
    return OpenAIEngine(resolve_settings(base_url=url, concurrency=concurrency, no_cache=True, env={}))


@pytest.mark.parametrize("concurrency", [1, 4])
def test_calls_start_while_later_sources_are_still_being_split(tmp_path: Path, concurrency: int) -> None:
    sources = _many_sources(tmp_path, count=4, paragraphs=150)
    split: dict[int, float] = {}

    def progress(step: Progress) -> None:
        if step.stage == "sentences":
            split[step.done] = time.monotonic()

    with ScriptedServer() as server:
        brief = make_brief(sources, "policy", _api_engine(server.url, concurrency), 300, on_progress=progress)
    assert sorted(split) == [1, 2, 3, 4]
    first_call = min(r.start for r in server.requests)
    assert first_call < split[4]  # the model had the first source while the last was being split
    assert server.max_in_flight() <= concurrency
    extraction = [
        r for r in server.requests if r.body["response_format"]["json_schema"]["name"] == SCHEMA_NAME
    ]
    # Every sentence of every source went to the model exactly once.
    sent = [tuple(int(part) for part in ref[1:].split(":")) for r in extraction for ref in r.sentence_ids]
    assert sorted(sent) == [(n, k) for n in range(1, 5) for k in range(1, 151)]
    assert brief.usage.llm_calls == len(server.requests)


def test_a_failing_call_stops_the_run_before_every_source_is_split(tmp_path: Path) -> None:
    sources = _many_sources(tmp_path, count=6, paragraphs=150)
    split: list[int] = []

    def progress(step: Progress) -> None:
        if step.stage == "sentences":
            split.append(step.done)

    with ScriptedServer(lambda n, request: error(401, "Incorrect API key provided")) as server:
        with pytest.raises(ModelError, match="rejected the API key"):
            make_brief(sources, "policy", _api_engine(server.url, 4), 300, on_progress=progress)
    assert max(split) < len(sources)  # it did not wait for the rest of the corpus to be split


def test_an_llm_brief_splits_without_entities_and_is_the_same(tmp_path: Path) -> None:
    """The openai engine reads no named entities, so its sources are split without spaCy's entity
    pipe (half the time); its brief must be the one a full split gives."""
    from briefer.settings import Settings

    assert OpenAIEngine.reads_entities is False
    sources = load_sources([str(SEED)])
    briefs = []
    with ScriptedServer() as server:
        for entities in (False, True):
            engine = OpenAIEngine.from_settings(Settings(base_url=server.url, api_key="k", cache=False))
            engine.reads_entities = entities  # type: ignore[misc]
            briefs.append(make_brief(sources, "policy", engine).model_dump())
        assert len(server.requests) == 2
    assert briefs[0] == briefs[1]
