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
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TypeVar

from briefer.sentences import Sentence, stop_words

Ref = tuple[str, int]
Vector = dict[int, float]
"""A sparse vector: term number to weight."""
T = TypeVar("T")

_CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "NUM"})
CROSS_SOURCE_WEIGHT = 1.0
"""Weight of similarity to other sources' sentences, on top of similarity to all sentences."""
POSITION_WEIGHT = 0.5
"""Weight of a sentence's place in its source (the first sentence most)."""
_POSITION_SCALE = 5.0
"""Sentences into a source at which the position bonus has halved."""


class SentenceVectors(Mapping[Ref, Vector]):
    """Unit TF-IDF vectors of each sentence's content lemmas (idf over all sentences), packed.

    A vector is a few numbers in two shared arrays (term numbers, weights), made into a
    dict only when read: a dict per sentence costs kilobytes, and a large input has
    hundreds of thousands of sentences.
    """

    def __init__(self, sentences: Mapping[str, Sequence[Sentence]]) -> None:
        numbers: dict[str, int] = {}
        terms = array("I")
        counts = array("I")
        self._spans: dict[Ref, tuple[int, int]] = {}
        for numbered in sentences.values():
            for sentence in numbered:
                start = len(terms)
                for term, n in Counter(content_lemmas(sentence)).items():
                    terms.append(numbers.setdefault(term, len(numbers)))
                    counts.append(n)
                self._spans[(sentence.source, sentence.number)] = (start, len(terms))
        frequency = array("I", bytes(4 * len(numbers)))
        for number in terms:
            frequency[number] += 1
        total = max(1, len(self._spans))
        idf = [math.log(1 + total / n) if n else 0.0 for n in frequency]
        weights = array("d", ((1 + math.log(n)) * idf[t] for t, n in zip(terms, counts, strict=True)))
        for start, end in self._spans.values():
            norm = math.sqrt(sum(w * w for w in weights[start:end])) or 1.0
            for i in range(start, end):
                weights[i] /= norm
        self._terms = terms
        self._weights = weights

    def __getitem__(self, ref: Ref) -> Vector:
        start, end = self._spans[ref]
        return dict(zip(self._terms[start:end], self._weights[start:end], strict=True))

    def __iter__(self) -> Iterator[Ref]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)

    def dot_dense(self, ref: Ref, dense: Sequence[float]) -> float:
        """The dot product of `ref`'s vector with a dense one indexed by term number."""
        start, end = self._spans[ref]
        return sum(
            w * dense[t] for t, w in zip(self._terms[start:end], self._weights[start:end], strict=True)
        )

    def add_to(self, ref: Ref, dense: array[float]) -> None:
        """Add `ref`'s vector to a dense one indexed by term number."""
        start, end = self._spans[ref]
        for t, w in zip(self._terms[start:end], self._weights[start:end], strict=True):
            dense[t] += w

    @property
    def terms(self) -> int:
        """How many distinct terms the vectors have."""
        return max(self._terms, default=-1) + 1


def sentence_vectors(sentences: Mapping[str, Sequence[Sentence]]) -> SentenceVectors:
    """Unit TF-IDF vectors of each sentence's content lemmas (idf over all sentences)."""
    return SentenceVectors(sentences)


def content_lemmas(sentence: Sentence) -> list[str]:
    """The lower-case lemmas of a sentence's nouns, names, verbs, adjectives and numbers."""
    stops = stop_words()
    return [
        t.lemma
        for t in sentence.tokens
        if t.pos in _CONTENT_POS and t.lemma not in stops and any(c.isalnum() for c in t.lemma)
    ]


def salience(sentences: Mapping[str, Sequence[Sentence]], vectors: SentenceVectors) -> dict[Ref, float]:
    """Each sentence's salience in [0, 1]: centrality to all sentences, support from other
    sources, and place in its source, each scaled to the highest in the set."""
    size = vectors.terms
    total = array("d", bytes(8 * size))
    for ref in vectors:
        vectors.add_to(ref, total)
    central: dict[Ref, float] = {}
    supported: dict[Ref, float] = {}
    for numbered in sentences.values():  # one source at a time: its own sum, then its sentences
        refs = [(s.source, s.number) for s in numbered]
        own: Vector = {}
        for ref in refs:
            for term, weight in vectors[ref].items():
                own[term] = own.get(term, 0.0) + weight
        for ref in refs:
            vector = vectors[ref]
            to_all = vectors.dot_dense(ref, total)
            central[ref] = max(0.0, to_all - dot(vector, vector))
            supported[ref] = max(0.0, to_all - dot(vector, own))
    top_central = max(central.values(), default=0.0) or 1.0
    top_supported = max(supported.values(), default=0.0) or 1.0
    return {
        ref: (
            central[ref] / top_central
            + CROSS_SOURCE_WEIGHT * supported[ref] / top_supported
            + POSITION_WEIGHT * _POSITION_SCALE / (_POSITION_SCALE + ref[1] - 1)
        )
        / (1 + CROSS_SOURCE_WEIGHT + POSITION_WEIGHT)
        for ref in central
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
