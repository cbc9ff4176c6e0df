"""Salience: how central each sentence is to the whole set of sources.

A sentence is central when it says what many other sentences say, above all
sentences of other sources: its TF-IDF vector (content lemmas) has a high
summed cosine similarity to every other sentence's (the degree of a
continuous LexRank graph, computed in one pass through the sum of all
vectors), and a higher one to the sentences of other sources (the same content
reported independently). News puts what matters first, so a sentence's place
in its source counts too.

What a brief says is then chosen by coverage (`Coverage`, `cover`): the
content of a set of sources is its concepts, pairs of adjacent lemmas, each
weighted by how many sources state it and how early. Sentences are picked
greedily for the weight of the concepts they add per word, so a pick never
repeats what an earlier one said, in any section (budgeted maximum coverage,
as in Gillick & Favre's concept-based summarisation). With several sources,
a concept counts only when at least two of them state it.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import pairwise

from briefer.sentences import Sentence, stop_words

Ref = tuple[str, int]
Vector = dict[int, float]
"""A sparse vector: term number to weight."""

_CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "NUM"})
CROSS_SOURCE_WEIGHT = 1.0
"""Weight of similarity to other sources' sentences, on top of similarity to all sentences."""
POSITION_WEIGHT = 0.5
"""Weight of a sentence's place in its source (the first sentence most)."""
_POSITION_SCALE = 5.0
"""Sentences into a source at which the position bonus has halved."""
CONCEPT_SOURCES = 2
"""Sources that must state a concept for it to count (fewer when there are fewer sources)."""
CONCEPT_POSITION = 3.0
"""A concept first stated in a source's first sentence weighs 1 + this; in its n-th, 1 + this / n."""
LEDE_WEIGHT = 1.0
"""How much more a sentence's gain counts for its place in its source: (1 + this / place), where
the lede, the first sentence that can be a point, is place 1. News states its main facts first."""
_WORDLESS_POS = frozenset({"PUNCT", "SPACE"})


class _Rows:
    """Sentences as rows, source after source: a source's sentences are numbered from 1, so its
    first row and its count find each one, where a dict keyed by (source, number) costs some
    300 bytes a sentence."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[int, int]] = {}  # first row and count of each source's sentences

    def _row(self, ref: Ref) -> int:
        source, number = ref
        first, count = self._rows[source]
        if not 1 <= number <= count:
            raise KeyError(ref)
        return first + number - 1

    def __iter__(self) -> Iterator[Ref]:
        for source, (_, count) in self._rows.items():
            for number in range(1, count + 1):
                yield source, number


class SentenceScores(_Rows, Mapping[Ref, float]):
    """A number for each sentence, in one array."""

    def __init__(self, rows: dict[str, tuple[int, int]], values: array[float]) -> None:
        self._rows = rows
        self._values = values

    def __getitem__(self, ref: Ref) -> float:
        return self._values[self._row(ref)]

    def __len__(self) -> int:
        return len(self._values)


class SentenceVectors(_Rows, Mapping[Ref, Vector]):
    """Unit TF-IDF vectors of each sentence's content lemmas (idf over all sentences), packed.

    A vector is a few numbers in two shared arrays (term numbers, weights), made into a
    dict only when read: a dict per sentence costs kilobytes, and a large input has
    hundreds of thousands of sentences.
    """

    def __init__(self, sentences: Mapping[str, Sequence[Sentence]]) -> None:
        numbers: dict[str, int] = {}
        terms = array("I")
        counts = array("I")
        # Where each sentence's terms start in `terms`, sentence after sentence, and where the last
        # ends; a source's sentences are numbered from 1, so its first row and count find them all.
        at = array("I", [0])
        super().__init__()
        for source, numbered in sentences.items():
            first = len(at) - 1
            for number, sentence in enumerate(numbered, start=1):
                if (sentence.source, sentence.number) != (source, number):
                    raise ValueError(f"sentence {sentence.ref} out of place: {source}'s are numbered from 1")
                for term, n in Counter(content_lemmas(sentence)).items():
                    terms.append(numbers.setdefault(term, len(numbers)))
                    counts.append(n)
                at.append(len(terms))
            self._rows[source] = (first, len(at) - 1 - first)
        frequency = array("I", bytes(4 * len(numbers)))
        for number in terms:
            frequency[number] += 1
        total = max(1, len(at) - 1)
        idf = [math.log(1 + total / n) if n else 0.0 for n in frequency]
        weights = array("d", ((1 + math.log(n)) * idf[t] for t, n in zip(terms, counts, strict=True)))
        for start, end in pairwise(at):
            norm = math.sqrt(sum(w * w for w in weights[start:end])) or 1.0
            for i in range(start, end):
                weights[i] /= norm
        self._at = at
        self._terms = terms
        self._weights = weights

    def _span(self, ref: Ref) -> tuple[int, int]:
        """Where `ref`'s terms are in `_terms` and `_weights`."""
        row = self._row(ref)
        return self._at[row], self._at[row + 1]

    def __getitem__(self, ref: Ref) -> Vector:
        start, end = self._span(ref)
        return dict(zip(self._terms[start:end], self._weights[start:end], strict=True))

    def __len__(self) -> int:
        return len(self._at) - 1

    def dot_dense(self, ref: Ref, dense: Sequence[float]) -> float:
        """The dot product of `ref`'s vector with a dense one indexed by term number."""
        start, end = self._span(ref)
        return sum(
            w * dense[t] for t, w in zip(self._terms[start:end], self._weights[start:end], strict=True)
        )

    def add_to(self, ref: Ref, dense: array[float]) -> None:
        """Add `ref`'s vector to a dense one indexed by term number."""
        start, end = self._span(ref)
        for t, w in zip(self._terms[start:end], self._weights[start:end], strict=True):
            dense[t] += w

    def scores(self, values: Iterable[float]) -> SentenceScores:
        """A score for each sentence, `values` giving them in the order the vectors are read."""
        scores = SentenceScores(self._rows, array("d", values))
        if len(scores) != len(self):
            raise ValueError(f"{len(scores)} scores for {len(self)} sentences")
        return scores

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


def salience(sentences: Mapping[str, Sequence[Sentence]], vectors: SentenceVectors) -> SentenceScores:
    """Each sentence's salience in [0, 1]: centrality to all sentences, support from other
    sources, and place in its source, each scaled to the highest in the set."""
    size = vectors.terms
    total = array("d", bytes(8 * size))
    for ref in vectors:
        vectors.add_to(ref, total)
    central = array("d")  # of each sentence, in the vectors' order
    supported = array("d")
    for numbered in sentences.values():  # one source at a time: its own sum, then its sentences
        refs = [(s.source, s.number) for s in numbered]
        own: Vector = {}
        for ref in refs:
            for term, weight in vectors[ref].items():
                own[term] = own.get(term, 0.0) + weight
        for ref in refs:
            vector = vectors[ref]
            to_all = vectors.dot_dense(ref, total)
            central.append(max(0.0, to_all - dot(vector, vector)))
            supported.append(max(0.0, to_all - dot(vector, own)))
    top_central = max(central, default=0.0) or 1.0
    top_supported = max(supported, default=0.0) or 1.0
    return vectors.scores(
        (
            central_to_all / top_central
            + CROSS_SOURCE_WEIGHT * from_others / top_supported
            + POSITION_WEIGHT * _POSITION_SCALE / (_POSITION_SCALE + number - 1)
        )
        / (1 + CROSS_SOURCE_WEIGHT + POSITION_WEIGHT)
        for central_to_all, from_others, (_, number) in zip(central, supported, vectors, strict=True)
    )


def dot(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())


Concept = tuple[str, str]


def concepts(sentence: Sentence) -> frozenset[Concept]:
    """Pairs of adjacent lower-case lemmas (punctuation skipped), leaving out pairs of two stop words."""
    stops = stop_words()
    lemmas = [
        t.lemma for t in sentence.tokens if t.pos not in _WORDLESS_POS and any(c.isalnum() for c in t.lemma)
    ]
    return frozenset((a, b) for a, b in pairwise(lemmas) if a not in stops or b not in stops)


class Coverage(_Rows):
    """The concepts of a set of sources, each weighted by how many sources state it and how early
    (`CONCEPT_POSITION`); concepts fewer than `CONCEPT_SOURCES` sources state weigh nothing.
    A sentence's gain also counts its place among the sentences of its source that can be points
    (`LEDE_WEIGHT`; every sentence can be one when `can_be_point` is not given).

    Only the concepts of the sentences in `keep` are held (the candidates of a brief), packed
    as concept numbers in one array: a set of string pairs per sentence costs kilobytes, and a
    large input has hundreds of thousands of candidates. Every sentence counts towards the weights.
    What a gain needs of each sentence (where its concepts are, its words, its place) is a row
    of three arrays, 12 bytes a sentence, where a dict entry per candidate cost some 280 bytes.
    """

    def __init__(
        self,
        sentences: Mapping[str, Sequence[Sentence]],
        keep: Iterable[Ref],
        can_be_point: Callable[[Sentence], bool] | None = None,
    ) -> None:
        super().__init__()
        wanted = set(keep)
        self._numbers: dict[Concept, int] = {}
        sources = array("I")  # per concept number: how many sources state it
        first = array("I")  # the earliest sentence number it is stated in
        last = array("i")  # the last source that counted it (each source counts once)
        packed = array("I")
        # Per sentence, source after source (`_Rows`): where its concepts start in `packed` (and,
        # one more, where the last ends), its words (0: not a sentence of `keep`) and its place.
        self._at = array("I", [0])
        self._words = array("I")
        self._places = array("I")
        for index, (source, numbered) in enumerate(sentences.items()):
            self._rows[source] = (len(self._words), len(numbered))
            place = 0
            for number, sentence in enumerate(numbered, start=1):
                if (sentence.source, sentence.number) != (source, number):
                    raise ValueError(f"sentence {sentence.ref} out of place: {source}'s are numbered from 1")
                if can_be_point is None or can_be_point(sentence):
                    place += 1
                found = [self._number(c, sources, first, last) for c in concepts(sentence)]
                for n in found:
                    if last[n] != index:
                        last[n] = index
                        sources[n] += 1
                    first[n] = min(first[n], sentence.number)
                words = 0
                if (source, number) in wanted:
                    words = sum(1 for t in sentence.tokens if t.pos not in _WORDLESS_POS) or 1
                    packed.extend(found)
                self._words.append(words)
                self._places.append(place)
                self._at.append(len(packed))
        need = min(CONCEPT_SOURCES, len(sentences))
        self._weights = array(
            "d",
            (
                n * (1 + CONCEPT_POSITION / f) if n >= need else 0.0
                for n, f in zip(sources, first, strict=True)
            ),
        )
        self._packed = packed

    def _number(self, concept: Concept, sources: array[int], first: array[int], last: array[int]) -> int:
        number = self._numbers.get(concept)
        if number is None:
            number = self._numbers[concept] = len(sources)
            sources.append(0)
            first.append(2**31)
            last.append(-1)
        return number

    def weight(self, concept: Concept) -> float:
        """A concept's weight (0 for one too few sources state, or none)."""
        number = self._numbers.get(concept)
        return 0.0 if number is None else self._weights[number]

    def gain(self, ref: Ref, covered: set[int]) -> float:
        """The weight of the concepts `ref` adds to `covered`, per word of the sentence, times its
        place's weight."""
        row, words = self._kept(ref)
        lede = 1 + LEDE_WEIGHT / max(self._places[row], 1)
        weights = self._weights
        # fsum: exact in any order, so ties break the same way in every run
        concepts = self._packed[self._at[row] : self._at[row + 1]]
        return math.fsum(weights[n] for n in concepts if n not in covered) / words * lede

    def concepts_of(self, ref: Ref) -> frozenset[int]:
        """The numbers of the concepts `ref` states."""
        row, _ = self._kept(ref)
        return frozenset(self._packed[self._at[row] : self._at[row + 1]])

    def _kept(self, ref: Ref) -> tuple[int, int]:
        """The row of `ref`, a sentence of `keep`, and its words (KeyError for any other)."""
        row = self._row(ref)
        words = self._words[row]
        if not words:
            raise KeyError(ref)
        return row, words


def cover(
    candidates: Sequence[tuple[str, Ref]],
    coverage: Coverage,
    limits: Mapping[str, int],
    repeats: Callable[[int, Sequence[int]], bool] | None = None,
    least: float = 0.0,
) -> list[tuple[int, float]]:
    """Greedy maximum coverage: which (group, sentence) candidates to take, in the order taken, each
    with its gain per word when taken. A sentence is taken once, a group takes at most its limit,
    and a candidate that adds nothing, less than `least` times the gain per word of the first one
    taken, or that `repeats` what a taken one says (given both
    candidates' indexes), is not taken.

    Lazy greedy: a gain can only fall as more is covered, so a stale gain is an upper bound and a
    candidate whose fresh gain still tops every stale one is the best.
    """
    covered: set[int] = set()
    taken_refs: set[Ref] = set()
    counts = dict.fromkeys(limits, 0)
    heap = [(-coverage.gain(ref, covered), i) for i, (_, ref) in enumerate(candidates)]
    heapq.heapify(heap)
    taken: list[tuple[int, float]] = []
    while heap:
        _, i = heapq.heappop(heap)
        group, ref = candidates[i]
        if ref in taken_refs or counts[group] >= limits[group]:
            continue
        gain = coverage.gain(ref, covered)
        if gain <= 0.0 or (taken and gain < least * taken[0][1]):
            continue
        if heap and -heap[0][0] > gain:
            heapq.heappush(heap, (-gain, i))
            continue
        if repeats is not None and repeats(i, [j for j, _ in taken]):
            continue
        taken.append((i, gain))
        taken_refs.add(ref)
        counts[group] += 1
        covered |= coverage.concepts_of(ref)
    return taken
