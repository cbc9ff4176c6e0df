"""The seed article, briefed offline through the real CLI: the product's promise, checked on content."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import SEED, assert_citations_grounded, brief_json, items_of, run_brief


@pytest.fixture(scope="module")
def seed_brief() -> dict[str, Any]:
    return brief_json(str(SEED))


def _people(brief: dict[str, Any]) -> dict[str, str | None]:
    return {item["name"]: item.get("role") for item in items_of(brief, "participants")}


def _texts(brief: dict[str, Any], key: str) -> list[str]:
    return [item["text"] for item in items_of(brief, key)]


def test_all_four_sections_are_filled_in_template_order(seed_brief: dict[str, Any]) -> None:
    assert [s["key"] for s in seed_brief["sections"]] == [
        "participants",
        "agenda",
        "european_reaction",
        "open_questions",
    ]
    assert [s["title"] for s in seed_brief["sections"]] == [
        "Participants",
        "Agenda",
        "European reaction",
        "Open questions",
    ]
    assert all(s["items"] for s in seed_brief["sections"])
    assert seed_brief["template"] == "policy"
    assert seed_brief["engine"] == {"name": "extractive"}
    assert seed_brief["usage"] == {"llm_calls": 0, "prompt_tokens": 0, "completion_tokens": 0}


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("Marco Rubio", "Secretary of State"),
        ("Sergei Lavrov", "Russian International Minister"),
        ("Mike Waltz", "nationwide safety adviser"),
        ("Steve Witkoff", "Center East particular envoy"),
        ("Yuri Ushakov", "international coverage adviser to Putin"),
        ("Volodymyr Zelenskyy", "Ukrainian President"),
        ("Donald Trump", "President"),
        ("Vladimir Putin", "President"),
    ],
)
def test_participants_have_the_role_the_text_gives(seed_brief: dict[str, Any], name: str, role: str) -> None:
    people = _people(seed_brief)
    assert people.get(name) == role
    item = next(i for i in items_of(seed_brief, "participants") if i["name"] == name)
    assert item["text"] == f"{name} — {role}"
    # The first citation is the sentence that gives the role.
    assert role.split()[-1] in item["citations"][0]["quote"]


def test_surnames_merge_into_full_names_and_places_are_not_people(seed_brief: dict[str, Any]) -> None:
    names = list(_people(seed_brief))
    assert len(names) == len(set(names))
    for surname in ("Rubio", "Lavrov", "Putin", "Trump", "Ushakov"):
        assert surname not in names  # merged into the full name
    rubio = next(i for i in items_of(seed_brief, "participants") if i["name"] == "Marco Rubio")
    # Rubio's entry cites sentences naming him by surname alone, too.
    assert any(not c["quote"].count("Marco") and "Rubio" in c["quote"] for c in rubio["citations"])
    for place in ("Kyiv", "Riyadh", "Moscow", "Washington", "Saudi Arabia", "Ukraine"):
        assert place not in names


def test_european_reaction_has_the_peacekeeping_offer_and_polish_support(seed_brief: dict[str, Any]) -> None:
    texts = _texts(seed_brief, "european_reaction")
    assert any(all(w in t for w in ("Germany", "Sweden", "UK", "peacekeeping")) for t in texts)
    assert any("Poland" in t and "logistical and political" in t for t in texts)


def test_open_questions_have_the_missing_negotiator_and_europes_seat(seed_brief: dict[str, Any]) -> None:
    texts = _texts(seed_brief, "open_questions")
    assert any("chief negotiator" in t for t in texts)
    assert any(re.search(r"Europe", t) and re.search(r"negotiat|talks|table|desk", t) for t in texts)


def test_every_sentence_is_in_at_most_one_point_section(seed_brief: dict[str, Any]) -> None:
    cited = [
        (c["source"], c["sentence"])
        for section in seed_brief["sections"][1:]
        for item in section["items"]
        for c in item["citations"]
    ]
    assert len(cited) == len(set(cited))


def test_every_citation_quotes_its_sentence_verbatim(seed_brief: dict[str, Any]) -> None:
    assert assert_citations_grounded(seed_brief) == seed_brief["verification"]["citations_checked"] > 20


def test_terminal_rendering_shows_title_sources_sections_and_compact_citations() -> None:
    result = run_brief(str(SEED), "--plain", env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Policy brief: us russia riyadh talks")
    assert "S1  us russia riyadh talks" in out
    for title in ("Participants", "Agenda", "European reaction", "Open questions"):
        assert f"\n{title}\n" in out
    assert re.search(r"• Marco Rubio — Secretary of State \[S1:1,3,", out)
    assert "\x1b[" not in out  # not a terminal: no styling codes
    assert result.stderr == ""
