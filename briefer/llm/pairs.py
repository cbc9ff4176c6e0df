"""The question about pairs of sentences that could disagree: its prompt, and parsing the answer.

What "Where sources differ" is, and the offline finder, live in
`briefer.differences`; this module only asks a model. The pairs come from
`briefer.differences.candidate_pairs` (same subject, a number or date in
each), so one call covers what can disagree rather than every sentence. Lines
citing sentences the model was not shown are dropped here; the two-source
rule and the support check are applied in `briefer.verify`, as for every engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from briefer.differences import DIFFERENCES_KEY, candidate_pairs
from briefer.findings import Finding, Findings
from briefer.llm.ask import Asker
from briefer.llm.budget import differences_budget
from briefer.llm.prompt import Message, prompt_text, sentence_ids, sentence_lines
from briefer.llm.schema import DIFFERENCES_SCHEMA_NAME, DifferencesAnswer, differences_schema
from briefer.sentences import Sentence
from briefer.verify import resolve, shown_sentences

MAX_PAIRS = 24
"""Pairs shown in the one differences call (the most similar first)."""


def differences_messages(pairs: Sequence[tuple[Sentence, Sentence]]) -> list[Message]:
    """System and user messages: each sentence of the pairs once, as a `[S1:4] text` line, then the
    pairs by id. A sentence is often in several pairs; shown once, it costs its characters once."""
    shown = sorted(
        {s.ref: s for pair in pairs for s in pair}.values(), key=lambda s: (len(s.source), s.source, s.number)
    )
    listed = [
        f"{i}. {a.source}:{a.number} and {b.source}:{b.number}" for i, (a, b) in enumerate(pairs, start=1)
    ]
    user = f"Sentences:\n{sentence_lines(shown)}\n\nPairs to compare:\n" + "\n".join(listed)
    system = " ".join(prompt_text("differ").template.split())
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


@dataclass(frozen=True)
class DifferencesQuestion:
    """The one call about where sources differ: the pairs, each sentence shown once, and the request."""

    pairs: list[tuple[Sentence, Sentence]]
    shown: list[Sentence]
    messages: list[Message]
    schema: dict[str, Any]


def differences_question(sentences: Mapping[str, Sequence[Sentence]]) -> DifferencesQuestion | None:
    """What `ask_differences` sends (and `--dry-run` shows); None when no pair can disagree."""
    pairs = candidate_pairs(sentences, limit=MAX_PAIRS)
    if not pairs:
        return None
    shown = list({s.ref: s for pair in pairs for s in pair}.values())
    return DifferencesQuestion(
        pairs, shown, differences_messages(pairs), differences_schema(sentence_ids(shown))
    )


def ask_differences(asker: Asker, sentences: Mapping[str, Sequence[Sentence]]) -> Findings:
    """Findings for "Where sources differ" from one call (none when no pair can disagree)."""
    question = differences_question(sentences)
    found = Findings()
    if question is None:
        return found
    answer, found.usage = asker.ask(
        question.messages, question.schema, DIFFERENCES_SCHEMA_NAME, DifferencesAnswer, differences_budget()
    )
    if not isinstance(answer, DifferencesAnswer):
        return found
    texts = shown_sentences(question.shown)
    for item in answer.differences:
        refs = resolve(item.citations, texts)
        text = " ".join(item.text.split())
        if not refs or not text:
            found.dropped += 1
            continue
        found.items.append(Finding(DIFFERENCES_KEY, text, refs))
    return found
