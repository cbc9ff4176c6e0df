"""briefer: structured, source-grounded briefs from one or many documents.

from briefer import load_sources, make_brief, render_markdown
brief = make_brief(load_sources(["article.txt"]), template="policy")
print(render_markdown(brief))

With a model (OPENAI_API_KEY, or base_url for any OpenAI-compatible server):
engine = get_engine("openai", resolve_settings(engine="openai", model="gpt-4.1-mini"))
brief = make_brief(load_sources(["article.txt"]), engine=engine)
"""

from __future__ import annotations

from briefer._version import __version__
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
