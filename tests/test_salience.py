"""Salience and coverage on small hand-made sources: what many sources say ranks above what one
says, and coverage does not pick the same content twice."""

from __future__ import annotations

import math

import pytest

from briefer.salience import (
    _POSITION_SCALE,
    CROSS_SOURCE_WEIGHT,
    LEDE_WEIGHT,
    POSITION_WEIGHT,
    Coverage,
    TfIdf,
    concepts,
    content_lemmas,
    cover,
    dot,
    salience,
)
from briefer.sentences import Sentence, Token, split_sentences
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
    ranked = sorted(salience(SOURCES).items(), key=lambda item: -item[1])
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
    scores = salience(SOURCES)
    assert len(scores) == sum(len(numbered) for numbered in SOURCES.values())
    assert list(scores) == [(s.source, s.number) for numbered in SOURCES.values() for s in numbered]
    for missing in (("S1", 0), ("S1", 3), ("S4", 1)):
        assert missing not in scores
        with pytest.raises(KeyError):
            scores[missing]


def test_tfidf_refuses_a_source_not_numbered_from_1() -> None:
    with pytest.raises(ValueError, match="S1:2 out of place"):
        TfIdf({"S1": [SOURCES["S1"][1]]})
    with pytest.raises(ValueError, match="S1:2 out of place"):
        salience({"S1": [SOURCES["S1"][1]]})


TALKS = split(
    "Talks in Geneva ended. More talks, then talks again, in Geneva.",
    "The talks ended in a ceasefire.",
)


def test_tfidf_numbers_terms_as_first_seen_and_weighs_the_rare_ones_more() -> None:
    tfidf = TfIdf(TALKS)
    assert len(tfidf) == 3 and list(tfidf) == [("S1", 1), ("S1", 2), ("S2", 1)]
    assert content_lemmas(TALKS["S1"][0]) == ["talk", "geneva", "end"]
    assert tfidf.terms == 4  # talk, geneva, end, ceasefire
    first = tfidf[("S1", 1)]
    assert list(first) == [0, 1, 2]
    # "talk" is in all three sentences, "geneva" and "end" in two: idf log(1 + 3/3) < log(1 + 3/2)
    assert first[0] < first[1] == first[2]
    assert math.isclose(sum(w * w for w in first.values()), 1.0)
    # said twice, "talk" weighs 1 + log 2 times its idf, "geneva" (once) 1 times its own
    repeated = tfidf[("S1", 2)]
    assert list(repeated) == [0, 1]
    assert math.isclose(repeated[0] / repeated[1], (1 + math.log(2)) * math.log(2) / math.log(2.5))
    assert list(tfidf[("S2", 1)]) == [0, 2, 3]


def test_tfidf_has_a_vector_for_each_sentence_and_no_other() -> None:
    tfidf = TfIdf(TALKS)
    assert [tfidf.vector(row) for row in range(len(tfidf))] == [tfidf[ref] for ref in tfidf]
    for missing in (("S1", 0), ("S1", 3), ("S3", 1)):
        assert missing not in tfidf
    empty = TfIdf(split(""))
    assert len(empty) == 0 and empty.terms == 0 and len(salience(split(""))) == 0


def test_tfidf_keeps_term_numbers_past_65536() -> None:
    words = [Token(i, i + 1, "NOUN", f"w{i}") for i in range(2**16 + 2)]
    many = Sentence("S1", 1, 0, len(words), "x" * len(words), words)
    other = Sentence("S1", 2, 0, 2, "xx", [Token(0, 1, "NOUN", "w0"), Token(1, 2, "NOUN", f"w{2**16 + 1}")])
    tfidf = TfIdf({"S1": [many, other]})
    assert tfidf.terms == 2**16 + 2
    assert list(tfidf["S1", 1]) == list(range(2**16 + 2))
    assert list(tfidf["S1", 2]) == [0, 2**16 + 1]


def _salience_from_every_vector(sentences: dict) -> list[float]:  # type: ignore[type-arg]
    """Salience as defined, with every sentence's vector held at once and the same sums in the
    same order."""
    tfidf = TfIdf(sentences)
    vectors = {
        source: [tfidf[s.source, s.number] for s in numbered] for source, numbered in sentences.items()
    }
    total = [0.0] * tfidf.terms
    for vector in (v for listed in vectors.values() for v in listed):
        for term, weight in vector.items():
            total[term] += weight
    central, supported, numbers = [], [], []
    for listed in vectors.values():
        own: dict[int, float] = {}
        for vector in listed:
            for term, weight in vector.items():
                own[term] = own.get(term, 0.0) + weight
        for number, vector in enumerate(listed, start=1):
            to_all = sum(w * total[t] for t, w in vector.items())
            central.append(max(0.0, to_all - dot(vector, vector)))
            supported.append(max(0.0, to_all - dot(vector, own)))
            numbers.append(number)
    top_central, top_supported = max(central) or 1.0, max(supported) or 1.0  # 0 with one source
    return [
        (
            c / top_central
            + CROSS_SOURCE_WEIGHT * s / top_supported
            + POSITION_WEIGHT * _POSITION_SCALE / (_POSITION_SCALE + n - 1)
        )
        / (1 + CROSS_SOURCE_WEIGHT + POSITION_WEIGHT)
        for c, s, n in zip(central, supported, numbers, strict=True)
    ]


def test_salience_made_a_source_at_a_time_is_the_one_from_every_vector_to_the_last_bit() -> None:
    for sentences in (SOURCES, TALKS, {"S2": SOURCES["S2"]}):
        assert list(salience(sentences).values()) == _salience_from_every_vector(sentences)
