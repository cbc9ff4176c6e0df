"""From a checked answer to findings: citations resolved against the sentences the model was shown.

A citation of a sentence the model was not shown (an id that does not exist,
or one outside its chunk) is removed; an item left citing nothing is dropped
and counted. Every kept item is checked for support by its cited sentences
and flagged when it is not supported.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from briefer.findings import Finding, Findings
from briefer.llm.schema import PersonAnswer, PointAnswer, Ref, parse_ref
from briefer.llm.support import person_supported, point_supported
from briefer.people import clean_name
from briefer.sentences import Sentence
from briefer.templates import Template


def shown_sentences(sentences: Sequence[Sentence]) -> dict[Ref, str]:
    """The text of each sentence id shown to the model (pieces of a cut sentence joined)."""
    shown: dict[Ref, str] = {}
    for sentence in sentences:
        ref = (sentence.source, sentence.number)
        shown[ref] = f"{shown[ref]} {sentence.text}" if ref in shown else sentence.text
    return shown


def ground(answer: BaseModel, template: Template, sentences: Sequence[Sentence]) -> Findings:
    """Findings from `answer`, citing only sentences in `sentences`; ranked in the model's order."""
    shown = shown_sentences(sentences)
    findings = Findings()
    for spec in template.sections:
        items: Sequence[PointAnswer | PersonAnswer] = getattr(answer, spec.key)
        for rank, item in enumerate(items):
            refs = resolve(item.citations, shown)
            finding = _finding(spec.key, item, refs, [shown[r] for r in refs])
            if finding is None:
                findings.dropped += 1
                continue
            finding.score = 1.0 - rank / (len(items) + 1)
            findings.items.append(finding)
    return findings


def resolve(citations: Sequence[str], shown: dict[Ref, str]) -> list[Ref]:
    """The cited ids that name a shown sentence, in order, each once."""
    refs = (parse_ref(c) for c in citations)
    return list(dict.fromkeys(r for r in refs if r is not None and r in shown))


def _finding(
    section: str, item: PointAnswer | PersonAnswer, refs: list[Ref], cited: list[str]
) -> Finding | None:
    if not refs:
        return None
    if isinstance(item, PersonAnswer):
        name = clean_name(" ".join(item.name.split()))
        if name is None:
            return None
        role = " ".join(item.role.split()) or None
        return Finding(
            section, name, refs, name=name, role=role, supported=person_supported(name, role, cited)
        )
    text = " ".join(item.text.split())
    if not text:
        return None
    return Finding(section, text, refs, supported=point_supported(text, cited))
