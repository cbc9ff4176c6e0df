"""Briefing templates: data files in `prompts/` that decide a brief's sections.

A template is a TOML file validated by `Template` (unknown fields are errors, so a
typo names the file and the field). Built-in templates ship with the package;
`-t path/to/file.toml` uses any file directly.
"""

from __future__ import annotations

import re
import tomllib
from functools import cached_property
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from briefer.errors import TemplateError

DEFAULT_TEMPLATE = "policy"
_MESSAGES = {"extra_forbidden": "unknown field (check its spelling)", "missing": "missing (required)"}
_KEY = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExtractiveHints(_Strict):
    """What the offline engine looks for: cue words or phrases and their weights.

    A cue is matched case-insensitively on word bounds; a trailing `*` matches any
    ending ("peacekeep*" matches "peacekeeping"). Words of the section's
    description count as weak cues on top of these.
    """

    cues: dict[str, float] = Field(default_factory=dict)
    min_score: float = Field(default=2.0, ge=0)
    lead: float = Field(default=0.0, ge=0)
    """Bonus for a source's opening sentences (news puts the key facts first):
    the full bonus for sentence 1, fading to nothing by sentence 10."""
    priority: int = 0
    """Sections with higher priority choose their sentences first: give narrow
    sections (open questions, risks) a higher priority than broad ones."""

    @cached_property
    def patterns(self) -> tuple[tuple[re.Pattern[str], float], ...]:
        return tuple((_cue_pattern(cue), weight) for cue, weight in self.cues.items())


class SectionSpec(_Strict):
    """One section of a brief: its key, title, what belongs there and what kind of items."""

    key: str = Field(pattern=_KEY)
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    items: Literal["people", "points"] = "points"
    max_items: int = Field(default=6, ge=1, le=50)
    extractive: ExtractiveHints = Field(default_factory=ExtractiveHints)


class Template(_Strict):
    """A briefing template: a name, a description and ordered sections."""

    name: str = Field(min_length=1)
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    instructions: str = ""
    sections: tuple[SectionSpec, ...] = Field(min_length=1)

    @field_validator("sections")
    @classmethod
    def _unique_keys(cls, sections: tuple[SectionSpec, ...]) -> tuple[SectionSpec, ...]:
        keys = [s.key for s in sections]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"duplicate section key(s): {', '.join(duplicates)}")
        return sections

    @model_validator(mode="after")
    def _at_most_one_people_section(self) -> Template:
        if sum(s.items == "people" for s in self.sections) > 1:
            raise ValueError('at most one section may have items = "people"')
        return self

    def section(self, key: str) -> SectionSpec:
        for spec in self.sections:
            if spec.key == key:
                return spec
        raise KeyError(key)


def builtin_dir() -> Traversable:
    """Where the built-in templates live: inside the installed package, or `prompts/` in a checkout."""
    packaged = resources.files("briefer").joinpath("prompts")
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "prompts"


def builtin_templates() -> dict[str, Template]:
    """Every built-in template, by name, sorted."""
    found: dict[str, Template] = {}
    for entry in sorted(builtin_dir().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            template = parse_template(entry.read_text(encoding="utf-8"), f"built-in {entry.name}")
            found[template.name] = template
    return found


def load_template(name_or_path: str = DEFAULT_TEMPLATE) -> Template:
    """A template by built-in name, or from a file when the argument is a path."""
    looks_like_path = name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path
    if looks_like_path:
        path = Path(name_or_path)
        if not path.is_file():
            raise TemplateError(name_or_path, "no such file")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateError(name_or_path, f"cannot read ({exc})") from exc
        return parse_template(text, name_or_path)
    templates = builtin_templates()
    if name_or_path not in templates:
        raise TemplateError(
            name_or_path,
            f"no such template; choose one of {', '.join(templates)} or give a path to a .toml file",
        )
    return templates[name_or_path]


def parse_template(text: str, where: str) -> Template:
    """Validate TOML text as a template; errors name `where`, the field and the problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(where, f"not valid TOML ({exc})") from exc
    try:
        return Template.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        locs = [e["loc"] for e in errors]
        # Skip errors that only follow from a deeper one ("sections too short" after a bad section).
        problems = [
            f"field {_field_path(data, e['loc'])}: {_MESSAGES.get(e['type'], e['msg'])}"
            for e in errors
            if not any(other != e["loc"] and other[: len(e["loc"])] == e["loc"] for other in locs)
        ]
        raise TemplateError(where, "; ".join(problems)) from exc


def _field_path(data: object, loc: tuple[int | str, ...]) -> str:
    """Render a pydantic error location as `sections[2].title`, naming the section by key."""
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int):
            key = node[part].get("key") if isinstance(node, list) and isinstance(node[part], dict) else None
            parts[-1] += f"[{part}]" + (f" ({key})" if key else "") if parts else f"[{part}]"
        else:
            parts.append(str(part))
        try:
            node = node[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            node = None
    return ".".join(parts) or "(top level)"


def _cue_pattern(cue: str) -> re.Pattern[str]:
    words = cue.lower().strip()
    prefix = words.endswith("*")
    body = re.escape(words.rstrip("*")).replace(r"\ ", r"\s+")
    return re.compile(r"(?<!\w)" + body + (r"\w*" if prefix else r"(?!\w)"), re.IGNORECASE)
