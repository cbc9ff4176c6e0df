"""Where sources differ, asked of the model: pairs of sentences from different sources, checked answers.

The pairs come from `briefer.differences.candidate_pairs` (same subject, a
number or date in each), so one call covers what can disagree rather than every
sentence. An answer must cite sentences shown from at least two sources;
anything else is dropped and counted, and each kept line is checked for
support by its cited sentences like any other item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from briefer.differences import DIFFERENCES_KEY, candidate_pairs
from briefer.findings import Finding, Findings
from briefer.llm.ground import resolve, shown_sentences
from briefer.llm.prompt import Message, prompt_text, sentence_ids, sentence_lines
from briefer.llm.schema import DIFFERENCES_SCHEMA_NAME, DifferencesAnswer, differences_schema
from briefer.llm.support import point_supported
from briefer.sentences import Sentence

if TYPE_CHECKING:
    from briefer.engines.openai_engine import OpenAIEngine

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


def ask_differences(engine: OpenAIEngine, sentences: Mapping[str, Sequence[Sentence]]) -> Findings:
    """Findings for "Where sources differ" from one call (none when no pair can disagree)."""
    question = differences_question(sentences)
    spent = Findings()
    if question is None:
        return spent
    shown = question.shown
    answer = engine.ask(question.messages, question.schema, DIFFERENCES_SCHEMA_NAME, DifferencesAnswer, spent)
    if not isinstance(answer, DifferencesAnswer):
        return spent
    texts = shown_sentences(shown)
    for item in answer.differences:
        refs = resolve(item.citations, texts)
        text = " ".join(item.text.split())
        if len({source for source, _ in refs}) < 2 or not text:
            spent.dropped += 1
            continue
        cited = [texts[ref] for ref in refs]
        spent.items.append(Finding(DIFFERENCES_KEY, text, refs, supported=point_supported(text, cited)))
    return spent
