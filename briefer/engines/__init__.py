"""Engines turn a chunk of sentences into findings; the rest of the pipeline is shared.

`ENGINES` maps each engine's name to its class, and is the one place to add an
engine: its name, whether it needs a key (`needs_key`) and whether `--model` is
a file (`takes_model_path`) are attributes of the class, read by the settings
and the CLI. `briefer.config.get_engine(name, settings)` builds one.
"""

from __future__ import annotations

from briefer.engines.base import Engine
from briefer.engines.extractive import ExtractiveEngine
from briefer.engines.local import LocalEngine
from briefer.engines.openai_engine import OpenAIEngine
from briefer.errors import UsageError

ENGINES: dict[str, type[Engine]] = {
    engine.name: engine for engine in (ExtractiveEngine, OpenAIEngine, LocalEngine)
}


def engine_class(name: str) -> type[Engine]:
    """The engine class named `name`; an unknown name is a usage error listing the choices."""
    try:
        return ENGINES[name]
    except KeyError:
        raise UsageError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}") from None


__all__ = [
    "ENGINES",
    "Engine",
    "ExtractiveEngine",
    "LocalEngine",
    "OpenAIEngine",
    "engine_class",
]
