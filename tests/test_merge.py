"""Unit tests by module on small hand-made sentences: merge, people and differences."""

from __future__ import annotations

from briefer.differences import candidate_pairs, find_differences
from briefer.findings import Finding
from briefer.merge import merge, merge_people, merge_points
from briefer.people import clean_name, role_for, same_person
from briefer.sentences import split_sentences
from briefer.sources import Source
from briefer.templates import load_template

ORDER = {"S1": 0, "S2": 1}


def sources(*texts: str) -> dict[str, list]:  # type: ignore[type-arg]
    return split_sentences(
        [Source(id=f"S{i}", path=f"s{i}.txt", title=f"s{i}", text=t) for i, t in enumerate(texts, start=1)]
    )


# ---------------------------------------------------------------- merge


def _roles(text: str) -> dict[str, str | None]:
    """Each person's role in `text`, by the name as spaCy found it."""
    return {e.text: role_for(s, e) for s in sources(text)["S1"] for e in s.entities if e.label == "PERSON"}


def test_the_same_point_from_two_sources_is_one_item_citing_both() -> None:
    found = [
        Finding("agenda", "The talks will resume in Riyadh next week.", [("S1", 2)], score=2.0),
        Finding("agenda", "The talks will resume in Riyadh next week!", [("S2", 5)], score=1.0),
        Finding("agenda", "Sanctions stay in place.", [("S2", 1)], score=1.5),
    ]
    merged = merge_points(found, ORDER)
    assert [(f.text, f.refs) for f in merged] == [
        ("The talks will resume in Riyadh next week.", [("S1", 2), ("S2", 5)]),
        ("Sanctions stay in place.", [("S2", 1)]),
    ]


def test_points_with_different_numbers_are_not_merged() -> None:
    found = [
        Finding("agenda", "Twelve delegates from each side will attend the talks.", [("S1", 1)]),
        Finding("agenda", "Ten delegates from each side will attend the talks.", [("S2", 1)]),
    ]
    assert len(merge_points(found, ORDER)) == 2


def test_a_surname_joins_the_full_name_and_the_most_specific_role_wins() -> None:
    people = [
        Finding("p", "Rubio", [("S2", 3)], name="Rubio", role="Secretary"),
        Finding("p", "Marco Rubio", [("S1", 1)], name="Marco Rubio", role="U.S. Secretary of State"),
        Finding("p", "Sergei Lavrov", [("S1", 2)], name="Sergei Lavrov"),
    ]
    merged = merge_people(people, ORDER)
    assert [(f.name, f.role, f.refs) for f in merged] == [
        ("Marco Rubio", "U.S. Secretary of State", [("S1", 1), ("S2", 3)]),
        ("Sergei Lavrov", None, [("S1", 2)]),
    ]


def test_each_quoted_sentence_goes_to_one_section_only() -> None:
    template = load_template("policy")
    sentences = sources(
        "Rubio met Lavrov in Riyadh to open talks on Ukraine. European leaders were not invited."
    )
    shared = ("S1", 1)
    found = [
        Finding("agenda", "Rubio met Lavrov in Riyadh to open talks on Ukraine.", [shared], score=3.0),
        Finding(
            "open_questions", "Rubio met Lavrov in Riyadh to open talks on Ukraine.", [shared], score=1.0
        ),
    ]
    sections = {s.key: s for s in merge(found, sentences, template, ["S1"], verbatim=True)}
    assert len(sections["agenda"].items) == 1 and sections["open_questions"].items == []


# ---------------------------------------------------------------- people


def test_names_are_cleaned_and_surnames_match_full_names() -> None:
    assert clean_name("Mr. Lavrov's") == "Lavrov"
    assert clean_name("NATO") is None
    assert same_person("Khan", "Mohammed Sidique Khan")
    assert same_person("Sidique Khan", "Mohammed Sidique Khan")
    assert not same_person("Imran Khan", "Mohammed Sidique Khan")


def test_one_name_in_two_spellings_is_one_person_and_alike_names_of_two_people_stay_two() -> None:
    # transliterations: the same sound, or one letter apart; the full names must agree word by word
    assert same_person("Viktor Yanukovich", "Viktor Yanukovych")
    assert same_person("Arseny Yatseniuk", "Arseniy Yatsenyuk")
    assert same_person("Shehzad Tanweer", "Shahzad Tanweer")
    assert same_person("V. Yanukovich", "Viktor Yanukovych")
    assert not same_person("Dmitry Peskov", "Dmitry Petkov")
    assert not same_person("Kim Jong Un", "Kim Jong Il")
    assert not same_person("Sergei Lavrov", "Svetlana Lavrova")
    assert not same_person("S. Lavrov", "Svetlana Lavrova")  # a feminine form is another person
    assert not same_person("Yanukovich", "Viktor Yanukovych")  # a surname alone must be spelled the same
    people = [
        Finding("p", "Viktor Yanukovych", [("S1", 1)], name="Viktor Yanukovych", role="President"),
        Finding("p", "Viktor Yanukovich", [("S2", 2)], name="Viktor Yanukovich"),
        Finding("p", "Yanukovich", [("S2", 4)], name="Yanukovich"),  # joins through S2's spelling
        Finding("p", "Dmitry Peskov", [("S1", 3)], name="Dmitry Peskov"),
        Finding("p", "Dmitry Petkov", [("S2", 5)], name="Dmitry Petkov"),
    ]
    merged = merge_people(people, ORDER)
    assert [(f.name, f.role, f.refs) for f in merged] == [
        ("Viktor Yanukovych", "President", [("S1", 1), ("S2", 2), ("S2", 4)]),
        ("Dmitry Peskov", None, [("S1", 3)]),
        ("Dmitry Petkov", None, [("S2", 5)]),
    ]


def test_a_role_is_read_from_the_words_around_a_name() -> None:
    roles = _roles("Secretary of State Marco Rubio met Yuri Ushakov, a foreign policy adviser to Putin.")
    assert roles["Marco Rubio"] == "Secretary of State"
    assert roles["Yuri Ushakov"] == "foreign policy adviser to Putin"


def test_a_title_ends_where_a_whole_title_follows_of_and_an_apposition_is_a_noun_phrase() -> None:
    roles = _roles(
        "Representatives of Treasury Secretary Steven Mnuchin met Minister of Foreign Affairs Anna Berg. "
        "Belgian Foreign Minister Didier Reynders, during the council of foreign ministers, said so."
    )
    assert roles == {
        "Steven Mnuchin": "Treasury Secretary",
        "Anna Berg": "Minister of Foreign Affairs",
        "Didier Reynders": "Belgian Foreign Minister",
    }


def test_a_hyphenated_title_is_one_title() -> None:
    roles = _roles("UN Secretary-General Antonio Guterres spoke first.")
    assert roles == {"Antonio Guterres": "UN Secretary-General"}


def test_an_honorific_between_title_and_name_is_neither_the_role_nor_its_end() -> None:
    roles = _roles("Police commissioner Sir Ian Blair spoke first. Prime Minister Mr. Tony Blair spoke next.")
    assert roles == {"Ian Blair": "Police commissioner", "Tony Blair": "Prime Minister"}


def test_a_rank_after_a_role_in_lower_case_is_not_part_of_the_role() -> None:
    roles = _roles(
        "Pentagon spokesman Captain Jeff Davis said the drill was routine. "
        "NSA commander Gen. Keith Alexander defended the program. U.S. District Judge Ann Donnelly ruled."
    )
    assert roles == {
        "Jeff Davis": "Pentagon spokesman",
        "Keith Alexander": "NSA commander",
        "Ann Donnelly": "U.S. District Judge",  # one title, capitalised throughout: kept whole
    }


# ---------------------------------------------------------------- differences


def test_a_number_two_sources_give_differently_is_a_difference_citing_both() -> None:
    sentences = sources(
        "At least 52 people were killed in the bombings on Thursday, police said.",
        "The bombings on Thursday killed 56 people, police said.",
    )
    assert candidate_pairs(sentences)
    assert find_differences(sentences) == []  # "at least 52" is hedged: it does not disagree with 56
    sentences = sources(
        "Police said 52 people were killed in the London bombings.",
        "Police said 56 people were killed in the London bombings.",
    )
    found = find_differences(sentences)
    assert [(f.text, f.refs) for f in found] == [
        ("People killed: 52 according to S1, 56 according to S2", [("S1", 1), ("S2", 1)])
    ]


def test_the_same_number_in_words_and_digits_is_no_difference() -> None:
    sentences = sources(
        "26 people were killed in the London bombings, police said.",
        "Twenty-six people were killed in the London bombings, police said.",
    )
    assert find_differences(sentences) == []


def test_a_place_within_the_other_is_no_difference() -> None:
    within = sources(
        "The winter games were held in Turin, Italy, in February, organisers said.",
        "The winter games were held in Italy in February, organisers said.",
    )
    assert find_differences(within) == []
    elsewhere = sources(
        "The winter games were held in Turin in February, organisers said.",
        "The winter games were held in Oslo in February, organisers said.",
    )
    assert [f.text for f in find_differences(elsewhere)] == [
        "Place (held): Turin according to S1, Oslo according to S2"
    ]
