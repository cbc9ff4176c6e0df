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


class TfIdf(_Rows, Mapping[Ref, Vector]):
    """Unit TF-IDF vectors of each sentence's content lemmas (idf over all sentences), each made
    when it is read, from the sentence's lemmas kept as term numbers.

    Term numbers take 2 bytes a lemma (4 past 65,536 terms): some 3.4 MB at 20 MB of text
    (148,167 sentences, 1.7 million content lemmas), where every vector kept packed (term
    numbers, counts and weights, 16 bytes a term) took 27 MB, for a step that needs one
    sentence's vector at a time, or one source's. Making the lemmas again from the tokens for
    each read instead more than doubled the step's CPU (6.5 s against 3.0 at 8 MB).
    """

    def __init__(self, sentences: Mapping[str, Sequence[Sentence]]) -> None:
        super().__init__()
        numbers: dict[str, int] = {}  # term numbers, in the order the terms are first seen
        frequency = array("I")  # per term number: how many sentences have the term
        terms = array("H")  # each sentence's lemmas as term numbers, sentence after sentence
        # Where each sentence's terms start in `terms`, by row (`_Rows`), and where the last ends.
        at = array("I", [0]) * (sum(len(numbered) for numbered in sentences.values()) + 1)
        row = 0
        for source, numbered in sentences.items():
            self._rows[source] = (row, len(numbered))
            for number, sentence in enumerate(numbered, start=1):
                if (sentence.source, sentence.number) != (source, number):
                    raise ValueError(f"sentence {sentence.ref} out of place: {source}'s are numbered from 1")
                found = [numbers.setdefault(lemma, len(numbers)) for lemma in content_lemmas(sentence)]
                if len(numbers) > len(frequency):
                    frequency.frombytes(bytes(4 * (len(numbers) - len(frequency))))
                    if len(numbers) > 2**16 and terms.typecode == "H":
                        terms = array("I", terms)
                for term in dict.fromkeys(found):
                    frequency[term] += 1
                terms.extend(found)
                row += 1
                at[row] = len(terms)
        total = max(1, row)
        self._idf = array("d", (math.log(1 + total / n) for n in frequency))
        self._terms = terms
        self._at = at

    def __getitem__(self, ref: Ref) -> Vector:
        return self.vector(self._row(ref))

    def __len__(self) -> int:
        return len(self._at) - 1

    @property
    def terms(self) -> int:
        """How many distinct terms the sentences have."""
        return len(self._idf)

    def vector(self, row: int) -> Vector:
        """The unit TF-IDF vector of the sentence in `row`, its terms in the order first seen in it."""
        idf = self._idf
        weights: Vector = {}
        for term, n in Counter(self._terms[self._at[row] : self._at[row + 1]]).items():
            weights[term] = (1 + math.log(n)) * idf[term]
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {term: w / norm for term, w in weights.items()}

    def scores(self, values: array[float]) -> SentenceScores:
        """A score for each sentence, `values` giving them by row."""
        if len(values) != len(self):
            raise ValueError(f"{len(values)} scores for {len(self)} sentences")
        return SentenceScores(self._rows, values)


def content_lemmas(sentence: Sentence) -> list[str]:
    """The lower-case lemmas of a sentence's nouns, names, verbs, adjectives and numbers."""
    stops = stop_words()
    return [
        t.lemma
        for t in sentence.tokens
        if t.pos in _CONTENT_POS and t.lemma not in stops and any(c.isalnum() for c in t.lemma)
    ]


def salience(sentences: Mapping[str, Sequence[Sentence]]) -> SentenceScores:
    """Each sentence's salience in [0, 1]: centrality to all sentences, support from other
    sources, and place in its source, each scaled to the highest in the set.

    Vectors are made when they are needed (`TfIdf`): the sum of all of them, then source by
    source its own sum and each sentence's similarity to both, so no more than one source's
    vectors are held at a time.
    """
    tfidf = TfIdf(sentences)
    rows = len(tfidf)
    total = array("d", [0.0]) * tfidf.terms
    for row in range(rows):
        for term, weight in tfidf.vector(row).items():
            total[term] += weight
    central = array("d", [0.0]) * rows  # by row: similarity to all others, then (in place) the score
    supported = array("d", [0.0]) * rows
    first = 0
    for numbered in sentences.values():  # one source at a time: its own sum, then its sentences
        vectors = [tfidf.vector(row) for row in range(first, first + len(numbered))]
        own: Vector = {}
        for vector in vectors:
            for term, weight in vector.items():
                own[term] = own.get(term, 0.0) + weight
        for row, vector in enumerate(vectors, start=first):
            to_all = sum(w * total[t] for t, w in vector.items())
            central[row] = max(0.0, to_all - dot(vector, vector))
            supported[row] = max(0.0, to_all - dot(vector, own))
        first += len(numbered)
    top_central = max(central, default=0.0) or 1.0
    top_supported = max(supported, default=0.0) or 1.0
    for row, (_, number) in enumerate(tfidf):
        central[row] = (
            central[row] / top_central
            + CROSS_SOURCE_WEIGHT * supported[row] / top_supported
            + POSITION_WEIGHT * _POSITION_SCALE / (_POSITION_SCALE + number - 1)
        ) / (1 + CROSS_SOURCE_WEIGHT + POSITION_WEIGHT)
    return tfidf.scores(central)


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
