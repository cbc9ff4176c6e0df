"""Where sources differ: the part's key, title and limit, and the offline finder.

The same fact given differently by two sources is a difference.
Two sentences from different sources are about the same thing when they share
enough content words. If both then attach a number to the same noun through the
same verb ("52 people … killed" / "56 people … killed"), or a calendar date to
the same verb, and the values differ, that is a difference worth showing. Values
hedged with "about", "at least" and the like are not compared: "more than 50"
and "52" do not disagree.
"""

from __future__ import annotations

import re
from array import array
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from briefer.findings import Finding
from briefer.numbers import parse_day, parse_number
from briefer.people import fold
from briefer.sentences import Entity, Sentence, stop_words

DIFFERENCES_KEY = "differences"
DIFFERENCES_TITLE = "Where sources differ"
NO_DIFFERENCES = "No numbers or dates that the sources give differently."
MAX_DIFFERENCES = 8
"""Lines in "Where sources differ", from any engine."""
_SAME_SUBJECT = 0.3
"""Shared content lemmas (Jaccard) at which two sentences are about the same thing, for the offline
finder (which also needs the same verb): precision .87 as a same-event test on 350 hand-labelled
cross-source pairs of ../shared/eval."""
CANDIDATE_SUBJECT = 0.1
"""The same for the pairs an LLM engine is asked about (the model judges them): recall .86 there."""
# Verbs news uses for the same event; a fact is keyed by its verb's group.
_VERB_GROUPS = {
    verb: group
    for group, verbs in {
        "start": "begin open start commence launch resume",
        "end": "end close conclude finish",
        "die": "die kill",
        "attend": "attend join participate",
        "arrive": "arrive reach land",
        "meet": "meet hold host",
    }.items()
    for verb in verbs.split()
}
_MIN_CONTENT_WORDS = 4
_NEAR = 8
_CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ"})
_REPORTING = frozenset({"say", "tell", "report", "add", "state", "announce", "claim", "confirm", "according"})
_HEDGES = frozenset(
    {
        "about",
        "around",
        "nearly",
        "almost",
        "over",
        "some",
        "approximately",
        "roughly",
        "estimated",
        "least",
        "than",
        "up",
        "to",
        "as",
        "many",
        "several",
        "dozens",
        "hundreds",
        "thousands",
        "reportedly",
    }
)
_CHECKABLE = re.compile(
    r"\d|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class _Fact:
    """A value sentence `ref` attaches to a subject: `kind` (a noun, or "date"), its verb, the value.

    It names its sentence rather than holding it: a sentence is made each time it is read from
    its table, and a large input has facts in tens of thousands of sentences."""

    ref: tuple[str, int]
    kind: str
    verb: str
    verb_word: str
    value: float | tuple[int, int] | str
    shown: str


def find_differences(sentences: Mapping[str, Sequence[Sentence]]) -> list[Finding]:
    """Findings for "Where sources differ", each citing one sentence on each side.

    Two facts of the same kind and verb from different sources differ when their values do and
    their sentences are about the same thing. Facts that agree in everything but their sentence
    (a corpus that repeats an article repeats its facts) are one class and are compared once, and
    only classes whose sentences share enough words are compared at all (`_similar`): the work
    follows the distinct facts and the pairs of facts that differ, not every pair of facts. The
    lines, and each line's citations, come in the order that comparing every pair of facts in
    the order found would give them.
    """
    table = _FactTable(sentences)
    found: dict[tuple[object, ...], _Difference] = {}
    for classes in table.groups.values():
        if len(found) >= MAX_DIFFERENCES:
            break  # later groups are of another kind or verb: they add to no line found
        found.update(_group_differences(table, classes))
    return [difference.finding(table) for difference in list(found.values())[:MAX_DIFFERENCES]]


@dataclass(slots=True)
class _Class:
    """Facts that agree in everything but their sentence: kind, verb, value, words, and their
    sentences' content words (and folded text, for a place). `members` are their fact numbers."""

    kind: str
    verb: str
    verb_word: str
    value: float | tuple[int, int] | str
    shown: str
    words: frozenset[str]
    text: str | None
    members: array[int]


class _FactTable:
    """Every fact of a set of sentences, numbered in the order found (source by source, sentence
    by sentence), in classes grouped by kind and verb. A fact keeps only its source and sentence
    number: a large input has facts in tens of thousands of sentences."""

    def __init__(self, sentences: Mapping[str, Sequence[Sentence]]) -> None:
        self.sources: list[str] = []
        self.source = array("I")
        self.number = array("I")
        self.classes: list[_Class] = []
        self.groups: dict[tuple[str, str], list[int]] = {}
        source_numbers: dict[str, int] = {}
        known: dict[tuple[object, ...], int] = {}
        for numbered in sentences.values():
            for sentence in numbered:
                facts = _facts(sentence)
                if not facts:
                    continue
                words = _content_words(sentence)
                folded = fold(sentence.text) if any(f.kind == "place" for f in facts) else None
                source = source_numbers.setdefault(sentence.source, len(source_numbers))
                if source == len(self.sources):
                    self.sources.append(sentence.source)
                for fact in facts:
                    text = folded if fact.kind == "place" else None
                    key = (fact.kind, fact.verb, fact.value, fact.verb_word, fact.shown, words, text)
                    number = known.get(key)
                    if number is None:
                        number = known[key] = len(self.classes)
                        self.classes.append(
                            _Class(
                                fact.kind,
                                fact.verb,
                                fact.verb_word,
                                fact.value,
                                fact.shown,
                                words,
                                text,
                                array("I"),
                            )
                        )
                        self.groups.setdefault((fact.kind, fact.verb), []).append(number)
                    self.classes[number].members.append(len(self.source))
                    self.source.append(source)
                    self.number.append(sentence.number)
        self._order: dict[int, int] = {}

    def ref(self, fact: int) -> tuple[str, int]:
        return self.sources[self.source[fact]], self.number[fact]

    def order(self, fact: int) -> tuple[int, int]:
        """Where a fact's sentence comes in the brief: the source's number, then the sentence's."""
        source = self.source[fact]
        if source not in self._order:
            self._order[source] = int(self.sources[source][1:])
        return self._order[source], self.number[fact]

    def fact(self, fact: int, of: _Class) -> _Fact:
        return _Fact(self.ref(fact), of.kind, of.verb, of.verb_word, of.value, of.shown)


@dataclass(slots=True)
class _Difference:
    """A line found: its first pair of facts (as (fact, class) each) and where that pair comes, and
    where each sentence it cites first comes (pair, then 0 for the first fact, 1 for the second)."""

    at: tuple[int, int]
    first: tuple[int, _Class]
    second: tuple[int, _Class]
    cited: dict[tuple[str, int], tuple[int, int, int]]

    def finding(self, table: _FactTable) -> Finding:
        first, second = table.fact(*self.first), table.fact(*self.second)
        refs = sorted(self.cited, key=self.cited.__getitem__)
        return Finding(DIFFERENCES_KEY, _describe(first, second), refs, score=1.0)


def _group_differences(table: _FactTable, classes: Sequence[int]) -> dict[tuple[object, ...], _Difference]:
    """The lines that facts of one kind and verb give, in the order their first pair comes."""
    of = [table.classes[number] for number in classes]
    found: dict[tuple[object, ...], _Difference] = {}
    for i, j in _similar([c.words for c in of], _SAME_SUBJECT):
        one, other = of[i], of[j]
        if one.value == other.value:
            continue
        if one.kind == "place" and _names_other_place(one, other):
            continue  # "in Turin, Italy" / "in Italy": one place within the other, not two
        for x in one.members:
            for y in other.members:
                if table.source[x] == table.source[y]:
                    continue
                a, b = ((x, one), (y, other)) if x < y else ((y, other), (x, one))
                first, second = (b, a) if table.order(b[0]) < table.order(a[0]) else (a, b)
                at = (a[0], b[0])
                key = (first[1].kind, first[1].verb, first[1].value, second[1].value)
                difference = found.get(key)
                if difference is None:
                    difference = found[key] = _Difference(at, first, second, {})
                elif at < difference.at:
                    difference.at, difference.first, difference.second = at, first, second
                for slot, (fact, _) in enumerate((first, second)):
                    ref = table.ref(fact)
                    earlier = difference.cited.get(ref)
                    if earlier is None or (*at, slot) < earlier:
                        difference.cited[ref] = (*at, slot)
    return dict(sorted(found.items(), key=lambda item: item[1].at))


def _similar(word_sets: Sequence[frozenset[str]], least: float) -> list[tuple[int, int]]:
    """The pairs (i, j), i < j, of word sets with a Jaccard similarity (`_jaccard`) of at least
    `least` (above 0), without comparing every pair: two such sets share one of the rarest words
    of each (prefix filtering: Chaudhuri et al. 2006, Bayardo et al. 2007)."""
    frequency = Counter(word for words in word_sets for word in words)
    holding: dict[str, list[int]] = {}  # the sets holding a word among their rarest
    pairs: list[tuple[int, int]] = []
    for j, words in enumerate(word_sets):
        if not words:
            continue
        rarest = sorted(words, key=lambda word: (frequency[word], word))
        # A set this similar to another shares at least least * len(words) of its words with it
        # (rounded down here, and at least one): so one of its len - shared + 1 rarest.
        shared = max(1, int(least * len(rarest)))
        candidates: set[int] = set()
        for word in rarest[: len(rarest) - shared + 1]:
            sets = holding.setdefault(word, [])
            candidates.update(sets)
            sets.append(j)
        pairs += [(i, j) for i in sorted(candidates) if _jaccard(word_sets[i], words) >= least]
    return pairs


def candidate_pairs(
    sentences: Mapping[str, Sequence[Sentence]], limit: int = 40
) -> list[tuple[Sentence, Sentence]]:
    """Pairs of sentences from different sources about the same thing, each holding a number or a date.

    These are where two sources can disagree on a checkable fact; an LLM engine
    is shown these pairs rather than every sentence. Most similar pairs first.
    """
    holders = [s for numbered in sentences.values() for s in numbered if _CHECKABLE.search(s.text)]
    words = {s.ref: _content_words(s) for s in holders}
    holders = [s for s in holders if len(words[s.ref]) >= _MIN_CONTENT_WORDS]  # not datelines
    postings: dict[str, list[int]] = {}
    for i, sentence in enumerate(holders):
        for word in words[sentence.ref]:
            postings.setdefault(word, []).append(i)
    scored: list[tuple[float, int, int]] = []
    for i, sentence in enumerate(holders):
        shared = Counter(j for word in words[sentence.ref] for j in postings[word] if j > i)
        for j, _ in shared.items():
            other = holders[j]
            if other.source == sentence.source:
                continue
            similarity = _jaccard(words[sentence.ref], words[other.ref])
            if similarity >= CANDIDATE_SUBJECT:
                scored.append((-similarity, i, j))
    scored.sort()
    return [(holders[i], holders[j]) for _, i, j in scored[:limit]]


def _describe(first: _Fact, second: _Fact) -> str:
    subject = first.kind.capitalize()
    what = (
        f"{subject} ({first.verb_word})"
        if first.kind in {"date", "place"}
        else f"{subject} {first.verb_word}".strip()
    )
    return f"{what}: {first.shown} according to {first.ref[0]}, {second.shown} according to {second.ref[0]}"


def _facts(sentence: Sentence) -> list[_Fact]:
    facts: list[_Fact] = []
    for entity in sentence.entities:
        if entity.label in {"CARDINAL", "QUANTITY", "MONEY"}:
            fact = _number_fact(sentence, entity)
        elif entity.label == "DATE":
            fact = _date_fact(sentence, entity)
        elif entity.label in {"GPE", "LOC", "FAC"}:
            fact = _place_fact(sentence, entity)
        else:
            fact = None
        if fact is not None:
            facts.append(fact)
    return facts


def _number_fact(sentence: Sentence, entity: Entity) -> _Fact | None:
    value = parse_number(entity.text)
    first, after = _token_span(sentence, entity)
    tokens = sentence.tokens
    if value is None or first is None or (first > 0 and tokens[first - 1].lemma in _HEDGES):
        return None
    if first > 1 and tokens[first - 2].lemma in {"at", "more", "less", "fewer", "up"}:
        return None
    if entity.label == "MONEY":
        kind = "amount"
    else:
        nouns = [t for t in tokens[after : after + 4] if t.pos == "NOUN"]
        if not nouns:
            return None
        kind = nouns[0].lemma
    return _fact(sentence, entity, kind, value, first, after)


def _date_fact(sentence: Sentence, entity: Entity) -> _Fact | None:
    value = parse_day(entity.text)
    first, after = _token_span(sentence, entity)
    if value is None or first is None:
        return None
    return _fact(sentence, entity, "date", value, first, after)


def _names_other_place(a: _Class, b: _Class) -> bool:
    """Whether either fact's sentence also names the other's place."""
    return str(a.value) in (b.text or "") or str(b.value) in (a.text or "")


def _place_fact(sentence: Sentence, entity: Entity) -> _Fact | None:
    """Where something happens: a place after "in" or "at", tied to its verb ("talks open in Geneva")."""
    first, after = _token_span(sentence, entity)
    if first is None or first == 0 or sentence.tokens[first - 1].lemma not in {"in", "at"}:
        return None
    return _fact(sentence, entity, "place", fold(entity.text), first - 1, after)


def _token_span(sentence: Sentence, entity: Entity) -> tuple[int | None, int]:
    """The index of the entity's first token (None if it has none) and of the token after it."""
    tokens = sentence.tokens
    first = next((i for i, t in enumerate(tokens) if t.start >= entity.start), None)
    after = next((i for i, t in enumerate(tokens) if t.start >= entity.end), len(tokens))
    return first, after


def _fact(
    sentence: Sentence,
    entity: Entity,
    kind: str,
    value: float | tuple[int, int] | str,
    first: int,
    after: int,
) -> _Fact | None:
    """The fact `entity` states about `kind`, tied to its nearest verb (None without one)."""
    verb = _nearest_verb(sentence, first, after)
    if verb is None:
        return None
    group = _VERB_GROUPS.get(verb[0], verb[0])
    return _Fact(
        (sentence.source, sentence.number),
        kind,
        group,
        verb[1],
        value,
        _text(sentence, entity.start, entity.end),
    )


def _nearest_verb(sentence: Sentence, first: int, after: int) -> tuple[str, str] | None:
    """The lemma and word of the verb closest to tokens [first, after), in the same clause.

    Verbs of saying are passed over: in "Police said 52 people were killed" the number
    belongs to "killed", not to "said"."""
    tokens = sentence.tokens
    found: list[tuple[int, int]] = []
    for step, start in ((-1, first - 1), (1, after)):
        i = start
        while 0 <= i < len(tokens) and abs(i - start) < _NEAR:
            if tokens[i].pos == "PUNCT":
                break
            if tokens[i].pos == "VERB" and tokens[i].lemma not in _REPORTING:
                found.append((abs(i - start), i))
                break
            i += step
    if not found:
        return None
    _, i = min(found)
    token = tokens[i]
    return token.lemma, _text(sentence, token.start, token.end)


def _content_words(sentence: Sentence) -> frozenset[str]:
    return frozenset(
        t.lemma
        for t in sentence.tokens
        if t.pos in _CONTENT_POS and t.lemma not in stop_words() and t.lemma.isalpha()
    )


def _text(sentence: Sentence, start: int, end: int) -> str:
    return sentence.text[start - sentence.start : end - sentence.start]


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0
