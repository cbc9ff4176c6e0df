"""From a checked answer to findings: citations resolved against the sentences the model was shown.

A citation of a sentence the model was not shown (an id that does not exist,
or one outside its chunk) is removed; an item left citing nothing is dropped
and counted. Whether each kept item says what its sentences say is checked
later, with every engine's findings, in `briefer.verify`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from briefer.findings import Finding, Findings
from briefer.llm.schema import PersonAnswer, PointAnswer
from briefer.people import clean_name
from briefer.sentences import Sentence
from briefer.templates import Template
from briefer.verify import Ref, resolve, shown_sentences


def ground(answer: BaseModel, template: Template, sentences: Sequence[Sentence]) -> Findings:
    """Findings from `answer`, citing only sentences in `sentences`; ranked in the model's order."""
    shown = shown_sentences(sentences)
    findings = Findings()
    for spec in template.sections:
        items: Sequence[PointAnswer | PersonAnswer] = getattr(answer, spec.key)
        for rank, item in enumerate(items):
            finding = _finding(spec.key, item, resolve(item.citations, shown))
            if finding is None:
                findings.dropped += 1
                continue
            finding.score = 1.0 - rank / (len(items) + 1)
            findings.items.append(finding)
    return findings


def _finding(section: str, item: PointAnswer | PersonAnswer, refs: list[Ref]) -> Finding | None:
    if not refs:
        return None
    if isinstance(item, PersonAnswer):
        name = clean_name(" ".join(item.name.split()))
        if name is None:
            return None
        role = " ".join(item.role.split()) or None
        return Finding(section, name, refs, name=name, role=role)
    text = " ".join(item.text.split())
    return Finding(section, text, refs) if text else None
