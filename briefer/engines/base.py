"""The engine interface: one method from a chunk to findings, capabilities as attributes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

from briefer.chunking import Chunk
from briefer.findings import Findings
from briefer.sentences import Sentence
from briefer.templates import Template


class Engine(ABC):
    """Extracts a template's sections from chunks of numbered sentences."""

    name: str = ""
    model: str | None = None
    needs_key: bool = False
    needs_entities: bool = False
    """Whether the engine reads the named entities and tags on each sentence."""
    exclusive_sentences: bool = False
    """Whether its points are whole sentences, each of which belongs in one section only."""

    def prepare(self, template: Template, chunks: Sequence[Chunk]) -> None:  # noqa: B027
        """Called once before extraction with everything the run will see."""

    @abstractmethod
    def extract(self, chunk: Chunk, template: Template) -> Findings:
        """Findings for `chunk`: items per section of `template`, each citing its sentences."""

    def differences(self, sentences: Mapping[str, Sequence[Sentence]]) -> Findings:
        """Facts that two sources give differently, each citing both sides (none by default)."""
        return Findings()
