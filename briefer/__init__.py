"""briefer: structured, source-grounded briefs from one or many documents.

from briefer import load_sources, make_brief, render_markdown
brief = make_brief(load_sources(["article.txt"]), template="policy")
print(render_markdown(brief))

With a model (OPENAI_API_KEY, or base_url for any OpenAI-compatible server):
engine = get_engine("openai", resolve_settings(engine="openai", model="gpt-4.1-mini"))
brief = make_brief(load_sources(["article.txt"]), engine=engine)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from briefer.brief import Brief, Citation, Item, Section, brief_model
    from briefer.config import Settings, get_engine, resolve_settings
    from briefer.errors import (
        BriefError,
        ConfigError,
        ModelError,
        RefusalError,
        RunError,
        SourceError,
        TemplateError,
        UsageError,
    )
    from briefer.pipeline import make_brief
    from briefer.render import render_html, render_json, render_markdown, render_terminal
    from briefer.sources import Source, load_sources
    from briefer.templates import Template, builtin_templates, load_template

from briefer._version import __version__

# The public API, by the module that defines it. Each module is imported on first use, so
# `import briefer` (and `brief --help`) does not pay for spaCy, pydantic or the openai SDK.
_EXPORTS = {
    "briefer.brief": ("Brief", "Citation", "Item", "Section", "brief_model"),
    "briefer.config": ("Settings", "get_engine", "resolve_settings"),
    "briefer.errors": (
        "BriefError",
        "ConfigError",
        "ModelError",
        "RefusalError",
        "RunError",
        "SourceError",
        "TemplateError",
        "UsageError",
    ),
    "briefer.pipeline": ("make_brief",),
    "briefer.render": ("render_html", "render_json", "render_markdown", "render_terminal"),
    "briefer.sources": ("Source", "load_sources"),
    "briefer.templates": ("Template", "builtin_templates", "load_template"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "Brief",
    "BriefError",
    "Citation",
    "ConfigError",
    "Item",
    "ModelError",
    "RefusalError",
    "RunError",
    "Section",
    "Settings",
    "Source",
    "SourceError",
    "Template",
    "TemplateError",
    "UsageError",
    "__version__",
    "brief_model",
    "builtin_templates",
    "get_engine",
    "load_sources",
    "load_template",
    "make_brief",
    "render_html",
    "render_json",
    "render_markdown",
    "render_terminal",
    "resolve_settings",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is used."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'briefer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
