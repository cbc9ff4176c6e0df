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
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

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
    """Findings for "Where sources differ", each citing one sentence on each side."""
    facts = [fact for numbered in sentences.values() for s in numbered for fact in _facts(s)]
    by_key: dict[tuple[str, str], list[_Fact]] = {}
    for fact in facts:
        by_key.setdefault((fact.kind, fact.verb), []).append(fact)
    content = {}
    found: dict[tuple[object, ...], Finding] = {}
    for group in by_key.values():
        for a, b in combinations(group, 2):
            if a.ref[0] == b.ref[0] or a.value == b.value:
                continue
            if a.kind == "place" and _names_other_place(a, b, sentences):
                continue  # "in Turin, Italy" / "in Italy": one place within the other, not two
            for ref in (a.ref, b.ref):
                if ref not in content:
                    content[ref] = _content_words(_sentence(ref, sentences))
            if _jaccard(content[a.ref], content[b.ref]) < _SAME_SUBJECT:
                continue
            first, second = sorted((a, b), key=lambda f: (int(f.ref[0][1:]), f.ref[1]))
            key = (first.kind, first.verb, first.value, second.value)
            if key in found:
                finding = found[key]
                finding.refs.extend(r for r in _refs(first, second) if r not in finding.refs)
                continue
            found[key] = Finding(DIFFERENCES_KEY, _describe(first, second), _refs(first, second), score=1.0)
    return list(found.values())[:MAX_DIFFERENCES]


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


def _refs(first: _Fact, second: _Fact) -> list[tuple[str, int]]:
    return [first.ref, second.ref]


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


def _names_other_place(a: _Fact, b: _Fact, sentences: Mapping[str, Sequence[Sentence]]) -> bool:
    """Whether either sentence also names the other's place."""
    return str(a.value) in fold(_sentence(b.ref, sentences).text) or str(b.value) in fold(
        _sentence(a.ref, sentences).text
    )


def _sentence(ref: tuple[str, int], sentences: Mapping[str, Sequence[Sentence]]) -> Sentence:
    return sentences[ref[0]][ref[1] - 1]


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
