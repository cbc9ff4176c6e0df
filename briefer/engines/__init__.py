"""Engines turn a chunk of sentences into findings; the rest of the pipeline is shared.

`ENGINES` is the one place to add an engine: its name and where its class lives.
Whether it needs a key (`needs_key`) and whether `--model` is a file
(`takes_model_path`) are attributes of the class, read by the settings and the
CLI; tests/test_layers.py checks that each name is its class's `name`. The
registry imports a class when it is first looked up, so listing the names
(`brief --help`) imports no engine, spaCy or the openai SDK.
`briefer.config.get_engine(name, settings)` builds one.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from briefer.errors import UsageError

if TYPE_CHECKING:
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


def engine_class(name: str) -> type[Engine]:
    """The engine class named `name`; an unknown name is a usage error listing the choices."""
    try:
        return ENGINES[name]
    except KeyError:
        raise UsageError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}") from None


__all__ = [
    "ENGINES",
    "Engine",
    "EngineRegistry",
    "ExtractiveEngine",
    "LocalEngine",
    "OpenAIEngine",
    "engine_class",
]
