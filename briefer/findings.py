"""Findings: what an engine extracts from one chunk, before verification and merging, and what it cost."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields

from briefer.brief import Unsupported


@dataclass(frozen=True, slots=True)
class Usage:
    """What model calls cost: calls sent, their tokens, and calls answered from the cache. Adds up with `+`."""

    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_calls: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Usage)))

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(slots=True)
class Finding:
    """A candidate item for section `section`, citing sentences as (source id, sentence number).

    `score` ranks candidates of the same section (`fit`, when set, says how well the text fits
    the section itself); `name` and `role` are set for people.
    `supported` is set by verification for items in an engine's own words (None for
    quoted sentences), with the reason in `unsupported` when it is False. `terms` and
    `role_standard` are set from the spun phrases of the cited sentences (`briefer.paraphrase`).
    """

    section: str
    text: str
    refs: list[tuple[str, int]]
    name: str | None = None
    role: str | None = None
    score: float = 0.0
    fit: float | None = None
    """How well a quoted sentence fits its section alone (score may add how central it is); which
    section a sentence goes to is decided by fit."""
    supported: bool | None = None
    unsupported: Unsupported | None = None
    terms: Sequence[tuple[str, str]] = ()
    """Spun phrases in the text, with their standard terms (from likely-spun sources). Most
    findings have none: one shared empty tuple, where a list each costs 56 bytes a finding."""
    role_standard: str | None = None
    """The role in standard terms, when it holds a spun phrase."""


@dataclass(slots=True)
class Findings:
    """Everything extracted from one chunk: the items, what they cost, and how many items were
    dropped before verification (a model's item citing no sentence it was shown)."""

    items: list[Finding] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    dropped: int = 0

    def add(self, other: Findings) -> Findings:
        """This with `other`'s items, usage and drops added; returns self."""
        self.items.extend(other.items)
        self.usage += other.usage
        self.dropped += other.dropped
        return self
