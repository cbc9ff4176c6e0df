"""The offline engine: named-entity recognition for people, cue-guided sentence selection for points.

No network, no key. People come from spaCy's PERSON entities, with roles read
from the words around each name. Every other section gets the sentences that
best match what the template says belongs there: its cue words and phrases,
and the words of its description.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from briefer.chunking import Chunk
from briefer.differences import find_differences
from briefer.engines.base import Engine
from briefer.findings import Finding, Findings
from briefer.people import clean_name, role_for
from briefer.salience import maximal_marginal_relevance, salience, sentence_vectors
from briefer.sentences import Sentence, load_nlp
from briefer.sources import Source
from briefer.templates import SectionSpec, Template

if TYPE_CHECKING:
    from briefer.settings import Settings

_CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ"})
_DESCRIPTION_WEIGHT = 0.5
_DESCRIPTION_CAP = 3
_SHORT_SENTENCE_WORDS = 6
_LEAD_SENTENCES = 10
SALIENCE_WEIGHT = 10.0
"""Weight of a sentence's salience across all sources (0 to 1) beside its fit to a section."""
GATE_WEIGHT = 2.0
"""How much salience (0 to 1) counts towards a section's `min_score`: a central sentence needs less fit."""
REDUNDANCY = 2.0
_MMR_DEPTH = 10
"""Candidates per item a section may list that are ranked by MMR (the rest cannot be reached)."""
"""How much a point loses for each unit of similarity to a point its section already has."""


class ExtractiveEngine(Engine):
    """Extracts findings from the text itself; every item is a sentence or a name found in one."""

    name = "extractive"
    verbatim = True

    def __init__(self) -> None:
        self._description_lemmas: dict[str, frozenset[str]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Engine:
        return cls()  # offline: nothing to configure

    def prepare(self, template: Template, sources: Sequence[Source], chunk_tokens: int) -> None:
        nlp = load_nlp()
        specs = [s for s in template.sections if s.items == "points"]
        for spec, doc in zip(specs, nlp.pipe(s.description for s in specs), strict=True):
            self._description_lemmas[spec.key] = frozenset(
                t.lemma_.lower() for t in doc if t.pos_ in _CONTENT_POS and not t.is_stop and t.is_alpha
            )

    def extract(self, chunk: Chunk, template: Template) -> Findings:
        if len(self._description_lemmas) != sum(s.items == "points" for s in template.sections):
            self.prepare(template, [], chunk.tokens)
        findings = Findings()
        for spec in template.sections:
            if spec.items == "people":
                findings.items.extend(_people(chunk.sentences, spec))
            else:
                lemmas = self._description_lemmas[spec.key]
                for sentence in chunk.sentences:
                    score = score_sentence(sentence, spec, lemmas)
                    if score > 0 and score + GATE_WEIGHT >= spec.extractive.min_score:
                        findings.items.append(
                            Finding(
                                spec.key,
                                " ".join(sentence.text.split()),
                                [(sentence.source, sentence.number)],
                                score=score,
                            )
                        )
        return findings

    def reduce(
        self,
        findings: Sequence[Finding],
        template: Template,
        sentences: Mapping[str, Sequence[Sentence]],
        source_order: Sequence[str],
    ) -> Findings:
        """Points ranked by fit to their section plus salience across all sources, then by MMR so a
        section does not say the same thing twice; people as found."""
        vectors = sentence_vectors(sentences)
        salient = salience(sentences, vectors)
        ranked: list[Finding] = [f for f in findings if f.name is not None]
        for spec in template.sections:
            pool = [f for f in findings if f.section == spec.key and f.name is None]
            fitting = []
            for finding in pool:
                if finding.score + GATE_WEIGHT * salient[finding.refs[0]] >= spec.extractive.min_score:
                    finding.fit = finding.score
                    finding.score += SALIENCE_WEIGHT * salient[finding.refs[0]]
                    fitting.append(finding)
            # MMR compares each pick with every candidate left: only the best few can be picked.
            pool = sorted(fitting, key=lambda f: -f.score)[: _MMR_DEPTH * spec.max_items]
            for finding, score in maximal_marginal_relevance(
                pool, lambda f: f.score, lambda f: vectors[f.refs[0]], REDUNDANCY
            ):
                finding.score = score
                ranked.append(finding)
        return Findings(items=ranked)

    def differences(self, sentences: Mapping[str, Sequence[Sentence]]) -> Findings:
        return Findings(items=find_differences(sentences))


def score_sentence(sentence: Sentence, spec: SectionSpec, description_lemmas: frozenset[str]) -> float:
    """How well `sentence` fits section `spec`: cue weights plus a little for description words."""
    hints = spec.extractive
    patterns = hints.patterns
    lowered = sentence.text.lower()
    score = sum(
        weight for needle, pattern, weight in patterns if needle in lowered and pattern.search(sentence.text)
    )
    if hints.entities:
        score += sum(hints.entities.get(label, 0.0) for label in {e.label for e in sentence.entities})
    overlap = description_lemmas.intersection(t.lemma for t in sentence.tokens if t.pos in _CONTENT_POS)
    if patterns or hints.entities:
        score += _DESCRIPTION_WEIGHT * min(len(overlap), _DESCRIPTION_CAP)
    else:  # a section with no cues (an ad-hoc one, say) is found by its description's words alone
        score += min(len(overlap), _DESCRIPTION_CAP + 1)
    score += spec.extractive.lead * max(0.0, 1 - (sentence.number - 1) / _LEAD_SENTENCES)
    words = sum(1 for t in sentence.tokens if t.pos not in {"PUNCT", "SPACE"})
    if words < _SHORT_SENTENCE_WORDS:
        score *= 0.5
    return score


def _common_word(name: str, sentences: Sequence[Sentence]) -> bool:
    """Whether a one-word "name" also appears in lower case ("Tsunami" … "the tsunami"): a word, not a person."""
    pattern = re.compile(rf"\b{re.escape(name.lower())}\b")
    return any(pattern.search(s.text) for s in sentences)


def _people(sentences: Sequence[Sentence], spec: SectionSpec) -> list[Finding]:
    found: list[Finding] = []
    for sentence in sentences:
        for entity in sentence.entities:
            if entity.label != "PERSON":
                continue
            name = clean_name(entity.text)
            if name is None or (" " not in name and _common_word(name, sentences)):
                continue
            role = role_for(sentence, entity)
            found.append(
                Finding(
                    spec.key,
                    name,
                    [(sentence.source, sentence.number)],
                    name=name,
                    role=role,
                    score=1.0,
                )
            )
    return found
