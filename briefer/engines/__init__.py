"""Engines turn a chunk of sentences into findings; the rest of the pipeline is shared.

`ENGINES` maps a name to its class; `get_engine(name, …)` builds one. The registry
knows each class by where it lives and imports it when it is first looked up, so
listing the names (`brief --help`) imports no engine, spaCy or the openai SDK.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from briefer.errors import UsageError

if TYPE_CHECKING:
    from briefer.config import Settings
    from briefer.engines.base import Engine
    from briefer.engines.extractive import ExtractiveEngine
    from briefer.engines.local import LocalEngine
    from briefer.engines.openai_engine import OpenAIEngine


class EngineRegistry(MutableMapping[str, "type[Engine]"]):
    """Engine classes by name, each given as a class or as "module:Class" (imported on first use)."""

    def __init__(self, entries: dict[str, type[Engine] | str]) -> None:
        self._entries = dict(entries)

    def __getitem__(self, name: str) -> type[Engine]:
        entry = self._entries[name]
        if isinstance(entry, str):
            module, _, attribute = entry.partition(":")
            entry = self._entries[name] = getattr(importlib.import_module(module), attribute)
        return entry

    def __setitem__(self, name: str, engine_class: type[Engine]) -> None:
        self._entries[name] = engine_class

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


ENGINES = EngineRegistry(
    {
        "extractive": "briefer.engines.extractive:ExtractiveEngine",
        "openai": "briefer.engines.openai_engine:OpenAIEngine",
        "local": "briefer.engines.local:LocalEngine",
    }
)

_CLASSES = {
    "Engine": "briefer.engines.base",
    "ExtractiveEngine": "briefer.engines.extractive",
    "LocalEngine": "briefer.engines.local",
    "OpenAIEngine": "briefer.engines.openai_engine",
}


def __getattr__(name: str) -> Any:
    """The engine classes, imported when first used."""
    if name not in _CLASSES:
        raise AttributeError(f"module 'briefer.engines' has no attribute {name!r}")
    return getattr(importlib.import_module(_CLASSES[name]), name)


def get_engine(name: str, settings: Settings | None = None) -> Engine:
    """A new engine by name, configured by `settings` (default: from environment and config file);
    an unknown name is a usage error listing the choices."""
    try:
        engine_class = ENGINES[name]
    except KeyError:
        raise UsageError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}") from None
    if settings is None:
        if name == "extractive":
            return engine_class()
        from briefer.config import resolve_settings

        settings = resolve_settings(engine=name)
    return engine_class.from_settings(settings)


__all__ = [
    "ENGINES",
    "Engine",
    "EngineRegistry",
    "ExtractiveEngine",
    "LocalEngine",
    "OpenAIEngine",
    "get_engine",
]
