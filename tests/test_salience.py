"""Salience and coverage on small hand-made sources: what many sources say ranks above what one
says, and coverage does not pick the same content twice."""

from __future__ import annotations

import math

import pytest

from briefer.salience import LEDE_WEIGHT, Coverage, concepts, cover, salience, sentence_vectors
from briefer.sentences import split_sentences
from briefer.sources import Source


def split(*texts: str) -> dict:  # type: ignore[type-arg]
    return split_sentences(
        [Source(id=f"S{i}", path=f"s{i}.txt", title=f"s{i}", text=t) for i, t in enumerate(texts, start=1)]
    )


SOURCES = split(
    "The weather in the capital was mild. Negotiators agreed a ceasefire in Geneva on Tuesday.",
    "A ceasefire was agreed by negotiators in Geneva. The hotel served breakfast early.",
    "In Geneva, negotiators agreed to a ceasefire after long talks. Local shops stayed open.",
)


def test_what_several_sources_say_is_more_salient_than_what_one_says() -> None:
    vectors = sentence_vectors(SOURCES)
    ranked = sorted(salience(SOURCES, vectors).items(), key=lambda item: -item[1])
    top = {ref for ref, _ in ranked[:3]}
    assert top == {("S1", 2), ("S2", 1), ("S3", 1)}
    assert all(0.0 <= value <= 1.0 for _, value in ranked)


CEASEFIRE = {("S1", 2), ("S2", 1), ("S3", 1)}


def test_concepts_are_lemma_pairs_without_two_stop_words() -> None:
    sentence = SOURCES["S2"][0]  # "A ceasefire was agreed by negotiators in Geneva."
    found = concepts(sentence)
    assert ("ceasefire", "be") in found and ("negotiator", "in") in found
    assert ("be", "by") not in found  # two stop words say nothing
    assert all(word.isalnum() for pair in found for word in pair)  # punctuation skipped


def test_only_what_two_sources_state_counts_when_there_are_several() -> None:
    coverage = Coverage(
        SOURCES, [ref for numbered in SOURCES.values() for ref in ((s.source, s.number) for s in numbered)]
    )
    assert coverage.weight(("in", "geneva")) > 0.0  # stated by several sources
    assert coverage.weight(("hotel", "serve")) == 0.0  # one source only
    assert coverage.weight(("no", "such")) == 0.0
    assert coverage.gain(("S2", 2), set()) == 0.0
    assert coverage.gain(("S2", 1), set()) > 0.0
    single = {"S1": SOURCES["S1"]}
    assert Coverage(single, [("S1", 1)]).gain(("S1", 1), set()) > 0.0  # one source: everything counts


def test_the_same_sentence_gains_more_the_earlier_it_comes_among_those_that_can_be_points() -> None:
    said = "Negotiators agreed a ceasefire in Geneva on Tuesday."
    sources = split(f"{said} Talks went on.", f"Talks went on. {said}", f"Photo: Reuters. {said}")
    refs = [("S1", 1), ("S2", 2), ("S3", 2)]
    plain = Coverage(sources, refs)
    first, second = plain.gain(("S1", 1), set()), plain.gain(("S2", 2), set())
    assert first > second > 0.0
    assert first / second == pytest.approx((1 + LEDE_WEIGHT) / (1 + LEDE_WEIGHT / 2))
    assert plain.gain(("S3", 2), set()) == pytest.approx(second)
    # a line that cannot be a point ("Photo: Reuters.", no verb) does not push the lede down
    pointed = Coverage(sources, refs, lambda s: any(t.pos in {"VERB", "AUX"} for t in s.tokens))
    assert pointed.gain(("S3", 2), set()) == pytest.approx(first)


def test_coverage_keeps_each_kept_sentence_in_its_own_row_across_sources() -> None:
    kept = [("S1", 2), ("S2", 1), ("S2", 2), ("S3", 1)]
    coverage = Coverage(SOURCES, kept)
    for source, number in kept:
        sentence = SOURCES[source][number - 1]
        words = sum(1 for t in sentence.tokens if t.pos not in {"PUNCT", "SPACE"})
        place = number  # every sentence can be a point here
        expected = (
            math.fsum(coverage.weight(c) for c in concepts(sentence)) / words * (1 + LEDE_WEIGHT / place)
        )
        assert coverage.gain((source, number), set()) == expected
        assert len(coverage.concepts_of((source, number))) == len(concepts(sentence))
    assert coverage.gain(("S2", 1), coverage.concepts_of(("S3", 1))) < coverage.gain(("S2", 1), set())
    for not_kept in [("S1", 1), ("S3", 2), ("S4", 1), ("S1", 3), ("S1", 0)]:
        with pytest.raises(KeyError):
            coverage.gain(not_kept, set())
    with pytest.raises(ValueError, match="out of place"):
        Coverage({"S1": SOURCES["S2"]}, [])


def test_cover_takes_shared_content_once_and_keeps_limits() -> None:
    refs = [(s.source, s.number) for numbered in SOURCES.values() for s in numbered]
    coverage = Coverage(SOURCES, refs)
    taken = cover([("points", ref) for ref in refs], coverage, {"points": 5})
    picked = [refs[i] for i, _ in taken]
    # The first ceasefire sentence states every shared concept: the other two would repeat it,
    # and the sentences only one source states add nothing.
    assert len(picked) == 1 and picked[0] in CEASEFIRE
    assert taken[0][1] > 0.0
    one = cover([("points", ref) for ref in refs], coverage, {"points": 1})
    assert len(one) == 1 and one[0][0] == taken[0][0]
    twice = cover([("a", refs[1]), ("b", refs[1])], coverage, {"a": 1, "b": 1})
    assert len(twice) == 1  # a sentence goes to one group only


def test_cover_leaves_out_what_adds_less_than_a_share_of_the_first_point() -> None:
    sources = split(
        "Negotiators agreed a ceasefire in Geneva on Tuesday. "
        "Officials of both delegations, their many lawyers, advisers, translators and assistants "
        "met again in the old town hall of the city for several hours, and the ceasefire was "
        "discussed.",
        "Negotiators agreed a ceasefire in Geneva. Officials met in the town hall.",
    )
    refs = [(s.source, s.number) for numbered in sources.values() for s in numbered]
    coverage = Coverage(sources, refs)
    every = cover([("points", ref) for ref in refs], coverage, {"points": 5})
    assert len(every) == 2  # the ceasefire, then the long sentence for "town hall" alone
    first, second = every[0][1], every[1][1]
    assert second < first / 4
    kept = cover([("points", ref) for ref in refs], coverage, {"points": 5}, least=0.25)
    assert [i for i, _ in kept] == [every[0][0]]
    # a share below what the second point adds keeps it
    assert (
        len(cover([("points", ref) for ref in refs], coverage, {"points": 5}, least=second / first / 2)) == 2
    )


def test_scores_are_found_by_source_and_number_and_only_for_real_sentences() -> None:
    scores = salience(SOURCES, sentence_vectors(SOURCES))
    assert len(scores) == sum(len(numbered) for numbered in SOURCES.values())
    assert list(scores) == [(s.source, s.number) for numbered in SOURCES.values() for s in numbered]
    for missing in (("S1", 0), ("S1", 3), ("S4", 1)):
        assert missing not in scores
        with pytest.raises(KeyError):
            scores[missing]


def test_vectors_refuse_a_source_not_numbered_from_1() -> None:
    with pytest.raises(ValueError, match="S1:2 out of place"):
        sentence_vectors({"S1": [SOURCES["S1"][1]]})
