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
    from briefer.config import Settings


class Engine(ABC):
    """Extracts a template's sections from chunks of numbered sentences."""

    name: str = ""
    model: str | None = None
    needs_key: bool = False
    needs_entities: bool = False
    """Whether the engine reads the named entities and tags on each sentence."""
    exclusive_sentences: bool = False
    """Whether its points are whole sentences, each of which belongs in one section only."""
    concurrency: int = 1
    """How many chunks the pipeline may extract at once (from threads)."""
    overlaps: bool = False
    """Whether extraction waits on something other than this process's CPU (a model server), so
    chunks are sent while later sources are still being split into sentences."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Engine:
        """The engine configured by `settings` (model, server, limits); engines without settings ignore them."""
        return cls()

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
        """Findings for `chunk`: items per section of `template`, each citing its sentences."""

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
