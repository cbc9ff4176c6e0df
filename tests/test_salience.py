"""Salience on small hand-made sources: what many sources say ranks above what one says, and MMR
does not pick the same content twice."""

from __future__ import annotations

from briefer.salience import maximal_marginal_relevance, salience, sentence_vectors
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


def test_mmr_does_not_pick_the_same_content_twice_in_a_row() -> None:
    vectors = sentence_vectors(SOURCES)
    salient = salience(SOURCES, vectors)
    refs = sorted(salient, key=lambda r: -salient[r])
    picked = maximal_marginal_relevance(refs, lambda r: salient[r], lambda r: vectors[r], redundancy=2.0)
    assert picked[0][0] in {("S1", 2), ("S2", 1), ("S3", 1)}
    assert picked[1][0] not in {("S1", 2), ("S2", 1), ("S3", 1)}  # a second ceasefire sentence waits
    assert picked[1][1] <= salient[picked[1][0]]
    without = maximal_marginal_relevance(refs, lambda r: salient[r], lambda r: vectors[r], redundancy=0.0)
    assert [ref for ref, _ in without] == refs
