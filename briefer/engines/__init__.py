"""Engines turn a chunk of sentences into findings; the rest of the pipeline is shared.

`ENGINES` maps a name to its class; `get_engine(name, …)` builds one.
"""

from __future__ import annotations

from briefer.engines.base import Engine
from briefer.engines.extractive import ExtractiveEngine
from briefer.errors import UsageError

ENGINES: dict[str, type[Engine]] = {
    ExtractiveEngine.name: ExtractiveEngine,
}


def get_engine(name: str) -> Engine:
    """A new engine by name; an unknown name is a usage error listing the choices."""
    try:
        engine_class = ENGINES[name]
    except KeyError:
        raise UsageError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}") from None
    return engine_class()


__all__ = ["ENGINES", "Engine", "ExtractiveEngine", "get_engine"]
