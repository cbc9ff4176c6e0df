"""The messages a model sees: the template's sections and instructions, then numbered sentences.

Prompt texts are data in `prompts/llm/` (`string.Template` placeholders). Each
sentence is one line, `[S1:12] text`, its whitespace collapsed: the ids are what
the model cites, and the lines cost little more than the text itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from string import Template as TextTemplate
from typing import Any

from briefer.paraphrase import SpunPhrase, hint_lines
from briefer.sentences import Sentence
from briefer.templates import SectionSpec, Template, builtin_dir

Message = dict[str, str]


@lru_cache(maxsize=4)
def prompt_text(name: str) -> TextTemplate:
    """Prompt `name` from `prompts/llm/` (inside the package when installed)."""
    return TextTemplate(builtin_dir().joinpath("llm", f"{name}.md").read_text(encoding="utf-8"))


def sentence_lines(sentences: Sequence[Sentence]) -> str:
    """One `[S1:12] text` line per sentence; pieces of one cut sentence share a line."""
    lines: list[str] = []
    last: tuple[str, int] | None = None
    for sentence in sentences:
        text = " ".join(sentence.text.split())
        ref = (sentence.source, sentence.number)
        if ref == last:
            lines[-1] += " " + text
        else:
            lines.append(f"[{sentence.source}:{sentence.number}] {text}")
        last = ref
    return "\n".join(lines)


def sentence_ids(sentences: Sequence[Sentence]) -> list[str]:
    """The ids of `sentences` as the model cites them ("S1:4"), each once, in order."""
    return list(dict.fromkeys(f"{s.source}:{s.number}" for s in sentences))


def _section_line(spec: SectionSpec) -> str:
    kind = " (people)" if spec.items == "people" else ""
    return f"- {spec.key}{kind}: {' '.join(spec.description.split())}"


SPUN_HINT = (
    "Some sentences come from a machine-paraphrased source: a program swapped words for synonyms "
    "regardless of sense. These phrases in them stand for standard terms; write the standard term:"
)


def extract_messages(
    template: Template, sentences: Sequence[Sentence], spun: Sequence[SpunPhrase] = ()
) -> list[Message]:
    """System and user messages asking for `template`'s sections from `sentences`; `spun`, the
    spun phrases of a likely machine-paraphrased source, are named with their standard terms."""
    shown = {(s.source, s.number) for s in sentences}
    hints = hint_lines(m for m in spun if (m.source, m.sentence) in shown)
    system = prompt_text("extract").substitute(
        title=template.title,
        description=" ".join(template.description.split()),
        instructions=" ".join(template.instructions.split()),
        sections="\n".join(_section_line(spec) for spec in template.sections),
        paraphrase="\n".join([SPUN_HINT, *hints]) if hints else "",
    )
    return [
        {"role": "system", "content": _tidy(system)},
        {"role": "user", "content": sentence_lines(sentences)},
    ]


def reduce_messages(template: Template, spec: SectionSpec, candidates: Sequence[str]) -> list[Message]:
    """Messages asking to merge `candidates` (shown as P1, P2 …) into at most `spec.max_items` points."""
    system = prompt_text("reduce").substitute(
        section=spec.title,
        title=template.title,
        description=" ".join(spec.description.split()),
        max_items=spec.max_items,
    )
    lines = "\n".join(f"[P{i}] {' '.join(text.split())}" for i, text in enumerate(candidates, start=1))
    return [{"role": "system", "content": _tidy(system)}, {"role": "user", "content": lines}]


def with_schema(messages: list[Message], schema: dict[str, Any]) -> list[Message]:
    """`messages` with the schema spelled out, for servers that take JSON mode but no schema."""
    first, *rest = messages
    shown = json.dumps(schema, separators=(",", ":"))
    return [{**first, "content": f"{first['content']}\nThe JSON must match this schema: {shown}"}, *rest]


def reask_messages(messages: list[Message], bad_answer: str, problem: str) -> list[Message]:
    """The original messages, the last bad answer and what is wrong with it; never a longer history."""
    return [
        *messages,
        {"role": "assistant", "content": bad_answer},
        {
            "role": "user",
            "content": f"That answer is not valid: {problem}. Answer again with only the JSON object.",
        },
    ]


def message_chars(messages: Sequence[Message]) -> int:
    """Characters of text in `messages`."""
    return sum(len(m["content"]) for m in messages)


def _tidy(text: str) -> str:
    """Drop blank lines left by empty placeholders (a template without instructions)."""
    return "\n".join(line for line in text.splitlines() if line.strip())
