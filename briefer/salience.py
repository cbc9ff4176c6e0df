"""Salience: how central each sentence is to the whole set of sources.

A sentence is central when it says what many other sentences say, above all
sentences of other sources: its TF-IDF vector (content lemmas) has a high
summed cosine similarity to every other sentence's (the degree of a
continuous LexRank graph, computed in one pass through the sum of all
vectors), and a higher one to the sentences of other sources (the same content
reported independently). News puts what matters first, so a sentence's place
in its source counts too. `maximal_marginal_relevance` then picks central
sentences without picking the same content twice.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from briefer.sentences import Sentence, stop_words

Ref = tuple[str, int]
Vector = dict[str, float]
T = TypeVar("T")

_CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "NUM"})
CROSS_SOURCE_WEIGHT = 1.0
"""Weight of similarity to other sources' sentences, on top of similarity to all sentences."""
POSITION_WEIGHT = 0.5
"""Weight of a sentence's place in its source (the first sentence most)."""
_POSITION_SCALE = 5.0
"""Sentences into a source at which the position bonus has halved."""


def sentence_vectors(sentences: Mapping[str, Sequence[Sentence]]) -> dict[Ref, Vector]:
    """Unit TF-IDF vectors of each sentence's content lemmas (idf over all sentences)."""
    bags: dict[Ref, Counter[str]] = {}
    for numbered in sentences.values():
        for sentence in numbered:
            bags[(sentence.source, sentence.number)] = Counter(content_lemmas(sentence))
    frequency = Counter(term for bag in bags.values() for term in bag)
    total = max(1, len(bags))
    vectors: dict[Ref, Vector] = {}
    for ref, bag in bags.items():
        weights = {t: (1 + math.log(n)) * math.log(1 + total / frequency[t]) for t, n in bag.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        vectors[ref] = {t: w / norm for t, w in weights.items()}
    return vectors


def content_lemmas(sentence: Sentence) -> list[str]:
    """The lower-case lemmas of a sentence's nouns, names, verbs, adjectives and numbers."""
    stops = stop_words()
    return [
        t.lemma
        for t in sentence.tokens
        if t.pos in _CONTENT_POS and t.lemma not in stops and any(c.isalnum() for c in t.lemma)
    ]


def salience(sentences: Mapping[str, Sequence[Sentence]], vectors: Mapping[Ref, Vector]) -> dict[Ref, float]:
    """Each sentence's salience in [0, 1]: centrality to all sentences, support from other
    sources, and place in its source, each scaled to the highest in the set."""
    total = _sum(vectors.values())
    by_source = {
        source: _sum(vectors[(s.source, s.number)] for s in numbered)
        for source, numbered in sentences.items()
    }
    central: dict[Ref, float] = {}
    supported: dict[Ref, float] = {}
    for ref, vector in vectors.items():
        own = by_source[ref[0]]
        central[ref] = max(0.0, dot(vector, total) - dot(vector, vector))
        supported[ref] = max(0.0, dot(vector, total) - dot(vector, own))
    top_central = max(central.values(), default=0.0) or 1.0
    top_supported = max(supported.values(), default=0.0) or 1.0
    return {
        ref: (
            central[ref] / top_central
            + CROSS_SOURCE_WEIGHT * supported[ref] / top_supported
            + POSITION_WEIGHT * _POSITION_SCALE / (_POSITION_SCALE + ref[1] - 1)
        )
        / (1 + CROSS_SOURCE_WEIGHT + POSITION_WEIGHT)
        for ref in vectors
    }


def maximal_marginal_relevance(
    candidates: Sequence[T],
    score: Callable[[T], float],
    vector: Callable[[T], Vector],
    redundancy: float,
) -> list[tuple[T, float]]:
    """`candidates` in the order MMR picks them, each with its score less `redundancy` times its
    greatest cosine similarity to a candidate picked before it."""
    left = list(candidates)
    picked: list[tuple[T, float]] = []
    closest = [0.0] * len(left)
    while left:
        best = max(range(len(left)), key=lambda i: score(left[i]) - redundancy * closest[i])
        chosen = left.pop(best)
        picked.append((chosen, score(chosen) - redundancy * closest.pop(best)))
        chosen_vector = vector(chosen)
        closest = [max(c, dot(vector(other), chosen_vector)) for c, other in zip(closest, left, strict=True)]
    return picked


def dot(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())


def _sum(vectors: Iterable[Vector]) -> Vector:
    total: Vector = {}
    for vector in vectors:
        for term, weight in vector.items():
            total[term] = total.get(term, 0.0) + weight
    return total
