"""briefer: structured, source-grounded briefs from one or many documents.

from briefer import load_sources, make_brief, render_markdown
brief = make_brief(load_sources(["article.txt"]), template="policy")
print(render_markdown(brief))
"""

from __future__ import annotations

from briefer.brief import Brief, Citation, Item, Section, brief_model
from briefer.errors import BriefError, RunError, SourceError, TemplateError, UsageError
from briefer.pipeline import make_brief
from briefer.render import render_html, render_json, render_markdown, render_terminal
from briefer.sources import Source, load_sources
from briefer.templates import Template, builtin_templates, load_template

__version__ = "0.1.0"

__all__ = [
    "Brief",
    "BriefError",
    "Citation",
    "Item",
    "RunError",
    "Section",
    "Source",
    "SourceError",
    "Template",
    "TemplateError",
    "UsageError",
    "__version__",
    "brief_model",
    "builtin_templates",
    "load_sources",
    "load_template",
    "make_brief",
    "render_html",
    "render_json",
    "render_markdown",
    "render_terminal",
]
