"""The offline engine's choice of points, on small hand-made sources: what several sources say
comes first and is said once, sections that one source alone speaks to still get a point, and
lines that are not statements (credit lines, date lines, cut-off teasers, a source's own title)
never become points."""

from __future__ import annotations

from typing import Any

import pytest

from briefer import make_brief
from briefer.brief import Brief
from briefer.chunking import Chunk
from briefer.engines.extractive import ExtractiveEngine, _can_be_point, _named_enough, _people
from briefer.findings import Finding
from briefer.sentences import split_sentences
from briefer.sources import Source
from briefer.templates import load_template


def _brief(template: str, *texts: str, titles: tuple[str, ...] = ()) -> Brief:
    sources = [
        Source(id=f"S{i}", path=f"s{i}.txt", title=titles[i - 1] if titles else f"s{i}", text=text)
        for i, text in enumerate(texts, start=1)
    ]
    return make_brief(sources, load_template(template), ExtractiveEngine())


def _points(brief: Brief) -> list[tuple[str, str, list[tuple[str, int]]]]:
    return [
        (section.key, item.text, [(c.source, c.sentence) for c in item.citations])
        for section in brief.sections
        if section.key != "actors" and section.key != "participants"
        for item in section.items
    ]


WIRE = (
    "Officials announced on Monday that rescue teams had reached the flooded valley near Tarvo.\n"
    "The local bakery was closed for a family holiday.\n"
    "Forecasters warned that more rain could threaten the dam above the valley.\n"
)
PAPER = (
    "Rescue teams reached the flooded valley near Tarvo on Monday, officials announced.\n"
    "A new school opened in the capital after two years of building work.\n"
    "More rain could threaten the dam, forecasters warned.\n"
)
RADIO = (
    "Rescue teams have reached the flooded valley near Tarvo, officials said.\n"
    "The football season was suspended for unrelated reasons.\n"
)


def test_what_several_sources_report_is_one_point_citing_each_and_comes_first() -> None:
    points = _points(_brief("sitrep", WIRE, PAPER, RADIO))
    section, text, refs = points[0]
    assert section == "what_happened" and "rescue teams" in text.lower()
    assert {source for source, _ in refs} == {"S1", "S2", "S3"}  # one item, every source cited
    rescue = [p for p in points if "flooded valley" in p[1]]
    assert len(rescue) == 1  # not repeated in another section or from another source
    dam = [p for p in points if "dam" in p[1]]
    assert len(dam) == 1 and {s for s, _ in dam[0][2]} == {"S1", "S2"}
    # What a single source says in passing is not what the brief is about: at most the one point
    # of a section that nothing shared fits.
    asides = [p for p in points if any(word in p[1] for word in ("bakery", "school", "football"))]
    for section, _, _ in asides:
        assert [p for p in points if p[0] == section] == [p for p in asides if p[0] == section]
        assert len([p for p in asides if p[0] == section]) == 1


def test_a_section_only_one_source_speaks_to_still_gets_its_best_point() -> None:
    reaction = "The European Commission welcomed the agreement and offered to host the next round.\n"
    brief = _brief(
        "policy",
        "Negotiators agreed on a ceasefire in Geneva on Tuesday after two days of talks.\n",
        "Negotiators agreed on a ceasefire in Geneva after two days of talks.\n" + reaction,
    )
    european = next(s for s in brief.sections if s.key == "european_reaction")
    assert [item.text for item in european.items] == [reaction.strip()]


def test_credit_lines_date_lines_teasers_and_titles_are_never_points() -> None:
    title = "Floods cut off the valley near Tarvo"
    lines = [
        title,
        "Associated Press",
        "Tuesday, July 7, 2009",
        "Officials announced that rescue teams had reached the flooded valley near Tarvo on Monday.",
        "France on Thursday reacted with outrage to the announcement that the...",
        "Rescue teams warned of more rain... (Associated Press)",
    ]
    other = (
        "Rescue teams reached the flooded valley near Tarvo on Monday, officials announced.\n\n"
        '"The valley near Tarvo has never flooded like this, and the rain goes on.\n'
        'We will stay until everyone is safe," the rescue chief said.\n\n'
        "“Rescue teams reached the flooded valley near Tarvo before dawn.\n"
        "Nobody there was hurt,” an official said.\n"
    )
    for template in ("executive", "sitrep"):
        points = _points(_brief(template, "\n".join(lines) + "\n", other, titles=(title, "Other")))
        texts = [text for _, text, _ in points]
        assert texts, template
        assert not any(t in {title, "Associated Press", "Tuesday, July 7, 2009"} for t in texts)
        assert not any(t.endswith("...") or "...(" in t or "... (" in t for t in texts)
        # the first half of a quotation, whose speaker only the next sentence names
        assert not any(t.startswith(('"', "“")) for t in texts)
        assert any("rescue teams" in t.lower() for t in texts)


def test_a_photo_caption_is_never_a_point_but_a_sentence_with_its_date_inside_is() -> None:
    caption = (
        "Rescue workers carry a child through the flooded valley near Tarvo, Ruritania, Monday, July 6, 2009."
    )
    dated = "Rescue teams reached the flooded valley near Tarvo on July 6, 2009, officials announced."
    other = (
        "Officials announced that rescue teams had reached the flooded valley near Tarvo on July 6, 2009.\n"
    )
    for template in ("executive", "sitrep"):
        points = _points(_brief(template, f"{caption}\n{dated}\n", other))
        cited = {ref for _, _, refs in points for ref in refs}
        assert ("S1", 1) not in cited, template  # the caption
        assert ("S1", 2) in cited, template  # the same date inside a sentence of the news


def test_a_sentence_wholly_in_brackets_cannot_be_a_point() -> None:
    text = (
        "(Follow the latest updates on the floods in the valley near Tarvo.)\n"
        "Rescue teams (the army's and the town's) reached the valley near Tarvo.\n"
    )
    split = split_sentences([Source(id="S1", path="s1.txt", title="s1", text=text)])["S1"]
    assert [_can_be_point(s) for s in split] == [False, True]


def test_a_single_source_brief_still_fills_its_sections() -> None:
    brief = _brief("sitrep", WIRE)
    happened = next(s for s in brief.sections if s.key == "what_happened")
    assert happened.items and all(c.source == "S1" for i in happened.items for c in i.citations)


def test_an_engine_used_again_with_another_template_gives_the_same_brief_as_a_new_one() -> None:
    # A library user (or a benchmark) may brief with one engine several times. Each run must
    # forget the last: an earlier template's sections once made the engine drop the run's source
    # titles, so a title became a point.
    title = "Storm cuts power in Tarvo"
    sources = [
        Source(id="S1", path="s1.txt", title=title, text=f"{title}\n{WIRE}"),
        Source(
            id="S2",
            path="s2.txt",
            title="Paper",
            text=PAPER + "The storm cut power in Tarvo on Monday, the utility said.\n",
        ),
    ]
    engine = ExtractiveEngine()
    first = make_brief(sources, load_template("sitrep"), engine)
    make_brief(sources, load_template("executive"), engine)
    again = make_brief(sources, load_template("sitrep"), engine)
    fresh = make_brief(sources, load_template("sitrep"), ExtractiveEngine())
    assert _points(again) == _points(first) == _points(fresh)
    assert title not in [text for _, text, _ in _points(again)]


def test_a_section_gets_a_point_one_source_alone_makes_only_where_it_clearly_fits() -> None:
    # "will" alone is a weak cue for next steps (fit 1 of the section's 2); the sentence got in as a
    # candidate because it is central, but a reader would not call it a next step.
    weak = "The mayor will meet the negotiators in Geneva.\n"
    clear = "The next round of talks is scheduled for March.\n"
    shared = (
        "Negotiators agreed on a ceasefire in Geneva on Tuesday after two days of talks.\n",
        "Negotiators agreed on a ceasefire in Geneva after two days of talks.\n",
    )

    def next_steps(extra: str) -> list[str]:
        brief = _brief("executive", shared[0], shared[1] + extra)
        return [i.text for s in brief.sections if s.key == "next_steps" for i in s.items]

    assert next_steps(clear) == [clear.strip()]
    assert next_steps(weak) == []


def test_point_rows_give_back_each_candidate_with_its_text_fit_and_terms_in_the_order_found() -> None:
    """`extract` keeps a row per (sentence, section) that may be a point; `reduce` takes those that
    pass its gate and makes a finding of a row when it reads one. A piece of a sentence cut to fit a
    chunk keeps the piece's text."""
    from dataclasses import replace

    from briefer.engines.extractive import _PointRows

    sentences = split_sentences([Source(id="S1", path="s1.txt", title="s1", text=WIRE)])
    first, second, third = sentences["S1"]
    piece = replace(first, end=first.start + 30, text=first.text[:30])  # as chunking cuts one
    rows = _PointRows()
    rows.add("agenda", first, 2.5, ())
    rows.add("outlook", third, 0.25, [("dam above", "dam over")])
    rows.add("outlook", first, 1.0, ())
    rows.add("agenda", piece, 3.0, ())
    rows.add("agenda", second, 0.5, ())
    passing = rows.passing(lambda section, ref, score: ref != ("S1", 2))
    assert list(passing) == [0, 1, 2, 3]
    found = [rows.finding(row, sentences) for row in passing]
    assert [(f.section, f.text, f.refs, f.score, f.fit, list(f.terms)) for f in found] == [
        ("agenda", first.text, [("S1", 1)], 2.5, 2.5, []),
        ("outlook", third.text, [("S1", 3)], 0.25, 0.25, [("dam above", "dam over")]),
        ("outlook", first.text, [("S1", 1)], 1.0, 1.0, []),
        ("agenda", first.text[:30].rstrip(), [("S1", 1)], 3.0, 3.0, []),
    ]
    assert [(rows.section(row), rows.ref(row), rows.score(row)) for row in (1, 4)] == [
        ("outlook", ("S1", 3), 0.25),
        ("agenda", ("S1", 2), 0.5),
    ]
    gated = rows.passing(lambda section, ref, score: section == "outlook" and score > 0.5)
    assert list(gated) == [2]


def test_one_word_no_source_gives_a_role_or_a_full_name_is_a_participant_only_when_it_speaks() -> None:
    text = (
        "The Musudan uses the same engine as the missile tested last year.\n"
        "The Musudan failed again on Friday.\n"
        "The talks will resume in March, Kellogg stated.\n"
        "Kellogg met the envoys in Geneva.\n"
        "Anna Berg met the envoys in Geneva.\n"
        "Anna Berg left on Friday.\n"
    )
    sentences = split_sentences([Source(id="S1", path="s1.txt", title="s1", text=text)])

    def named(name: str, *numbers: int) -> list[Finding]:
        return [Finding("participants", name, [("S1", n)], name=name) for n in numbers]

    people = named("Musudan", 1, 2) + named("Kellogg", 3, 4) + named("Anna Berg", 5, 6)
    kept = _named_enough(people, {"S1": 0}, sentences)
    assert sorted({f.name for f in kept}) == ["Anna Berg", "Kellogg"]


def test_a_caption_is_told_from_news_by_its_present_tense_or_its_weekday_and_date_after_a_comma() -> None:
    text = (
        "A protester stands inside the seized building in Kharkiv April 6, 2014.\n"
        "Protesters rally in front of the embassy in Kuala Lumpur, Malaysia, Tuesday, July 22, 2014.\n"
        "The protests began in Kharkiv April 6, 2014.\n"
        "Officials say the talks will resume on April 6, 2014.\n"
    )
    split = split_sentences([Source(id="S1", path="s1.txt", title="s1", text=text)])["S1"]
    assert [_can_be_point(s) for s in split] == [False, False, True, True]


def test_a_hyphenated_given_name_is_read_whole_but_a_compound_is_not_a_name() -> None:
    text = "South Korean President Moon Jae-in met the team. The Putin-led war went on for a year."
    split = split_sentences([Source(id="S1", path="s1.txt", title="s1", text=text)])["S1"]
    assert [(name, role) for _, name, role in _people(split)] == [
        ("Moon Jae-in", "South Korean President"),
        ("Putin", None),
    ]


def test_verdicts_give_back_what_extract_found_of_each_whole_sentence_only() -> None:
    """`extract` keeps whether each sentence may be a point, for `reduce`'s coverage step; a piece
    of a sentence cut to fit a chunk is shorter than the sentence, so no verdict is given for it."""
    from dataclasses import replace

    from briefer.engines.extractive import _Verdicts
    from briefer.sentences import split_sentences

    sentences = split_sentences([Source(id="S1", path="s1.txt", title="s1", text=WIRE + PAPER)])
    numbered = sentences["S1"]
    verdicts = _Verdicts()
    assert verdicts.add(numbered[2], True) is True
    assert verdicts.add(numbered[0], False) is False
    assert [verdicts.get(s) for s in numbered] == [False, None, True, None, None, None]
    assert verdicts.get(sentences["S1"][2]) is True  # the same sentence, read again from its table
    whole = numbered[4]
    verdicts.add(replace(whole, end=whole.start + 30, text=whole.text[:30]), True)
    verdicts.add(replace(whole, start=whole.start + 30, text=whole.text[30:]), False)
    assert verdicts.get(whole) is None
    other = split_sentences([Source(id="S2", path="s2.txt", title="s2", text=WIRE)])["S2"]
    assert verdicts.get(other[2]) is None


def test_reduce_does_not_check_again_the_sentences_extract_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    import briefer.engines.extractive as extractive

    checked: list[str] = []
    real = extractive._can_be_point

    def counting(sentence: Any) -> bool:
        checked.append(sentence.ref)
        return real(sentence)

    monkeypatch.setattr(extractive, "_can_be_point", counting)
    engine = ExtractiveEngine()
    original = engine.reduce

    def reduce(*args: Any) -> Any:
        checked.append("reduce")
        return original(*args)

    monkeypatch.setattr(engine, "reduce", reduce)
    sources = [
        Source(id=f"S{i}", path=f"s{i}.txt", title=f"s{i}", text=text)
        for i, text in enumerate((WIRE, PAPER, RADIO), start=1)
    ]
    brief = make_brief(sources, load_template("policy"), engine)
    assert checked.index("reduce") == 8  # each of the 8 sentences checked once, by extract
    assert checked[8:] == ["reduce"]
    assert _points(brief) == _points(_brief("policy", WIRE, PAPER, RADIO))


def test_people_rows_give_back_each_mention_as_a_finding_in_the_order_found() -> None:
    """`extract` keeps a row per (mention, people section); `reduce` makes them findings, with one
    string per name and role and one citation per sentence, as `extract` once made them."""
    from briefer.engines.extractive import _PeopleRows
    from briefer.sentences import split_sentences

    text = (
        "Foreign Minister Anna Berg met Lars Holm in Oslo on Monday.\nAnna Berg said the talks went well.\n"
    )
    one = split_sentences([Source(id="S1", path="s1.txt", title="s1", text=text)])["S1"]
    two = split_sentences([Source(id="S2", path="s2.txt", title="s2", text=text)])["S2"]
    rows = _PeopleRows()
    for sentence, name, role in [*_people(one), *_people(two)]:
        rows.add("participants", sentence, name, role)
    rows.add("actors", one[1], "Anna Berg", None)
    assert len(rows) == 7
    found = rows.findings()
    assert [(f.section, f.text, f.name, f.role, f.refs, f.score) for f in found] == [
        ("participants", "Anna Berg", "Anna Berg", "Foreign Minister", [("S1", 1)], 1.0),
        ("participants", "Lars Holm", "Lars Holm", None, [("S1", 1)], 1.0),
        ("participants", "Anna Berg", "Anna Berg", None, [("S1", 2)], 1.0),
        ("participants", "Anna Berg", "Anna Berg", "Foreign Minister", [("S2", 1)], 1.0),
        ("participants", "Lars Holm", "Lars Holm", None, [("S2", 1)], 1.0),
        ("participants", "Anna Berg", "Anna Berg", None, [("S2", 2)], 1.0),
        ("actors", "Anna Berg", "Anna Berg", None, [("S1", 2)], 1.0),
    ]
    berg = [f for f in found if f.name == "Anna Berg"]
    assert all(f.name is berg[0].name and f.text is f.name for f in berg)  # one string per name
    assert found[0].role is found[3].role
    assert found[0].refs[0] is found[1].refs[0]  # one citation tuple for a sentence's mentions
    assert found[0].refs is not found[1].refs  # but a list each, as verification may change one
    assert _PeopleRows().findings() == []


def test_extract_keeps_people_for_reduce_which_gives_back_every_mention_of_the_people_listed() -> None:
    """`extract` returns no people; `reduce` lists the mentions given it (another engine's, say)
    first, then those `extract` kept, each in the order found."""
    text = (
        "Foreign Minister Anna Berg met Lars Holm in Oslo on Monday.\nLars Holm said the talks went well.\n"
    )
    sentences = split_sentences([Source(id="S1", path="s1.txt", title="s1", text=text)])
    template = load_template("policy")
    engine = ExtractiveEngine()
    assert engine.extract(Chunk("S1", 0, tuple(sentences["S1"]), 40), template).items == []
    given = [Finding("participants", "Tomas Lind", [("S1", 2)], name="Tomas Lind", role="Negotiator")]
    reduced = engine.reduce(given, template, sentences, ["S1"])
    people = [(f.section, f.name, f.role, f.refs) for f in reduced.items if f.name is not None]
    assert people == [
        ("participants", "Tomas Lind", "Negotiator", [("S1", 2)]),
        ("participants", "Anna Berg", "Foreign Minister", [("S1", 1)]),
        ("participants", "Lars Holm", None, [("S1", 1)]),
        ("participants", "Lars Holm", None, [("S1", 2)]),
    ]
    again = engine.reduce([], template, sentences, ["S1"])  # the rows were used up: a run's people once
    assert [f for f in again.items if f.name is not None] == []


def test_candidates_read_as_sections_and_citations_and_make_a_finding_only_when_asked() -> None:
    """Reduce's candidates: the findings given first, then the rows that passed; kept and sorted
    as numbers, each read as (section, first citation), a finding made on request and pinned to
    one object when reduce changes it."""
    from briefer.engines.extractive import _Candidates, _PointRows

    sentences = split_sentences([Source(id="S1", path="s1.txt", title="s1", text=WIRE)])
    first, second, third = sentences["S1"]
    rows = _PointRows()
    rows.add("agenda", first, 2.0, ())
    rows.add("outlook", second, 3.0, ())
    rows.add("agenda", third, 3.0, ())
    given = Finding("outlook", "Said in other words.", [("S2", 4), ("S2", 5)], score=1.0)
    candidates = _Candidates([given], rows, rows.passing(lambda *_: True), sentences)
    assert list(candidates) == [
        ("outlook", ("S2", 4)),
        ("agenda", ("S1", 1)),
        ("outlook", ("S1", 2)),
        ("agenda", ("S1", 3)),
    ]
    assert len(candidates) == 4 and candidates[-1] == ("agenda", ("S1", 3))
    assert candidates[1:3] == [("agenda", ("S1", 1)), ("outlook", ("S1", 2))]
    with pytest.raises(IndexError):
        candidates[4]
    assert list(candidates.scores()) == [1.0, 2.0, 3.0, 3.0]
    # Keep all but the agenda's first; highest score first, equal scores in the order found.
    candidates.keep_sorted(lambda section, ref, score: ref != ("S1", 1), lambda section, score: (0.0, -score))
    assert list(candidates) == [("outlook", ("S1", 2)), ("agenda", ("S1", 3)), ("outlook", ("S2", 4))]
    assert [candidates.fit(i) for i in range(3)] == [3.0, 3.0, 1.0]
    assert candidates.finding(2) is given and given.fit == 1.0  # a given finding's score is its fit
    made = candidates.finding(0)
    assert (made.section, made.text, made.refs, made.score) == ("outlook", second.text, [("S1", 2)], 3.0)
    assert candidates.finding(0) is not made  # a new one each time: none is kept unless pinned
    pinned = candidates.pin(1)
    pinned.score = 0.5
    assert candidates.pin(1) is pinned and candidates.finding(1) is pinned
    # The first key comes first: a section's claim before the score.
    candidates.keep_sorted(lambda *_: True, lambda section, score: (float(section != "agenda"), score))
    assert list(candidates) == [("agenda", ("S1", 3)), ("outlook", ("S2", 4)), ("outlook", ("S1", 2))]
    assert candidates.finding(0) is pinned  # pinned to its row, wherever sorting takes it
