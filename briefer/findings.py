"""Findings: what an engine extracts from one chunk, before verification and merging."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Finding:
    """A candidate item for section `section`, citing sentences as (source id, sentence number).

    `score` ranks candidates of the same section; `name` and `role` are set for people.
    """

    section: str
    text: str
    refs: list[tuple[str, int]]
    name: str | None = None
    role: str | None = None
    score: float = 0.0
    supported: bool | None = None


@dataclass(slots=True)
class Findings:
    """Everything extracted from one chunk, plus what it cost."""

    items: list[Finding] = field(default_factory=list)
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    dropped: int = 0
    cached_calls: int = 0
