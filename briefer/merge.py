"""Verify and merge: engine findings become a brief's sections.

Verification drops citations of sentences that do not exist (and items left
with none); merging makes one entry per person and one item per point, keeps
every citation, and gives each sentence to at most one point section.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from briefer.brief import Citation, Item, Section, Verification
from briefer.errors import RunError
from briefer.findings import Finding
from briefer.people import fold, same_person, surname
from briefer.sentences import Sentence
from briefer.templates import SectionSpec, Template

MAX_CITATIONS_PER_SOURCE = 3
_NEAR_DUPLICATE = 0.8
_MIN_SHARE = 0.5
_WORD = re.compile(r"\w+")

Ref = tuple[str, int]


def verify(
    findings: Iterable[Finding], sentences: Mapping[str, Sequence[Sentence]], template: Template
) -> tuple[list[Finding], Verification]:
    """Keep findings for the template's sections whose citations name real sentences."""
    keys = {s.key for s in template.sections}
    kept: list[Finding] = []
    report = Verification()
    for finding in findings:
        refs = [ref for ref in dict.fromkeys(finding.refs) if _exists(ref, sentences)]
        if finding.section not in keys or not refs or not finding.text.strip():
            report.items_dropped += 1
            continue
        finding.refs = refs
        if finding.supported is False:
            report.items_unsupported += 1
        kept.append(finding)
    return kept, report


def check_citations(sections: Sequence[Section], sentences: Mapping[str, Sequence[Sentence]]) -> int:
    """Check that every citation quotes the sentence it names, verbatim; returns how many were checked.

    A mismatch is a bug in briefer, never the user's input, so it fails loudly.
    """
    checked = 0
    for section in sections:
        for item in section.items:
            for citation in item.citations:
                numbered = sentences.get(citation.source, ())
                if (
                    not 1 <= citation.sentence <= len(numbered)
                    or numbered[citation.sentence - 1].text != citation.quote
                ):
                    raise RunError(
                        f"internal check failed: citation {citation.ref} does not quote its sentence"
                    )
                checked += 1
    return checked


def merge(
    findings: Sequence[Finding],
    sentences: Mapping[str, Sequence[Sentence]],
    template: Template,
    source_order: Sequence[str],
    exclusive_sentences: bool = True,
) -> list[Section]:
    """The brief's sections, in template order, from verified findings.

    With `exclusive_sentences` (engines whose points are the sentences themselves)
    each sentence goes to at most one point section.
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
    if exclusive_sentences:
        chosen.update(_draft(point_specs, pools))
    else:
        chosen.update({spec.key: pools[spec.key][: spec.max_items] for spec in point_specs})
    for spec in template.sections:
        if spec.order == "source":
            chosen[spec.key].sort(key=lambda f: min(_position(r, order) for r in f.refs))
    return [
        Section(
            key=spec.key,
            title=spec.title,
            items=[_item(f, spec, sentences, order) for f in chosen[spec.key]],
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
                best[ref] = max(best.get(ref, 0.0), finding.score)
    used: set[Ref] = set()
    chosen: dict[str, list[Finding]] = {spec.key: [] for spec in specs}

    def open_candidates(spec: SectionSpec) -> list[Finding]:
        return [
            f
            for f in pools[spec.key]
            if not used.intersection(f.refs) and f.score >= _MIN_SHARE * max(best[r] for r in f.refs)
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


@dataclass
class _Person:
    name: str
    roles: list[str] = field(default_factory=list)
    role_refs: list[Ref] = field(default_factory=list)
    refs: list[Ref] = field(default_factory=list)


def merge_people(findings: Sequence[Finding], order: Mapping[str, int]) -> list[Finding]:
    """One finding per person: "Rubio" joins "Marco Rubio"; the most specific role wins.

    People are ordered by how many sentences mention them, then by first mention.
    """
    ordered = sorted(findings, key=lambda f: _position(f.refs[0], order))
    people: list[_Person] = []
    by_surname: dict[str, list[_Person]] = {}  # same_person needs equal surnames: look only there
    # Longer names first, so a surname finds the full name it belongs to wherever it appears.
    for finding in sorted(ordered, key=lambda f: -len((f.name or f.text).split())):
        name = finding.name or finding.text
        namesakes = by_surname.setdefault(surname(name), [])
        matches = [p for p in namesakes if same_person(name, p.name) or same_person(p.name, name)]
        if len(matches) == 1:
            person = matches[0]
            if len(name.split()) > len(person.name.split()):
                person.name = name
        elif len(matches) > 1 and len(name.split()) == 1:
            continue  # a surname shared by several people names none of them for sure
        else:
            person = _Person(name)
            people.append(person)
            namesakes.append(person)
        person.refs.extend(finding.refs)
        if finding.role:
            person.roles.append(finding.role)
            person.role_refs.extend(finding.refs)
    merged: list[Finding] = []
    for person in people:
        refs = sorted(dict.fromkeys(person.refs), key=lambda r: _position(r, order))
        role = _most_specific(person.roles)
        first_role_ref = next((r for r in person.role_refs if role and r in refs), None)
        if first_role_ref is not None:
            refs.remove(first_role_ref)
            refs.insert(0, first_role_ref)
        text = f"{person.name} — {role}" if role else person.name
        merged.append(Finding("", text, refs, name=person.name, role=role, score=len(refs)))
    merged.sort(key=lambda f: (-f.score, _position(min(f.refs, key=lambda r: _position(r, order)), order)))
    return merged


def _most_specific(roles: Sequence[str]) -> str | None:
    """The role with most words; among equals, the one given most often, then first."""
    if not roles:
        return None
    counts = Counter(roles)
    first = {role: -i for i, role in reversed(list(enumerate(roles)))}
    return max(counts, key=lambda r: (len(r.split()), counts[r], first[r]))


def merge_points(findings: Sequence[Finding], order: Mapping[str, int]) -> list[Finding]:
    """One finding per point: the same or near-identical text keeps all citations and the best score."""
    merged: list[tuple[frozenset[str], Finding]] = []
    for finding in sorted(findings, key=lambda f: (-f.score, _position(f.refs[0], order))):
        words = frozenset(_WORD.findall(fold(finding.text)))
        for seen_words, seen in merged:
            if set(finding.refs) & set(seen.refs) or _jaccard(words, seen_words) >= _NEAR_DUPLICATE:
                seen.refs.extend(r for r in finding.refs if r not in seen.refs)
                break
        else:
            merged.append(
                (
                    words,
                    Finding(
                        finding.section,
                        finding.text,
                        list(finding.refs),
                        score=finding.score,
                        supported=finding.supported,
                    ),
                )
            )
    return [finding for _, finding in merged]


def _item(
    finding: Finding, spec: SectionSpec, sentences: Mapping[str, Sequence[Sentence]], order: Mapping[str, int]
) -> Item:
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
    people = spec.items == "people"
    return Item(
        text=finding.text,
        citations=citations,
        name=finding.name if people else None,
        role=finding.role if people else None,
        supported=finding.supported,
        sources=len(per_source),
    )


def _exists(ref: Ref, sentences: Mapping[str, Sequence[Sentence]]) -> bool:
    source, number = ref
    return source in sentences and 1 <= number <= len(sentences[source])


def _position(ref: Ref, order: Mapping[str, int]) -> tuple[int, int]:
    return order.get(ref[0], len(order)), ref[1]


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0
