"""The calls an LLM engine would make, counted without sending anything (for `--dry-run`).

Each call is built exactly as a run builds it, so its tokens are counted on the
real messages and the cache is asked about the real key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from briefer.cache import AnswerCache
from briefer.chunking import Chunk
from briefer.llm.budget import differences_budget, output_limit, sections_budget
from briefer.llm.pairs import differences_question
from briefer.llm.prices import price_of
from briefer.llm.prompt import extract_messages, sentence_ids
from briefer.llm.reduce import REDUCE_BUDGET
from briefer.llm.request import ChatRequest, cache_key
from briefer.llm.schema import DIFFERENCES_SCHEMA_NAME, SCHEMA_NAME, sections_schema
from briefer.sentences import Sentence
from briefer.settings import Settings
from briefer.templates import Template
from briefer.tokens import count_tokens

_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4")
_MESSAGE_OVERHEAD = 4
"""Tokens each chat message adds around its content."""


@dataclass(frozen=True)
class PlannedCall:
    """One request a run would send: which sentences it carries, its size, whether the cache has it."""

    sentences: str
    text_tokens: int
    prompt_tokens: int
    prompt_chars: int
    cached: bool
    max_tokens: int
    """The call's output limit (`--max-tokens`, else its own budget)."""
    differences: bool = False
    """The call asking where sources differ (the others extract the template's sections)."""


@dataclass(frozen=True)
class CallPlan:
    """The model calls a run would make, for `--dry-run`: where they go, their limits, their cost."""

    server: str | None
    """Where the calls go, as the dry run names it (None: a server the engine starts itself)."""
    max_tokens: int
    """The largest output limit of any call."""
    calls: list[PlannedCall]
    price: tuple[float, float] | None
    """USD per million input and output tokens, when the model is in the price table."""
    reduce_budget: int
    """Candidate points of one section above which more (reduce) calls are made."""


def plan_calls(
    settings: Settings,
    server: str | None,
    priced: bool,
    template: Template,
    units: Sequence[Chunk],
    sentences: Mapping[str, Sequence[Sentence]],
    cache_server: str | None = None,
) -> CallPlan:
    """The extraction call of each unit and, with several sources, the call about where they differ."""
    encoding = "o200k_base" if settings.model.startswith(_O200K_PREFIXES) else "cl100k_base"
    requests = planned_requests(template, units, sentences, settings.max_tokens)
    cache = AnswerCache(settings.cache_dir) if settings.cache and settings.cache_dir.exists() else None
    try:
        calls = [
            PlannedCall(
                sentences=what,
                text_tokens=text_tokens,
                prompt_tokens=sum(
                    count_tokens(m["content"], encoding) + _MESSAGE_OVERHEAD for m in request.messages
                ),
                prompt_chars=sum(len(m["content"]) for m in request.messages),
                cached=cache is not None
                and cache.get(cache_key(settings.model, request, cache_server)) is not None,
                max_tokens=request.max_tokens,
                differences=differences,
            )
            for differences, what, text_tokens, request in requests
        ]
    finally:
        if cache is not None:
            cache.close()
    return CallPlan(
        server=server,
        max_tokens=max(
            (call.max_tokens for call in calls),
            default=output_limit(settings.max_tokens, sections_budget(template)),
        ),
        calls=calls,
        price=price_of(settings.model) if priced else None,
        reduce_budget=REDUCE_BUDGET,
    )


def planned_requests(
    template: Template,
    units: Sequence[Chunk],
    sentences: Mapping[str, Sequence[Sentence]],
    max_tokens: int | None,
) -> list[tuple[bool, str, int, ChatRequest]]:
    """The requests a run would send first, exactly as it builds them: (asks where sources differ,
    which sentences, tokens of text, the request) for each unit, then the differences question.
    Each asks for at most `max_tokens` output tokens, or, unset, its own budget."""
    extract_limit = output_limit(max_tokens, sections_budget(template))
    requests = [
        (
            False,
            _span(unit),
            unit.tokens,
            ChatRequest(
                extract_messages(template, unit.sentences, unit.spun),
                sections_schema(template, sentence_ids(unit.sentences)),
                SCHEMA_NAME,
                extract_limit,
            ),
        )
        for unit in units
    ]
    question = differences_question(sentences) if len(sentences) > 1 else None
    if question is not None:
        requests.append(
            (
                True,
                f"where sources differ: {_n(len(question.pairs), 'pair')} of sentences",
                sum(count_tokens(s.text) for s in question.shown),
                ChatRequest(
                    question.messages,
                    question.schema,
                    DIFFERENCES_SCHEMA_NAME,
                    output_limit(max_tokens, differences_budget()),
                ),
            )
        )
    return requests


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _span(unit: Chunk) -> str:
    """`S1:1-24, S2:1-9`: the sentence ids a call carries, per source."""
    ranges: dict[str, list[int]] = {}
    for sentence in unit.sentences:
        ranges.setdefault(sentence.source, []).append(sentence.number)
    return ", ".join(f"{source}:{min(n)}-{max(n)}" for source, n in ranges.items())
