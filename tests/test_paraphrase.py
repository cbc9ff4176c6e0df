"""Planted pairs: two sources saying the same thing in other words, or the same event with another
place and date, briefed by the offline engine and by an LLM engine against a scripted server."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.conftest import run_brief
from tests.scripted_server import Reply, ScriptedServer, completion, request_schema

GENEVA = (
    "Ceasefire talks set\n\n"
    "Negotiators will open ceasefire talks in Geneva on March 3, officials said. "
    "Twelve delegates from each side are expected to attend the talks. "
    "The United Nations welcomed the plan and said aid convoys would follow.\n"
)
VIENNA = (
    "Talks to begin soon\n\n"
    "Ceasefire talks between the two sides will begin in Vienna on March 5. "
    "Twelve delegates from each side are expected to take part in the meeting. "
    "Aid agencies said they were ready to move supplies once a truce holds.\n"
)
ATTEND = "Twelve delegates from each side are expected to attend the talks."
TAKE_PART = "Twelve delegates from each side are expected to take part in the meeting."


def write(folder: Path, **texts: str) -> list[str]:
    paths = []
    for name, text in texts.items():
        path = folder / f"{name}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    return paths


def brief_json(*args: str) -> dict[str, Any]:
    result = run_brief(*args, "--format", "json")
    assert result.returncode == 0, result.stderr
    brief: dict[str, Any] = json.loads(result.stdout)
    return brief


def cited(item: dict[str, Any]) -> set[str]:
    return {f"{c['source']}:{c['sentence']}" for c in item["citations"]}


def test_offline_paraphrased_agreement_is_one_item_citing_both(tmp_path: Path) -> None:
    brief = brief_json(*write(tmp_path, a=GENEVA, b=VIENNA))
    items = [i for s in brief["sections"] for i in s["items"] if i["text"] in {ATTEND, TAKE_PART}]
    assert len(items) == 1
    assert items[0]["sources"] == 2 and cited(items[0]) == {"S1:3", "S2:3"}


def test_offline_place_and_date_conflict_in_other_words_is_a_difference(tmp_path: Path) -> None:
    brief = brief_json(*write(tmp_path, a=GENEVA, b=VIENNA))
    texts = {d["text"]: cited(d) for d in brief["differences"]}
    assert texts == {
        "Place (open): Geneva according to S1, Vienna according to S2": {"S1:2", "S2:2"},
        "Date (open): March 3 according to S1, March 5 according to S2": {"S1:2", "S2:2"},
    }


def test_offline_the_same_facts_in_other_words_are_no_difference(tmp_path: Path) -> None:
    same = (
        "Attack in the capital\n\n"
        "Police said 26 people were killed in the attack in central London, England on July 7. "
        "Twelve delegates from each side are expected to attend the talks.\n"
    )
    reworded = (
        "Capital attack\n\n"
        "Twenty-six people died in the attack in London on 7 July, police said. "
        "Twelve delegates from each side are expected to take part in the meeting.\n"
    )
    brief = brief_json(*write(tmp_path, a=same, b=reworded))
    assert brief["differences"] == []


_LINE = re.compile(r"^\[(S\d+:\d+)\] (.*)$", re.MULTILINE)
_PAIR = re.compile(r"^\d+\. (S\d+:\d+) and (S\d+:\d+)$", re.MULTILINE)


def paraphrasing_model(requests: list[dict[str, Any]]) -> Any:
    """Answers as a model would that quotes each source's own wording: the two delegate sentences
    as two agenda points, and, asked about pairs, the place and date that differ."""

    def script(n: int, request: dict[str, Any]) -> Reply:
        requests.append(request)
        name, schema = request_schema(request)
        user = next(m["content"] for m in request["messages"] if m["role"] == "user")
        if name == "source_differences":
            pairs = _PAIR.findall(user)
            answer: dict[str, Any] = {
                "differences": [
                    {"text": "Where the talks open: Geneva (S1) or Vienna (S2)", "citations": list(pair)}
                    for pair in pairs
                    if set(pair) == {"S1:2", "S2:2"}
                ]
            }
        else:
            lines = dict(_LINE.findall(user))
            answer = {key: [] for key in schema.get("properties", {})}
            answer["agenda"] = [
                {"text": text, "citations": [ref]} for ref, text in lines.items() if "delegates" in text
            ]
        return Reply(body=completion(json.dumps(answer)))

    return script


def test_llm_paraphrased_agreement_merges_and_the_conflicting_pair_is_asked(tmp_path: Path) -> None:
    requests: list[dict[str, Any]] = []
    with ScriptedServer(paraphrasing_model(requests)) as server:
        brief = brief_json(*write(tmp_path, a=GENEVA, b=VIENNA), "--base-url", server.url, "--no-cache")
    agenda = next(s for s in brief["sections"] if s["key"] == "agenda")["items"]
    assert len(agenda) == 1 and agenda[0]["sources"] == 2
    assert cited(agenda[0]) == {"S1:3", "S2:3"} and agenda[0]["supported"] is True
    asked = [r for r in requests if request_schema(r)[0] == "source_differences"]
    assert len(asked) == 1 and "S1:2 and S2:2" in asked[0]["messages"][-1]["content"]
    assert [d["text"] for d in brief["differences"]] == ["Where the talks open: Geneva (S1) or Vienna (S2)"]
    assert brief["differences"][0]["supported"] is True
