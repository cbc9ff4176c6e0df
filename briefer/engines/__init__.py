"""Engines turn a chunk of sentences into findings; the rest of the pipeline is shared.

`ENGINES` maps a name to its class; `get_engine(name, …)` builds one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from briefer.engines.base import Engine
from briefer.engines.extractive import ExtractiveEngine
from briefer.engines.local import LocalEngine
from briefer.engines.openai_engine import OpenAIEngine
from briefer.errors import UsageError

if TYPE_CHECKING:
    from briefer.config import Settings

ENGINES: dict[str, type[Engine]] = {
    ExtractiveEngine.name: ExtractiveEngine,
    OpenAIEngine.name: OpenAIEngine,
    LocalEngine.name: LocalEngine,
}


def get_engine(name: str, settings: Settings | None = None) -> Engine:
    """A new engine by name, configured by `settings` (default: from environment and config file);
    an unknown name is a usage error listing the choices."""
    try:
        engine_class = ENGINES[name]
    except KeyError:
        raise UsageError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}") from None
    if settings is None:
        if engine_class is ExtractiveEngine:
            return engine_class()
        from briefer.config import resolve_settings

        settings = resolve_settings(engine=name)
    return engine_class.from_settings(settings)


__all__ = ["ENGINES", "Engine", "ExtractiveEngine", "LocalEngine", "OpenAIEngine", "get_engine"]
