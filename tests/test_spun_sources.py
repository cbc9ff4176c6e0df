"""Machine-paraphrased ("spun") sources: detection, the verdict, standard terms in every format,
merging a spun and a clean source, the LLM prompt hint and the support check, `brief check-paraphrase`.

The spun texts here were written for these tests (the seed article is real spun news); the
false-positive and generalization checks read ../shared/eval in place and skip without it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from briefer.findings import Finding
from briefer.merge import merge_points
from briefer.paraphrase import MIN_DISTINCT, ParaphraseReport, SpunPhrase, detect, find_spun, lexicon
from briefer.verify import check_support
from tests.conftest import EVAL, SEED, assert_citations_grounded, brief_json, items_of, run_brief
from tests.scripted_server import Reply, ScriptedServer, completion, grounded_answer, request_schema
from tests.spinner import held_out_swaps, spin

SPUN = (
    "Talks in Riyadh\n\n"
    "International Minister Sergei Lavrov met Secretary of State Marco Rubio in Riyadh on Tuesday. "
    "The nationwide safety adviser and the international coverage adviser will attend the Munich "
    "Safety Convention subsequent week. European management argued that boots on the bottom were not "
    "on the desk. The Related Press contributed to this report.\n"
)
CLEAN = (
    "Talks in Riyadh\n\n"
    "Foreign Minister Sergei Lavrov met Secretary of State Marco Rubio in Riyadh on Tuesday. "
    "The national security adviser and the foreign policy adviser will attend the Munich Security "
    "Conference next week. European leaders insisted that boots on the ground were not on the table.\n"
)
SEED_TERMS = [
    "Foreign Minister",
    "national security adviser",
    "Middle East special envoy",
    "foreign policy adviser",
    "Munich Security Conference",
    "World War II",
    "boots on the ground",
    "Associated Press",
]


def spun_of(text: str) -> list[tuple[str, str]]:
    return [(text[start:end], standard) for start, end, standard, _, _ in find_spun(text)]


def write(folder: Path, **texts: str) -> list[str]:
    paths = []
    for name, text in texts.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
        paths.append(str(folder / f"{name}.txt"))
    return paths


# ---------------------------------------------------------------- detection and verdict


def test_spun_phrases_get_their_standard_terms() -> None:
    assert spun_of("The nationwide safety adviser met the Center East particular envoy.") == [
        ("nationwide safety adviser", "national security adviser"),
        ("Center East particular envoy", "Middle East special envoy"),
    ]
    assert spun_of("It was the largest war since World Struggle II, with boots on the bottom.") == [
        ("World Struggle II", "World War II"),
        ("boots on the bottom", "boots on the ground"),
    ]
    # One swap the synonym table does not list, in a long phrase whose other words are as written.
    assert spun_of("He spoke at the Munich Security Festival on Friday.") == [
        ("Munich Security Festival", "Munich Security Conference")
    ]


def test_standard_usage_is_not_spun() -> None:
    clean = (
        "Foreign Minister Sergei Lavrov told reporters after the press conference that the national "
        "security team and the international community backed the peace talks last week. "
        "The National Assembly with its speaker met the Secretary of Veterans Affairs."
    )
    assert spun_of(clean) == []
    # An unlisted swap that fits several phrases ("Secretary of State", "… of Defense" …) names none.
    assert spun_of("She is Secretary of Culture.") == []


def test_the_seed_is_likely_spun_with_its_standard_terms() -> None:
    lines = [line for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    report = detect("S1", enumerate(lines, start=1))
    assert report.likely
    standards = {m.standard.removeprefix("The ") for m in report.matches}
    found = [term for term in SEED_TERMS if term in standards]
    assert len(found) >= 6, found
    by_phrase = {m.phrase: m.standard for m in report.matches}
    assert by_phrase["International Minister"] == "Foreign Minister"
    assert by_phrase["nationwide safety adviser"] == "national security adviser"
    assert by_phrase["World Struggle II"] == "World War II"
    assert report.per_1000_words > 10


def _report(distinct: int, repeats: int, words: int) -> ParaphraseReport:
    matches = tuple(
        SpunPhrase("S1", 1, f"phrase {i}", f"standard {i}", 0, 1, 1)
        for i in range(distinct)
        for _ in range(repeats)
    )
    return ParaphraseReport("S1", words, matches)


def test_the_verdict_needs_several_different_phrases_at_a_rate() -> None:
    assert _report(MIN_DISTINCT, 1, 300).likely
    assert not _report(MIN_DISTINCT - 1, 5, 300).likely  # one phrase many times is not a spinner's habit
    assert not _report(MIN_DISTINCT, 1, 100_000).likely  # three in a book is not either
    assert _report(0, 0, 0).per_1000_words == 0.0


def _eval_articles() -> list[str]:
    folder = EVAL / "multiling2011_sacrerouge" / "documents.jsonl"
    if not folder.exists():
        pytest.skip(f"{folder} is absent (../shared/eval is not part of the repository)")
    return [
        "\n".join(document["text"])
        for line in folder.read_text(encoding="utf-8").splitlines()
        for document in json.loads(line)["documents"]
    ]


def test_real_unspun_news_is_not_flagged() -> None:
    articles = _eval_articles()
    flagged = [a for a in articles if detect("S1", enumerate(a.splitlines(), start=1)).likely]
    assert len(articles) == 30
    assert flagged == []


def test_real_news_spun_with_unlisted_swaps_is_measured_not_assumed() -> None:
    """The spinner swaps only words briefer's lists do not know: what is found, the rule finds."""
    articles = _eval_articles()
    tortured = EVAL / "tortured_phrases" / "tortured.csv"
    swaps = held_out_swaps(tortured)
    known = {(standard, spun) for pairs in lexicon().swaps.values() for spun, standard in pairs}
    assert not any(((word,), (spun,)) in known for word, options in swaps.items() for spun in options)
    spun_text, done = spin(articles[0], swaps, seed=1)
    assert done and spun_text != articles[0]
    for swap in done:
        assert swap.spun.lower() in swaps[swap.original.lower()]
    assert spun_text.count("\n") == articles[0].count("\n")


# ---------------------------------------------------------------- the brief, in every format


def test_the_seed_brief_shows_standard_terms_in_every_format(tmp_path: Path) -> None:
    brief = brief_json(str(SEED))
    assert_citations_grounded(brief)  # quotes stay verbatim
    paraphrase = brief["sources"][0]["paraphrase"]
    assert paraphrase["likely"] is True and paraphrase["per_1000_words"] > 10
    assert {
        "sentence": 4,
        "phrase": "nationwide safety adviser",
        "standard": "national security adviser",
    } in (paraphrase["matches"])
    people = {item["name"]: item for item in items_of(brief, "participants")}
    assert people["Mike Waltz"]["role"] == "nationwide safety adviser"
    assert people["Mike Waltz"]["role_standard"] == "national security adviser"
    assert people["Mike Waltz"]["standard_terms"] == [
        {"phrase": "nationwide safety adviser", "standard": "national security adviser"}
    ]
    assert people["Sergei Lavrov"]["role_standard"] == "Russian Foreign Minister"
    assert "role_standard" not in people["Marco Rubio"]
    shown = {
        term["standard"].removeprefix("The ")
        for section in brief["sections"]
        for item in section["items"]
        for term in item.get("standard_terms", [])
    }
    assert len([term for term in SEED_TERMS if term in shown]) >= 5
    for section in brief["sections"]:  # every spun phrase an item quotes has its standard term beside it
        for item in section["items"]:
            cited = {c["sentence"] for c in item["citations"]}
            quoted = {
                (m["phrase"], m["standard"])
                for m in paraphrase["matches"]
                if m["sentence"] in cited and m["phrase"] in item["text"]
            }
            terms = {(t["phrase"], t["standard"]) for t in item.get("standard_terms", [])}
            assert quoted <= terms, item["text"]

    terminal = run_brief(str(SEED), "--plain")
    assert terminal.returncode == 0, terminal.stderr
    flat = " ".join(terminal.stdout.split())
    assert "Mike Waltz — nationwide safety adviser (standard: national security adviser)" in flat
    point_terms = [
        term
        for section in brief["sections"]
        if section["key"] != "participants"
        for item in section["items"]
        for term in item.get("standard_terms", [])
    ]
    assert point_terms  # a point quoting a spun phrase shows its standard term too
    assert all(f"{t['phrase']} (standard: {t['standard']})" in flat for t in point_terms)
    assert re.search(r"spun\s*\n\s*S1 .* likely \(\d+\)", terminal.stdout)

    markdown = run_brief(str(SEED), "--format", "markdown").stdout
    assert (
        "- Mike Waltz — nationwide safety adviser _(standard: national security adviser)_[^S1-4]" in markdown
    )
    assert "| Machine-paraphrased |" in markdown
    assert re.search(r"\| likely, \d+ spun phrases \|", markdown)

    page = run_brief(str(SEED), "--format", "html").stdout
    assert (
        'nationwide safety adviser<span class="standard"> (standard: national security adviser)</span>'
        in page
    )
    assert '<td class="spun">likely, ' in page


def test_a_clean_source_gets_no_standard_terms(tmp_path: Path) -> None:
    (path,) = write(tmp_path, clean=CLEAN)
    brief = brief_json(path)
    assert brief["sources"][0]["paraphrase"] == {"likely": False, "per_1000_words": 0.0, "matches": []}
    assert not any(
        "standard_terms" in i or "role_standard" in i for s in brief["sections"] for i in s["items"]
    )
    markdown = run_brief(path, "--format", "markdown").stdout
    assert "standard:" not in markdown and "Machine-paraphrased" not in markdown


# ---------------------------------------------------------------- merging across sources


def test_a_spun_and_a_clean_source_merge_in_standard_terms(tmp_path: Path) -> None:
    spun, clean = write(tmp_path, spun=SPUN, clean=CLEAN)
    brief = brief_json(spun, clean)
    assert [s["paraphrase"]["likely"] for s in brief["sources"]] == [True, False]
    lavrov = [item for item in items_of(brief, "participants") if "Lavrov" in item["name"]]
    assert len(lavrov) == 1
    assert lavrov[0]["role"] == "Foreign Minister"  # as the clean source writes it
    assert "role_standard" not in lavrov[0]
    assert {c["source"] for c in lavrov[0]["citations"]} == {"S1", "S2"}
    boots = [
        item for section in brief["sections"] for item in section["items"] if "boots on the" in item["text"]
    ]
    assert len(boots) == 1 and {c["source"] for c in boots[0]["citations"]} == {"S1", "S2"}


def test_points_are_compared_in_standard_terms() -> None:
    spun = Finding(
        "agenda", "European management argued that boots on the bottom were not on the desk.", [("S1", 3)]
    )
    clean = Finding(
        "agenda", "European leaders insisted that boots on the ground were not on the table.", [("S2", 3)]
    )
    order = {"S1": 0, "S2": 1}
    assert len(merge_points([spun, clean], order)) == 2  # in other words: under the bar
    spun.terms = [
        ("European management", "European leaders"),
        ("boots on the bottom", "boots on the ground"),
        ("on the desk", "on the table"),
    ]
    (merged,) = merge_points([spun, clean], order)
    assert merged.refs == [("S1", 3), ("S2", 3)]
    assert merged.terms == spun.terms


# ---------------------------------------------------------------- LLM engines


def test_the_support_check_accepts_the_standard_term() -> None:
    from briefer.sentences import Sentence

    text = "Center East particular envoy Steve Witkoff will join the talks."
    sentences = {"S1": [Sentence("S1", 1, 0, len(text), text)]}
    right = Finding(
        "agenda", "Steve Witkoff, the Middle East special envoy, will join the talks.", [("S1", 1)]
    )
    wrong = Finding("agenda", "Steve Witkoff, the Far East special envoy, will join the talks.", [("S1", 1)])
    check_support([right, wrong], sentences)
    assert right.supported is False and right.unsupported and right.unsupported.reason == "name"
    check_support(
        [right, wrong],
        sentences,
        {("S1", 1): [("Center East particular envoy", "Middle East special envoy")]},
    )
    assert right.supported is True
    assert wrong.supported is False and wrong.unsupported and wrong.unsupported.detail == "Far is not in them"


def test_the_model_is_told_which_phrases_are_spun_and_their_standard_terms_count(tmp_path: Path) -> None:
    def script(n: int, request: dict[str, Any]) -> Reply:
        answer = grounded_answer(request)
        if request_schema(request)[0] == "brief_sections" and "[S1:4] " in request["messages"][1]["content"]:
            answer["agenda"].insert(  # first: a point citing the same sentence joins it
                0,
                {
                    "text": "Steve Witkoff, the Middle East special envoy, joins the talks.",
                    "citations": ["S1:4"],
                },
            )
        return Reply(body=completion(json.dumps(answer)))

    with ScriptedServer(script) as server:
        result = run_brief(str(SEED), "--base-url", server.url, "--format", "json")
        assert result.returncode == 0, result.stderr
        system = server.requests[0].messages[0]["content"]
    assert "machine-paraphrased source" in system
    assert "- “nationwide safety adviser” (S1:4) stands for “national security adviser”" in system
    assert "- “International Minister” (S1:1, S1:3) stands for “Foreign Minister”" in system
    brief = json.loads(result.stdout)
    witkoff = next(i for i in items_of(brief, "agenda") if i["text"].startswith("Steve Witkoff"))
    assert witkoff["supported"] is True  # "Middle" is in the cited sentence in standard terms only

    spun, clean = write(tmp_path, spun=SPUN, clean=CLEAN)
    with ScriptedServer() as server:
        result = run_brief(clean, spun, "--base-url", server.url, "--format", "json", "--chunk-tokens", "50")
        assert result.returncode == 0, result.stderr
        extracting = [r for r in server.requests if request_schema(r.body)[0] == "brief_sections"]
    assert len(extracting) >= 2
    for request in extracting:
        system = request.messages[0]["content"]
        assert set(re.findall(r"” \((S\d+):", system)) <= {"S2"}  # the clean source has no hint
        if "[S2:3] " in request.user_text:
            assert "- “Munich Safety Convention” (S2:3) stands for “Munich Security Conference”" in system
    assert any("[S2:3] " in r.user_text for r in extracting)


# ---------------------------------------------------------------- brief check-paraphrase


def test_check_paraphrase_prints_the_verdict_and_matches(tmp_path: Path) -> None:
    spun, clean = write(tmp_path, spun=SPUN, clean=CLEAN)
    result = run_brief("check-paraphrase", spun, clean)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"S1  {spun}: likely machine-paraphrased (8 spun phrases, 8 different; ")
    assert "  S1:2     International Minister → Foreign Minister" in lines
    assert "  S1:3     Munich Safety Convention → Munich Security Conference" in lines
    assert (
        lines[-1]
        == f"S2  {clean}: not likely machine-paraphrased (0 spun phrases, 0 different; 0.0 per 1,000 words)"
    )
    shown = json.loads(run_brief("check-paraphrase", spun, "--format", "json").stdout)
    assert shown["sources"][0]["paraphrase"]["likely"] is True
    assert shown["sources"][0]["paraphrase"]["matches"][0] == {
        "sentence": 2,
        "phrase": "International Minister",
        "standard": "Foreign Minister",
    }


def test_check_paraphrase_bad_input_is_one_line(tmp_path: Path) -> None:
    result = run_brief("check-paraphrase", str(tmp_path / "missing.txt"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"brief check-paraphrase: error: {tmp_path / 'missing.txt'}: no such file or directory"
    ]
