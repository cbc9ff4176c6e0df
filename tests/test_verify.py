"""Verify: whether an item stands. Unit tests on small hand-made sentences for each check, and an
end-to-end run against a server whose answers distort the sentences they cite."""

from __future__ import annotations

import json
from typing import Any

import pytest

from briefer.brief import Citation, Item, Section, Verification
from briefer.errors import RunError
from briefer.findings import Finding
from briefer.numbers import quantities
from briefer.sentences import Sentence
from briefer.templates import load_template
from briefer.verify import (
    check_citations,
    check_support,
    count_unsupported,
    keep_cited,
    keep_differences,
    name_aliases,
    parse_ref,
    person_support,
    point_support,
    resolve,
    shown_sentences,
)
from tests.conftest import SEED, run_brief
from tests.scripted_server import ScriptedServer, distort, distorting

TALKS = "Twelve delegates from each side will meet in Geneva on Feb. 17 to discuss a $3 billion aid package."
DENIAL = "The ministry denied that Russian troops had crossed the border."
SKIPPED = "Russia did not attend the talks in Geneva."


def reason(text: str, *cited: str) -> str | None:
    problem = point_support(text, list(cited))
    return None if problem is None else problem.reason


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    "line",
    [
        "12 delegates from each side will meet in Geneva on February 17.",
        "Twelve delegates will meet in Geneva on 17 February.",
        "Delegates will meet in Geneva to discuss a $3bn aid package.",
        "Delegates will discuss an aid package worth 3 billion dollars in Geneva.",
    ],
)
def test_the_same_value_written_another_way_is_supported(line: str) -> None:
    assert reason(line, TALKS) is None


@pytest.mark.parametrize(
    ("line", "detail"),
    [
        ("Twenty delegates from each side will meet in Geneva.", "20 is not in them"),
        ("Twelve delegates will meet in Geneva on Feb. 18.", "Feb 18 is not in them"),
        ("Twelve delegates will meet in Geneva on Feb. 177.", "177 is not in them"),
        ("Delegates in Geneva will discuss a $4 billion aid package.", "4000000000 is not in them"),
        ("Delegates in Geneva will discuss a 3% aid package rise.", "3 is not in them"),
    ],
)
def test_a_changed_number_date_or_amount_is_unsupported(line: str, detail: str) -> None:
    problem = point_support(line, [TALKS])
    assert problem is not None and problem.reason == "number" and problem.detail == detail


def test_quantities_normalise_words_dates_money_and_percentages() -> None:
    assert quantities("two") == quantities("2") == {2.0}
    assert quantities("Feb. 17") == quantities("February 17") == quantities("17th of February") == {(2, 17)}
    assert quantities("$3 billion") == quantities("3bn") == {3e9}
    assert quantities("12%") == quantities("12 percent") == {12.0}
    assert quantities("one of the talks") == set()  # "one" alone is a word, not a figure


# ---------------------------------------------------------------- names


def test_a_name_missing_from_the_citations_is_unsupported() -> None:
    problem = point_support("Twelve delegates will meet in Vienna on Feb. 17.", [TALKS])
    assert problem is not None and (problem.reason, problem.detail) == ("name", "Vienna is not in them")


def test_an_acronym_of_a_cited_name_and_an_alias_the_source_gives_are_supported() -> None:
    cited = "The United Nations said Rubio would attend."
    assert reason("The UN said Rubio would attend.", cited) is None
    aliases = name_aliases(["Marco Rubio arrived on Monday.", cited])
    assert point_support("The UN said Marco Rubio would attend.", [cited], aliases) is None
    assert reason("The UN said Marco Rubio would attend.", cited) == "name"


def test_a_person_is_supported_by_their_surname_and_a_supported_role() -> None:
    cited = ["Secretary of State Marco Rubio met Sergei Lavrov."]
    assert person_support("Marco Rubio", "Secretary of State", cited) is None
    missing = person_support("Angela Merkel", None, cited)
    assert missing is not None and missing.reason == "name"
    wrong_role = person_support("Marco Rubio", "Chancellor of Germany", cited)
    assert wrong_role is not None and wrong_role.reason == "name"  # "Germany" is in no citation


# ---------------------------------------------------------------- negation


@pytest.mark.parametrize(
    ("line", "cited", "expected"),
    [
        ("Twelve delegates from each side will not meet in Geneva on Feb. 17.", TALKS, "negation"),
        ("Russia attended the talks in Geneva.", SKIPPED, "negation"),
        ("Russia didn't attend the Geneva talks.", SKIPPED, None),
        ("Russia never attended the talks in Geneva.", SKIPPED, None),
        ("The ministry said Russian troops had crossed the border.", DENIAL, "negation"),
        ("The ministry denied Russian troops crossed the border.", DENIAL, None),
    ],
)
def test_negation_must_match(line: str, cited: str, expected: str | None) -> None:
    assert reason(line, cited) == expected


def test_a_negation_elsewhere_in_the_sentence_does_not_flag_an_affirmed_part() -> None:
    cited = "The talks will continue in Riyadh, but no date has been set."
    assert reason("The talks will continue in Riyadh.", cited) is None


def test_a_line_sharing_too_few_words_is_unsupported_for_its_content() -> None:
    assert reason("Bananas ripen faster in warm weather.", TALKS) == "content"


# ---------------------------------------------------------------- citations and counts


def numbered(*texts: str, source: str = "S1") -> list[Sentence]:
    sentences, start = [], 0
    for number, text in enumerate(texts, start=1):
        sentences.append(Sentence(source, number, start, start + len(text), text))
        start += len(text) + 1
    return sentences


def test_citations_resolve_only_to_sentences_shown() -> None:
    shown = shown_sentences(numbered(TALKS, SKIPPED))
    assert parse_ref("[S1:2]") == ("S1", 2) and parse_ref("S1") is None
    assert resolve(["S1:2", "S1:9", "S2:1", "bogus", "S1:2"], shown) == [("S1", 2)]


def test_items_citing_nothing_real_are_dropped_and_differences_need_two_sources() -> None:
    sentences = {"S1": numbered(TALKS), "S2": numbered(SKIPPED, source="S2")}
    template = load_template("policy")
    kept, report = keep_cited(
        [Finding("agenda", "Talks.", [("S1", 1), ("S1", 5)]), Finding("agenda", "Gone.", [("S3", 1)])],
        sentences,
        template,
    )
    assert [f.refs for f in kept] == [[("S1", 1)]] and report.items_dropped == 1
    different = keep_differences(
        [
            Finding("differences", "Place.", [("S1", 1), ("S2", 1)]),
            Finding("differences", "One.", [("S1", 1)]),
        ],
        sentences,
        report,
    )
    assert len(different) == 1 and report.items_dropped == 2


def test_a_finding_whose_citations_all_stand_keeps_its_own_list() -> None:
    # A long input has a finding per person named: a new list for each is memory for nothing.
    sentences = {"S1": numbered(TALKS, SKIPPED)}
    whole = [("S1", 1), ("S1", 2)]
    doubled = [("S1", 2), ("S1", 2), ("S1", 9)]
    kept, _ = keep_cited(
        [Finding("agenda", "Talks.", whole), Finding("agenda", "Again.", doubled)],
        sentences,
        load_template("policy"),
    )
    assert kept[0].refs is whole and whole == [("S1", 1), ("S1", 2)]
    assert kept[1].refs == [("S1", 2)] and doubled == [("S1", 2), ("S1", 2), ("S1", 9)]


def test_support_is_checked_and_counted_by_reason() -> None:
    sentences = {"S1": numbered(TALKS, SKIPPED)}
    findings = [
        Finding("agenda", "Twelve delegates will meet in Geneva on Feb. 17.", [("S1", 1)]),
        Finding("agenda", "Twenty delegates will meet in Geneva.", [("S1", 1)]),
        Finding("agenda", "Russia attended the talks in Geneva.", [("S1", 2)]),
        Finding("participants", "Angela Merkel", [("S1", 1)], name="Angela Merkel"),
    ]
    check_support(findings, sentences)
    assert [f.supported for f in findings] == [True, False, False, False]
    report = Verification()
    count_unsupported(findings, report)
    assert report.items_unsupported == 3
    assert report.unsupported_by_reason == {"number": 1, "name": 1, "negation": 1}


def test_a_citation_that_does_not_quote_its_sentence_fails_loudly() -> None:
    sentences = {"S1": numbered(TALKS)}
    good = Section(
        key="agenda",
        title="Agenda",
        items=[Item(text="x", citations=[Citation(source="S1", sentence=1, quote=TALKS)])],
    )
    assert check_citations([good], sentences) == 1
    bad = Section(
        key="agenda",
        title="Agenda",
        items=[Item(text="x", citations=[Citation(source="S1", sentence=1, quote="Twelve")])],
    )
    with pytest.raises(RunError, match="does not quote its sentence"):
        check_citations([bad], sentences)


# ---------------------------------------------------------------- end to end


def test_distort_changes_numbers_and_adds_a_negation() -> None:
    assert distort("Talks are set between the 2 countries on Feb. 17.") == (
        "Talks are not set between the 27 countries on Feb. 177."
    )


def distorted_brief(*args: str, negate: bool = True, renumber: bool = True) -> dict[str, Any]:
    with ScriptedServer(distorting(negate, renumber)) as server:
        result = run_brief(str(SEED), "--base-url", server.url, "--format", "json", "--no-cache", *args)
    assert result.returncode == 0, result.stderr
    brief: dict[str, Any] = json.loads(result.stdout)
    return brief


def points(brief: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for section in brief["sections"] for item in section["items"] if "name" not in item]


def test_a_server_that_negates_and_renumbers_its_sentences_is_caught() -> None:
    brief = distorted_brief()
    flagged = points(brief)
    assert flagged and all(item["supported"] is False for item in flagged)
    reasons = {item["unsupported"]["reason"] for item in flagged}
    assert reasons <= {"number", "negation"} and "negation" in reasons
    assert brief["verification"]["items_unsupported"] >= len(flagged)
    by_reason = brief["verification"]["unsupported_by_reason"]
    assert sum(by_reason.values()) == brief["verification"]["items_unsupported"]


def test_a_server_that_only_renumbers_is_caught_for_numbers() -> None:
    brief = distorted_brief(negate=False)
    with_numbers = [
        item for item in points(brief) if any(ch.isdigit() for ch in item["citations"][0]["quote"])
    ]
    assert with_numbers and all(item["unsupported"]["reason"] == "number" for item in with_numbers)
    unchanged = [
        item for item in points(brief) if not any(ch.isdigit() for ch in item["citations"][0]["quote"])
    ]
    assert all(item["supported"] is True for item in unchanged)


def test_strict_leaves_unsupported_items_out_and_still_counts_them() -> None:
    brief = distorted_brief("--strict")
    assert points(brief) == []
    assert brief["verification"]["items_unsupported"] > 0
    people = [item for section in brief["sections"] for item in section["items"] if "name" in item]
    assert people and all(item["supported"] is True for item in people)


def test_unsupported_items_are_flagged_in_markdown_and_html() -> None:
    with ScriptedServer(distorting()) as server:
        markdown = run_brief(str(SEED), "--base-url", server.url, "--format", "markdown", "--no-cache")
        html = run_brief(str(SEED), "--base-url", server.url, "--format", "html", "--no-cache")
    assert markdown.stdout.count("_(not supported by its citations)_") >= 2
    assert 'class="unsupported" title="negation: it negates what they affirm"' in html.stdout
