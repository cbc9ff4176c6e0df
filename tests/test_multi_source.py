"""Several sources in one brief: one entry per person, merged points, where sources differ, the sources table."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from briefer.chunking import Chunk
from briefer.engines.extractive import ExtractiveEngine, _people
from briefer.numbers import parse_day, parse_number
from briefer.people import same_person
from briefer.sentences import Entity, split_sentences
from briefer.sources import Source
from briefer.templates import load_template
from tests.conftest import assert_citations_grounded, brief_json, items_of, run_brief


def _sources(folder: Path, **texts: str) -> list[str]:
    paths = []
    for name, text in texts.items():
        path = folder / f"{name}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    return paths


def _brief(tmp_path: Path, *options: str, **texts: str) -> dict[str, Any]:
    brief = brief_json(*_sources(tmp_path, **texts), *options)
    assert_citations_grounded(brief)
    return brief


def test_different_numbers_and_dates_for_the_same_event_are_shown_citing_both(tmp_path: Path) -> None:
    brief = _brief(
        tmp_path,
        wire="The explosion on the Piccadilly line killed 26 people, police said on Friday.\n"
        "The summit of security chiefs will be held on March 3 in Vienna.\n",
        paper="Police said the explosion on the Piccadilly line killed 27 people.\n"
        "The security chiefs will hold the summit in Vienna on March 5, officials said.\n",
    )
    differences = {d["text"]: d for d in brief["differences"]}
    assert set(differences) == {
        "People killed: 26 according to S1, 27 according to S2",
        "Date (held): March 3 according to S1, March 5 according to S2",
    }
    for difference in differences.values():
        assert [c["source"] for c in difference["citations"]] == ["S1", "S2"]
    people_killed = differences["People killed: 26 according to S1, 27 according to S2"]
    assert "26 people" in people_killed["citations"][0]["quote"]
    assert "27 people" in people_killed["citations"][1]["quote"]


def test_the_same_fact_in_different_words_is_no_difference(tmp_path: Path) -> None:
    brief = _brief(
        tmp_path,
        wire="The explosion on the Piccadilly line killed 26 people, police said on Friday.\n"
        "The summit of security chiefs will be held on March 3 in Vienna.\n",
        paper="Twenty-six people were killed by the explosion on the Piccadilly line, police said.\n"
        "Security chiefs will hold their summit in Vienna on 3 March.\n",
        blog="More than 20 people were killed in the explosion on the Piccadilly line.\n",
    )
    assert brief["differences"] == []


def test_unrelated_numbers_are_not_compared(tmp_path: Path) -> None:
    brief = _brief(
        tmp_path,
        one="The explosion on the Piccadilly line killed 26 people, police said on Friday.\n",
        two="The storm in Florida killed 3 people and cut power to thousands of homes.\n",
    )
    assert brief["differences"] == []


def test_where_sources_differ_renders_in_terminal_and_markdown(tmp_path: Path) -> None:
    paths = _sources(
        tmp_path,
        wire="The explosion on the Piccadilly line killed 26 people, police said on Friday.\n",
        paper="Police said the explosion on the Piccadilly line killed 27 people.\n",
    )
    terminal = run_brief(*paths, "--plain", env={"COLUMNS": "200"}).stdout
    assert "\nWhere sources differ\n" in terminal
    assert "• People killed: 26 according to S1, 27 according to S2 [S1:1] [S2:1]" in terminal
    markdown = run_brief(*paths, "--format", "markdown").stdout
    assert (
        "## Where sources differ\n\n- People killed: 26 according to S1, 27 according to S2[^S1-1][^S2-1]"
        in markdown
    )
    single = run_brief(paths[0], "--format", "markdown").stdout
    assert "Where sources differ" not in single  # one source cannot disagree with itself


def test_one_person_one_entry_across_sources_with_the_most_specific_role(tmp_path: Path) -> None:
    brief = _brief(
        tmp_path,
        a="British Prime Minister Tony Blair met the families of the victims on Monday.\n",
        b="Mr Blair said the inquiry would report within a year.\n",
        c="Prime Minister Tony Blair told parliament the attacks would not change British policy.\n",
    )
    people = items_of(brief, "participants")
    blair = [p for p in people if "Blair" in p["name"]]
    assert len(blair) == 1
    assert blair[0]["name"] == "Tony Blair"
    assert blair[0]["role"] == "British Prime Minister"
    assert [c["source"] for c in blair[0]["citations"]] == ["S1", "S2", "S3"]
    assert blair[0]["sources"] == 3


def test_the_last_names_of_a_full_name_are_the_same_person(tmp_path: Path) -> None:
    brief = _brief(
        tmp_path,
        a="Police named Mohammed Sidique Khan as one of the four bombers on Thursday.\n",
        b="Sidique Khan and two others met at Luton station that morning.\n",
        c="Neighbours said Khan had worked as a teaching assistant.\n",
    )
    khan = [p for p in items_of(brief, "participants") if "Khan" in p["name"]]
    assert [(p["name"], [c["source"] for c in p["citations"]]) for p in khan] == [
        ("Mohammed Sidique Khan", ["S1", "S2", "S3"])
    ]
    assert not same_person("Anna Khan", "Mohammed Sidique Khan")  # another first name is another person
    assert not same_person("Sidique Khan", "Mohammed Khan")


def test_a_point_made_by_several_sources_is_one_item_citing_each(tmp_path: Path) -> None:
    point = "It remains unclear whether the talks will resume before the summer."
    brief = _brief(
        tmp_path,
        a=f"Foreign Minister Anna Berg met Prime Minister Jonas Dahl in Geneva.\n{point}\n",
        b=f"Delegations left Geneva on Tuesday.\n{point}\n",
        c=f"{point.replace('It remains unclear', 'It is still unclear')}\nOfficials declined to comment.\n",
    )
    questions = [i for i in items_of(brief, "open_questions") if "unclear whether the talks" in i["text"]]
    assert len(questions) == 1
    assert sorted(c["source"] for c in questions[0]["citations"]) == ["S1", "S2", "S3"]
    assert questions[0]["sources"] == 3
    terminal = run_brief(
        *(str(tmp_path / f"{n}.txt") for n in "abc"), "--plain", env={"COLUMNS": "200"}
    ).stdout
    # S3 opens with the point (its lede), so its wording is the item's, cited first
    assert (
        "It is still unclear whether the talks will resume before the summer. (3 sources) [S3:1] [S1:2] [S2:2]"
        in terminal
    )


def test_sources_table_lists_title_length_and_how_many_items_cite_each(tmp_path: Path) -> None:
    paths = _sources(
        tmp_path,
        a="# Talks in Geneva\n\nForeign Minister Anna Berg met Prime Minister Jonas Dahl in Geneva to discuss trade.\n",
        b="# Quiet day\n\nNothing happened in the capital.\n",
    )
    brief = brief_json(*paths)
    by_id = {s["id"]: s for s in brief["sources"]}
    assert by_id["S1"]["items"] >= 2 and by_id["S2"]["items"] == 0
    assert by_id["S1"]["chars"] == len(Path(paths[0]).read_text(encoding="utf-8"))
    markdown = run_brief(*paths, "--format", "markdown").stdout
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    cells = [t.children[0].content for t in tokens if t.type == "inline" and t.map and t.children]
    header = ["Source", "Date", "Length", "Cited by"]
    assert all(h in cells for h in header)
    assert f"{by_id['S1']['items']} items" in cells and "0 items" in cells
    terminal = run_brief(*paths, "--plain", env={"COLUMNS": "200"}).stdout
    assert "Talks in Geneva" in terminal and f"{by_id['S1']['chars']} chars" in terminal


def test_number_and_date_parsing() -> None:
    assert [parse_number(t) for t in ["52", "1,200", "3.5 million", "fifty-two", "£20m", "seven"]] == [
        52,
        1200,
        3_500_000,
        52,
        20_000_000,
        7,
    ]
    assert parse_number("hundreds") is None and parse_number("two weeks") is None
    assert {parse_day(t) for t in ["July 7", "7 July", "7th of July", "Jul. 7"]} == {(7, 7)}
    assert parse_day("Thursday") is None and parse_day("2005") is None


def test_a_title_in_a_list_of_people_is_not_the_first_persons_role(tmp_path: Path) -> None:
    brief = _brief(
        tmp_path,
        gala="The gala was hosted by Mihai Albu, former Foreign Affairs Minister Mircea Geoana and the "
        "soprano Mariana Nicolesco.\nYuri Ushakov, a foreign policy adviser to Putin, also attended.\n",
    )
    roles = {p["name"]: p.get("role") for p in items_of(brief, "participants")}
    # Had Albu been given Geoana's title he would be listed with it; without a role, named once, he is not.
    assert "Mihai Albu" not in roles
    assert roles["Mircea Geoana"] == "former Foreign Affairs Minister"
    assert roles["Yuri Ushakov"] == "foreign policy adviser to Putin"


def test_a_capitalised_common_word_is_not_a_person() -> None:
    text = (
        "Tsunami relief reached the coast on Monday, Red Cross spokesman Paul Conneally said.\n"
        "The tsunami destroyed thousands of homes along the coast.\n"
    )
    # A source's sentences are a read-only table: a list of them to change one.
    sentences = list(split_sentences([Source(id="S1", path="news.txt", title="news", text=text)])["S1"])
    # Make NER's mistake on purpose, as the small model does on real WikiNews text: "Tsunami" as a PERSON.
    first = sentences[0]
    wrong = [replace(e, label="PERSON") if e.text == "Tsunami" else e for e in first.entities]
    if not any(e.text == "Tsunami" for e in wrong):
        wrong.append(Entity("PERSON", first.start, first.start + len("Tsunami"), "Tsunami"))
    sentences[0] = replace(first, entities=tuple(wrong))
    template = load_template("policy")
    chunk = Chunk("S1", 0, tuple(sentences), 40)
    engine = ExtractiveEngine()
    engine.extract(chunk, template)  # keeps the people named for `reduce`, which lists them
    reduced = engine.reduce([], template, {"S1": sentences}, ["S1"])
    names = [f.name for f in reduced.items if f.name]
    assert "Tsunami" not in names
    assert "Paul Conneally" in names
    # `reduce` would leave out a word said once with no role anyway: it is not even a mention
    assert [name for _, name, _ in _people(sentences)] == ["Paul Conneally"]


def test_a_name_said_once_with_nothing_about_who_it_is_is_not_a_participant(tmp_path: Path) -> None:
    brief = _brief(
        tmp_path,
        a="By Julia Marsh\nForeign Minister Anna Berg met the mediators in Geneva on Monday.\n"
        "Berg said the talks would resume in March.\n",
        b="Negotiator Tomas Lind said both sides had agreed to a ceasefire.\n"
        "The talks were held at the villa of Peter Holm, who left before they began.\n",
    )
    people = {p["name"]: p for p in items_of(brief, "participants")}
    # named twice, or once with a role: listed; a byline and a passing mention: not
    assert set(people) == {"Anna Berg", "Tomas Lind"}
    assert people["Tomas Lind"]["role"] == "Negotiator"


def test_sources_that_share_few_words_each_make_a_point(tmp_path: Path) -> None:
    # One story told from three sides in different words: only "across Cuba" is said twice.
    brief = _brief(
        tmp_path,
        "-t",
        "executive",
        wire="Thousands of Cubans marched through Havana on Sunday to demand an end to the dictatorship.\n"
        "Police detained dozens of marchers near the Capitol building.\n",
        paper="For months the refrain across Cuba has been a question about how much longer.\n"
        "Shortages of food and medicine have worsened since the pandemic began.\n",
        opinion="The protests that broke out across Cuba last weekend show that the government lacks "
        "legitimacy.\nWashington said it stood with the Cuban people.\n",
    )
    points = items_of(brief, "key_points")
    assert {c["source"] for p in points for c in p["citations"]} == {"S1", "S2", "S3"}
    assert len(points) == 3  # and no more: points are added only while there are fewer than sources
