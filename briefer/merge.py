"""Merge: verified findings become a brief's sections.

One entry per person and one item per point, every citation kept; with an
engine that quotes sentences, each sentence goes to at most one point section,
and with one that writes its own lines, the same line (or a near copy citing
the same sentence) goes to one point section, the one it fits best.
Whether an item stands at all is decided before, in `briefer.verify`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from briefer.brief import Citation, Item, PersonItem, Section, StandardTerm, Unsupported
from briefer.findings import Finding
from briefer.numbers import WORD_NUMBERS, quantities
from briefer.paraphrase import with_standard
from briefer.people import fold, places_in, same_person, sound_key, surname
from briefer.sentences import Sentence, stop_words
from briefer.templates import SectionSpec, Template

MAX_CITATIONS_PER_SOURCE = 3
_NEAR_DUPLICATE = 0.7
SAME_POINT = 0.3
"""Shared content words (Jaccard) at which points from different sources are one point: measured
on 350 hand-labelled cross-source sentence pairs of ../shared/eval, precision .90, recall .28 with
the guard on numbers, dates and places (words Jaccard was as good as WordNet synonyms or word
vectors there; see the README)."""
_MIN_SHARE = 0.5
_WORD = re.compile(r"\w+")

Ref = tuple[str, int]


def difference_items(
    findings: Iterable[Finding], sentences: Mapping[str, Sequence[Sentence]], source_order: Sequence[str]
) -> list[Item]:
    """Items for "Where sources differ" from verified findings, citing the sources in the brief's order."""
    order = {source: i for i, source in enumerate(source_order)}
    items: list[Item] = []
    for finding in findings:
        finding.refs = sorted(finding.refs, key=lambda r: _position(r, order))
        items.append(_item(finding, sentences, people=False))
    return items


def merge(
    findings: Sequence[Finding],
    sentences: Mapping[str, Sequence[Sentence]],
    template: Template,
    source_order: Sequence[str],
    verbatim: bool = True,
) -> list[Section]:
    """The brief's sections, in template order, from verified findings.

    With `verbatim` (engines whose points are the sentences themselves) each
    sentence goes to at most one point section.
    """
    order = {source: i for i, source in enumerate(source_order)}
    by_section: dict[str, list[Finding]] = {spec.key: [] for spec in template.sections}
    for finding in findings:
        by_section[finding.section].append(finding)
    chosen: dict[str, list[Finding]] = {}
    for spec in template.sections:
        if spec.items == "people":
            chosen[spec.key] = merge_people(by_section[spec.key], order)[: spec.max_items]
    point_specs = [s for s in template.sections if s.items == "points"]
    pools = {spec.key: merge_points(by_section[spec.key], order) for spec in point_specs}
    if verbatim:
        chosen.update(_draft(point_specs, pools))
    else:
        pools = _one_section_each(point_specs, pools)
        chosen.update({spec.key: pools[spec.key][: spec.max_items] for spec in point_specs})
    for spec in template.sections:
        if spec.order == "source":
            chosen[spec.key].sort(key=lambda f: min(_position(r, order) for r in f.refs))
    return [
        Section(
            key=spec.key,
            title=spec.title,
            items=[_item(f, sentences, people=spec.items == "people") for f in chosen[spec.key]],
        )
        for spec in template.sections
    ]


def _draft(specs: Sequence[SectionSpec], pools: Mapping[str, list[Finding]]) -> dict[str, list[Finding]]:
    """Share sentences among sections, each sentence to one section, in rounds of one pick each.

    Sections with a higher `extractive.priority` fill up first. Among sections of
    equal priority, in every round the one with the fewest candidates left picks
    first, so a broad section cannot starve a narrow one. No section takes a
    sentence that fits another section more than twice as well.
    """
    best: dict[Ref, float] = {}
    for pool in pools.values():
        for finding in pool:
            for ref in finding.refs:
                best[ref] = max(best.get(ref, 0.0), _fit(finding))
    used: set[Ref] = set()
    chosen: dict[str, list[Finding]] = {spec.key: [] for spec in specs}

    def open_candidates(spec: SectionSpec) -> list[Finding]:
        return [
            f
            for f in pools[spec.key]
            if not used.intersection(f.refs) and _fit(f) >= _MIN_SHARE * max(best[r] for r in f.refs)
        ]

    for priority in sorted({s.extractive.priority for s in specs}, reverse=True):
        group = [s for s in specs if s.extractive.priority == priority]
        picking = True
        while picking:
            picking = False
            active = [s for s in group if len(chosen[s.key]) < s.max_items]
            for spec in sorted(active, key=lambda s: len(open_candidates(s))):
                candidates = open_candidates(spec)
                if candidates:
                    used.update(candidates[0].refs)
                    chosen[spec.key].append(candidates[0])
                    picking = True
    return chosen


def _one_section_each(
    specs: Sequence[SectionSpec], pools: Mapping[str, list[Finding]]
) -> dict[str, list[Finding]]:
    """Each point in one section only: a line given in several sections (the same text, or a near
    copy citing a sentence it cites) stays where it fits best.

    Best is the highest fit (the engine's rank when it gives no fit), then the most words shared
    with the section's title and description, then the earlier section.
    """
    entries = [
        (index, spec, finding, _point_key(finding.text))
        for index, spec in enumerate(specs)
        for finding in pools[spec.key]
    ]
    described = {spec.key: _point_key(f"{spec.title} {spec.description}").words for spec in specs}

    def strength(entry: tuple[int, SectionSpec, Finding, _PointKey]) -> tuple[float, int, int]:
        index, spec, finding, key = entry
        return (_fit(finding), len(key.words & described[spec.key]), -index)

    dropped: set[int] = set()
    for i, first in enumerate(entries):
        for j in range(i + 1, len(entries)):
            second = entries[j]
            if first[0] == second[0] or i in dropped or j in dropped:
                continue
            if _same_line(first[2], first[3], second[2], second[3]):
                dropped.add(j if strength(first) >= strength(second) else i)
    kept: dict[str, list[Finding]] = {spec.key: [] for spec in specs}
    for n, (_, spec, finding, _) in enumerate(entries):
        if n not in dropped:
            kept[spec.key].append(finding)
    return kept


def _same_line(a: Finding, a_key: _PointKey, b: Finding, b_key: _PointKey) -> bool:
    """Whether two lines are one: the same words, or near copies that cite a sentence in common."""
    if " ".join(_WORD.findall(fold(a.text))) == " ".join(_WORD.findall(fold(b.text))):
        return True
    union = a_key.words | b_key.words
    return (
        bool(union)
        and bool(set(a.refs) & set(b.refs))
        and len(a_key.words & b_key.words) / len(union) >= _NEAR_DUPLICATE
        and not a_key.conflicts(b_key)
    )


def _fit(finding: Finding) -> float:
    return finding.score if finding.fit is None else finding.fit


@dataclass
class _Person:
    name: str
    roles: list[str] = field(default_factory=list)
    role_refs: list[Ref] = field(default_factory=list)
    refs: list[Ref] = field(default_factory=list)
    supported: list[bool] = field(default_factory=list)
    unsupported: list[Unsupported] = field(default_factory=list)
    standard_of: dict[str, str] = field(default_factory=dict)
    """A spun role's standard form ("International Minister" → "Foreign Minister")."""
    terms: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    """The findings that name this person."""
    spellings: tuple[str, ...] = ()
    """The person's other full names, where the sources spell the name more than one way."""

    def answers_to(self, name: str) -> bool:
        return any(same_person(name, n) or same_person(n, name) for n in (self.name, *self.spellings))


def group_people(
    findings: Sequence[Finding], order: Mapping[str, int]
) -> tuple[list[list[Finding]], list[Finding]]:
    """The findings that name each person, as `merge_people` joins them, and those it leaves out
    (a surname that several people share)."""
    people, unsure = _group_people(findings, order)
    return [person.findings for person in people], unsure


def merge_people(findings: Sequence[Finding], order: Mapping[str, int]) -> list[Finding]:
    """One finding per person: "Rubio" joins "Marco Rubio"; the most specific role wins.

    Roles are compared in standard terms, so "International Minister" in a spun source and
    "Foreign Minister" in a clean one are one role, written as the clean source writes it.

    People are ordered by how central they are across the sources: how many sources name
    them, then how many sentences, then by first mention.
    """
    merged: list[Finding] = []
    for person in _group_people(findings, order)[0]:
        refs = sorted(dict.fromkeys(person.refs), key=lambda r: _position(r, order))
        role = _standard_role(person)
        role_standard = person.standard_of.get(role) if role else None
        first_role_ref = next((r for r in person.role_refs if role and r in refs), None)
        if first_role_ref is not None:
            refs.remove(first_role_ref)
            refs.insert(0, first_role_ref)
        text = f"{person.name} — {role}" if role else person.name
        supported = all(person.supported) if person.supported else None  # flagged if any mention is
        merged.append(
            Finding(
                "",
                text,
                refs,
                name=person.name,
                role=role,
                score=len(refs),
                supported=supported,
                unsupported=person.unsupported[0] if supported is False else None,
                terms=[(p, s) for p, s in person.terms.items() if role and fold(p) in fold(role)],
                role_standard=role_standard,
            )
        )
    merged.sort(
        key=lambda f: (
            -len({source for source, _ in f.refs}),
            -f.score,
            _position(min(f.refs, key=lambda r: _position(r, order)), order),
        )
    )
    return merged


def _group_people(
    findings: Sequence[Finding], order: Mapping[str, int]
) -> tuple[list[_Person], list[Finding]]:
    ordered = sorted(findings, key=lambda f: _position(f.refs[0], order))
    people: list[_Person] = []
    unsure: list[Finding] = []
    by_surname: dict[str, list[_Person]] = {}  # same_person needs equal surnames: look only there
    by_sound: dict[str, list[_Person]] = {}  # or a surname spelled alike (sound_key)
    # Longer names first, so a surname finds the full name it belongs to wherever it appears.
    for finding in sorted(ordered, key=lambda f: -len((f.name or f.text).split())):
        name = finding.name or finding.text
        namesakes = by_surname.setdefault(surname(name), [])
        matches = [p for p in namesakes if p.answers_to(name)]
        if not matches and len(name.split()) > 1:
            matches = [p for p in by_sound.get(sound_key(name), ()) if p.answers_to(name)]
            if len(matches) == 1:  # the same person, spelled another way
                matches[0].spellings += (name,)
                namesakes.append(matches[0])
        if len(matches) == 1:
            person = matches[0]
            if len(name.split()) > len(person.name.split()):
                person.name = name
        elif len(matches) > 1 and len(name.split()) == 1:
            unsure.append(finding)  # a surname shared by several people names none of them for sure
            continue
        else:
            person = _Person(name)
            people.append(person)
            namesakes.append(person)
            if len(name.split()) > 1:
                by_sound.setdefault(sound_key(name), []).append(person)
        person.findings.append(finding)
        person.refs.extend(finding.refs)
        if finding.supported is not None:
            person.supported.append(finding.supported)
        if finding.unsupported is not None:
            person.unsupported.append(finding.unsupported)
        if finding.role:
            person.roles.append(finding.role)
            person.role_refs.extend(finding.refs)
            if finding.role_standard:
                person.standard_of[finding.role] = finding.role_standard
        person.terms.update(finding.terms)
    return people, unsure


def _standard_role(person: _Person) -> str | None:
    """The most specific of a person's roles, compared in standard terms; as written where a
    source writes it in standard terms, else as the spun source writes it."""
    standard = [fold(person.standard_of.get(role, role)) for role in person.roles]
    chosen = _most_specific(standard)
    if chosen is None:
        return None
    same = [role for role, key in zip(person.roles, standard, strict=True) if key == chosen]
    return next((role for role in same if role not in person.standard_of), same[0])


def _most_specific(roles: Sequence[str]) -> str | None:
    """The role with most words; among equals, the one given most often, then first."""
    if not roles:
        return None
    counts = Counter(roles)
    first = {role: -i for i, role in reversed(list(enumerate(roles)))}
    return max(counts, key=lambda r: (len(r.split()), counts[r], first[r]))


def merge_points(findings: Sequence[Finding], order: Mapping[str, int]) -> list[Finding]:
    """One finding per point: the same point made twice keeps all citations and the best score.

    Two points from different sources are the same point when at least `SAME_POINT` of
    their content words are shared (Jaccard; spun phrases read in standard terms), and they
    give no different number, date or place; from the same source they must share
    `_NEAR_DUPLICATE` of them. Candidates are found through an index of content words.
    """
    merged: list[tuple[_PointKey, Finding]] = []
    postings: dict[str, list[int]] = {}
    by_ref: dict[Ref, int] = {}
    for finding in sorted(findings, key=lambda f: (-f.score, _position(f.refs[0], order))):
        key = _point_key(with_standard(finding.text, finding.terms))
        target = next((by_ref[r] for r in finding.refs if r in by_ref), None)
        if target is None and key.words:
            shared = Counter(i for word in key.words for i in postings.get(word, ()))
            sources = {source for source, _ in finding.refs}
            # most shared words first, then the earliest point: the same choice whatever order the
            # set of words was counted in
            for i, count in sorted(shared.items(), key=lambda item: (-item[1], item[0])):
                seen_key, seen = merged[i]
                if count / len(key.words | seen_key.words) < SAME_POINT:
                    break  # no later candidate shares more
                if _same(key, seen_key, across=not sources & {source for source, _ in seen.refs}):
                    target = i
                    break
        if target is not None:
            seen = merged[target][1]
            seen.refs.extend(r for r in finding.refs if r not in seen.refs)
        else:
            target = len(merged)
            copy = Finding(
                finding.section,
                finding.text,
                list(finding.refs),
                score=finding.score,
                fit=finding.fit,
                supported=finding.supported,
                unsupported=finding.unsupported,
                terms=list(finding.terms),
            )
            merged.append((key, copy))
            for word in key.words:
                postings.setdefault(word, []).append(target)
        for ref in finding.refs:
            by_ref.setdefault(ref, target)
    return [finding for _, finding in merged]


def same_point(a: Finding, b: Finding) -> bool:
    """Whether `merge_points` would make `a` and `b` one point."""
    across = not {source for source, _ in a.refs} & {source for source, _ in b.refs}
    return _same(
        _point_key(with_standard(a.text, a.terms)), _point_key(with_standard(b.text, b.terms)), across
    )


def _same(a: _PointKey, b: _PointKey, across: bool) -> bool:
    """Two points are one when they share `SAME_POINT` of their content words from different
    sources (`_NEAR_DUPLICATE` from one source) and give no different number, date or place."""
    union = a.words | b.words
    if not union:
        return False
    overlap = len(a.words & b.words) / len(union)
    return overlap >= (SAME_POINT if across else _NEAR_DUPLICATE) and not a.conflicts(b)


@dataclass(frozen=True, slots=True)
class _PointKey:
    """What tells two points apart: content words, and the values they give."""

    words: frozenset[str]
    numbers: frozenset[float]
    days: frozenset[tuple[int, int]]
    places: frozenset[str]

    def conflicts(self, other: _PointKey) -> bool:
        """Whether both give a number, a date or a place, and not the same one."""
        return any(
            mine and theirs and mine != theirs
            for mine, theirs in (
                (self.numbers, other.numbers),
                (self.days, other.days),
                (self.places, other.places),
            )
        )


def _point_key(text: str) -> _PointKey:
    """Content words (no stop words, no number words) and values ("twelve" = "12") of a point."""
    words = _WORD.findall(fold(text))
    values = quantities(text)
    return _PointKey(
        words=frozenset(
            w for w in words if w.isalpha() and len(w) > 1 and w not in stop_words() and w not in WORD_NUMBERS
        ),
        numbers=frozenset(v for v in values if isinstance(v, float)),
        days=frozenset(v for v in values if isinstance(v, tuple)),
        places=places_in(text),
    )


def _item(finding: Finding, sentences: Mapping[str, Sequence[Sentence]], people: bool) -> Item:
    per_source: dict[str, int] = {}
    citations: list[Citation] = []
    for source, number in finding.refs:
        if per_source.get(source, 0) >= MAX_CITATIONS_PER_SOURCE:
            continue
        per_source[source] = per_source.get(source, 0) + 1
        sentence = sentences[source][number - 1]
        citations.append(
            Citation(
                source=source, sentence=number, quote=sentence.text, start=sentence.start, end=sentence.end
            )
        )
    # A person's line is made a PersonItem here, as the brief's model has it, so the brief takes
    # the items as they are: a copy of every item and citation took ~11 MB at 20 MB of text.
    kind: type[Item] = PersonItem if people else Item
    return kind(
        text=finding.text,
        citations=citations,
        name=finding.name if people else None,
        role=finding.role if people else None,
        supported=finding.supported,
        unsupported=finding.unsupported if finding.supported is False else None,
        sources=len(per_source),
        role_standard=finding.role_standard if people else None,
        standard_terms=[StandardTerm(phrase=p, standard=s) for p, s in finding.terms] or None,
    )


def _position(ref: Ref, order: Mapping[str, int]) -> tuple[int, int]:
    return order.get(ref[0], len(order)), ref[1]
