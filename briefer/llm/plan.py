"""`--dry-run`: what a run would send, and roughly what it would cost, without calling anything.

Lists the sources, the calls (one per planned chunk) with their token counts,
which of them the cache would answer, and an estimate of the cost for OpenAI
models in the price table (`briefer/data/prices.toml`): the prompt tokens
exactly as counted here, the output at most the output limit per call.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from briefer.cache import AnswerCache
from briefer.chunking import Chunk
from briefer.engines.base import Engine
from briefer.engines.openai_engine import REDUCE_BUDGET, OpenAIEngine
from briefer.llm.differ import differences_question
from briefer.llm.prompt import extract_messages, sentence_ids
from briefer.llm.request import ChatRequest, cache_key
from briefer.llm.schema import DIFFERENCES_SCHEMA_NAME, SCHEMA_NAME, sections_schema
from briefer.pipeline import prepare
from briefer.render import safe
from briefer.sources import Source
from briefer.templates import Template
from briefer.tokens import count_tokens

_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4")
_MESSAGE_OVERHEAD = 4
"""Tokens each chat message adds around its content."""


@dataclass(frozen=True)
class PlannedCall:
    """One request: which sentences it carries, its size, and whether the cache would answer it."""

    sentences: str
    text_tokens: int
    prompt_tokens: int
    prompt_chars: int
    cached: bool
    differences: bool = False
    """The call asking where sources differ (the others extract the template's sections)."""


@dataclass(frozen=True)
class RunPlan:
    engine: str
    model: str | None
    base_url: str | None
    sources: list[Source]
    sentence_counts: dict[str, int]
    chunks: int
    calls: list[PlannedCall]
    max_tokens: int
    price: tuple[float, float] | None
    """USD per million input and output tokens, when the model is in the price table."""


@lru_cache(maxsize=1)
def price_table() -> dict[str, tuple[float, float]]:
    text = resources.files("briefer").joinpath("data", "prices.toml").read_text(encoding="utf-8")
    models = tomllib.loads(text)["models"]
    return {name: (float(p["input"]), float(p["output"])) for name, p in models.items()}


def price_of(model: str) -> tuple[float, float] | None:
    """Input and output price per million tokens of `model` (or of its base name, for a dated snapshot)."""
    table = price_table()
    name = model.rsplit("/", 1)[-1]
    while name:
        if name in table:
            return table[name]
        if "-" not in name:
            return None
        name = name.rsplit("-", 1)[0]
    return None


def plan_run(sources: Sequence[Source], template: Template, engine: Engine, chunk_tokens: int) -> RunPlan:
    """What `make_brief` would do with these arguments, up to the first model call."""
    sentences, chunks = prepare(sources, chunk_tokens)
    units = engine.plan(chunks, chunk_tokens)
    calls: list[PlannedCall] = []
    base_url: str | None = None
    max_tokens = 0
    price = None
    if isinstance(engine, OpenAIEngine):
        settings = engine.settings
        base_url, max_tokens = engine.base_url, settings.max_tokens
        price = price_of(settings.model) if settings.base_url is None and engine.name == "openai" else None
        encoding = "o200k_base" if settings.model.startswith(_O200K_PREFIXES) else "cl100k_base"
        cache = AnswerCache(settings.cache_dir) if settings.cache and settings.cache_dir.exists() else None
        try:
            requests = [
                (
                    False,
                    _span(unit),
                    unit.tokens,
                    ChatRequest(
                        extract_messages(template, unit.sentences),
                        sections_schema(template, sentence_ids(unit.sentences)),
                        SCHEMA_NAME,
                        max_tokens,
                    ),
                )
                for unit in units
            ]
            question = differences_question(sentences) if len(sources) > 1 else None
            if question is not None:
                requests.append(
                    (
                        True,
                        f"where sources differ: {_n(len(question.pairs), 'pair')} of sentences",
                        sum(count_tokens(s.text) for s in question.shown),
                        ChatRequest(question.messages, question.schema, DIFFERENCES_SCHEMA_NAME, max_tokens),
                    )
                )
            for differences, what, text_tokens, request in requests:
                messages = request.messages
                calls.append(
                    PlannedCall(
                        sentences=what,
                        text_tokens=text_tokens,
                        prompt_tokens=sum(
                            count_tokens(m["content"], encoding) + _MESSAGE_OVERHEAD for m in messages
                        ),
                        prompt_chars=sum(len(m["content"]) for m in messages),
                        cached=cache is not None
                        and cache.get(cache_key(settings.model, request)) is not None,
                        differences=differences,
                    )
                )
        finally:
            if cache is not None:
                cache.close()
    return RunPlan(
        engine=engine.name,
        model=engine.model,
        base_url=base_url,
        sources=list(sources),
        sentence_counts={source: len(found) for source, found in sentences.items()},
        chunks=len(chunks),
        calls=calls,
        max_tokens=max_tokens,
        price=price,
    )


def describe_plan(plan: RunPlan) -> str:
    """The plan as plain text for the terminal."""
    lines = ["Dry run: nothing is sent to any model.", ""]
    engine = plan.engine + (f", model {plan.model}" if plan.model else "")
    if plan.engine == "openai":
        engine += f", server {plan.base_url or 'https://api.openai.com/v1 (OpenAI)'}"
    lines += [f"Engine: {engine}", "", "Sources:"]
    for source in plan.sources:
        lines.append(
            f"  {source.id}  {safe(source.title)}  ({safe(source.path)}; {len(source.text):,} characters, "
            f"{plan.sentence_counts.get(source.id, 0)} sentences)"
        )
    if plan.engine == "extractive":
        lines += ["", f"{_n(plan.chunks, 'chunk')}; the extractive engine runs offline: no model calls."]
        return "\n".join(lines) + "\n"
    extraction = sum(not c.differences for c in plan.calls)
    besides = ", and one asking where sources differ" if extraction < len(plan.calls) else ""
    lines += ["", f"Calls ({_n(plan.chunks, 'chunk')} packed into {_n(extraction, 'call')}{besides}):"]
    for i, call in enumerate(plan.calls, start=1):
        cached = "  (answered from the cache)" if call.cached else ""
        lines.append(
            f"  {i:>3}  {call.sentences}  {call.text_tokens:,} tokens of text, "
            f"{call.prompt_tokens:,} with the prompt{cached}"
        )
    to_send = [c for c in plan.calls if not c.cached]
    prompt = sum(c.prompt_tokens for c in to_send)
    lines += [
        "",
        f"Would send {len(to_send)} of {_n(len(plan.calls), 'call')}: {prompt:,} prompt tokens, "
        f"at most {plan.max_tokens:,} output tokens each (more only if an answer is cut off), "
        f"plus reduce calls if a section gets more than {REDUCE_BUDGET} candidate points.",
    ]
    if plan.price is None:
        lines.append("Estimated cost: unknown (no price for this model or server).")
    else:
        cost_in = prompt * plan.price[0] / 1e6
        cost_out = len(to_send) * plan.max_tokens * plan.price[1] / 1e6
        lines.append(
            f"Estimated cost: ${cost_in:.4f} input + at most ${cost_out:.4f} output "
            f"(at ${plan.price[0]:g} / ${plan.price[1]:g} per million tokens)."
        )
    return "\n".join(lines) + "\n"


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _span(unit: Chunk) -> str:
    """`S1:1-24, S2:1-9`: the sentence ids a call carries, per source."""
    ranges: dict[str, list[int]] = {}
    for sentence in unit.sentences:
        ranges.setdefault(sentence.source, []).append(sentence.number)
    return ", ".join(f"{source}:{min(n)}-{max(n)}" for source, n in ranges.items())
