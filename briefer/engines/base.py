"""The engine interface: one method from a chunk to findings, capabilities as attributes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from briefer.chunking import Chunk
from briefer.findings import Finding, Findings
from briefer.sentences import Sentence
from briefer.sources import Source
from briefer.templates import Template

if TYPE_CHECKING:
    from briefer.llm.planning import CallPlan
    from briefer.settings import Settings


class Engine(ABC):
    """Extracts a template's sections from chunks of numbered sentences.

    Capabilities are class attributes: `needs_key` (an API key or a server address),
    `takes_model_path` (`--model` is a file), `verbatim` (points are the cited
    sentences themselves), `overlaps` and `concurrency` (how extraction runs),
    `reads_entities` (what the sentences need).
    """

    name: str = ""
    model: str | None = None
    needs_key: bool = False
    """Whether the engine needs an API key, or a server address that needs none."""
    takes_model_path: bool = False
    """Whether `--model` names a model file on this machine rather than a model of a server."""
    verbatim: bool = False
    """Whether its points are the cited sentences themselves: each goes to one section only, and
    there is nothing to check for support (an engine writing its own words is checked)."""
    concurrency: int = 1
    """How many chunks the pipeline may extract at once (from threads)."""
    overlaps: bool = False
    """Whether extraction waits on something other than this process's CPU (a model server), so
    chunks are sent while later sources are still being split into sentences."""
    reads_entities: bool = True
    """Whether it reads the named entities of sentences (people, places, numbers); an engine that
    does not gets its sentences split without spaCy's entity pipe, in about half the time."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Engine:
        """The engine configured by `settings` (model, server, limits)."""
        raise NotImplementedError

    @classmethod  # noqa: B027 (nothing to do by default)
    def warm_up(cls) -> None:
        """Import and build now what every run of this engine needs (nothing by default), so that
        worker processes forked after this share it instead of each paying for it."""

    def plan(self, chunks: Sequence[Chunk], max_tokens: int) -> list[Chunk]:
        """The units `extract` will be called with: the chunks themselves, unless the engine packs them."""
        return list(self.pack(chunks, max_tokens))

    def pack(self, chunks: Iterable[Chunk], max_tokens: int) -> Iterator[Chunk]:
        """`plan` as chunks arrive: each unit is yielded as soon as it is complete."""
        yield from chunks

    def prepare(self, template: Template, sources: Sequence[Source], chunk_tokens: int) -> None:  # noqa: B027
        """Called once before any sentence is split, with the run's template, sources and chunk budget."""

    @abstractmethod
    def extract(self, chunk: Chunk, template: Template) -> Findings:
        """Findings for `chunk`: items per section of `template`, each citing its sentences. An engine
        may keep candidates aside for `reduce` instead (the offline engine keeps its point
        candidates as packed rows); `prepare` starts a run afresh."""

    def reduce(
        self,
        findings: Sequence[Finding],
        template: Template,
        sentences: Mapping[str, Sequence[Sentence]],
        source_order: Sequence[str],
    ) -> Findings:
        """Verified findings of all chunks, condensed before merging when there are too many; as is by default."""
        return Findings(items=list(findings))

    def close(self) -> None:  # noqa: B027
        """Called when the run ends, also on error or interrupt: release servers and connections."""

    def differences(self, sentences: Mapping[str, Sequence[Sentence]]) -> Findings:
        """Facts that two sources give differently, each citing both sides (none by default)."""
        return Findings()

    def plan_calls(
        self, template: Template, units: Sequence[Chunk], sentences: Mapping[str, Sequence[Sentence]]
    ) -> CallPlan | None:
        """The model calls a run with these units would make, sending nothing (None: no model calls)."""
        return None
