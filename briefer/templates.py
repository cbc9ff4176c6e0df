"""Briefing templates: data files in `prompts/` that decide a brief's sections.

A template is a TOML file validated by `Template` (unknown fields are errors, so a
typo names the file and the field). Built-in templates ship with the package;
`-t path/to/file.toml` uses any file directly.
"""

from __future__ import annotations

import re
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from briefer.errors import TemplateError, UsageError, describe_validation_error
from briefer.template_files import DEFAULT_TEMPLATE, find_template, is_path, template_files, user_dir

# Finding template files lives in `briefer.template_files` (no pydantic, for a quick start-up);
# these names stay importable from here.
from briefer.template_files import TemplateFile as TemplateFile
from briefer.template_files import builtin_dir as builtin_dir

_KEY = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExtractiveHints(_Strict):
    """What the offline engine looks for: cue words or phrases and their weights.

    A cue is matched case-insensitively on word bounds; a trailing `*` matches any
    ending ("peacekeep*" matches "peacekeeping"). Words of the section's
    description count as weak cues on top of these; a section with no cues is
    found by its description's words alone.
    """

    cues: dict[str, float] = Field(default_factory=dict)
    entities: dict[str, float] = Field(default_factory=dict)
    """Weights for kinds of named entity in a sentence (DATE, GPE, NORP, ORG, PERSON, MONEY …)."""
    min_score: float = Field(default=2.0, ge=0)
    lead: float = Field(default=0.0, ge=0)
    """Bonus for a source's opening sentences (news puts the key facts first):
    the full bonus for sentence 1, fading to nothing by sentence 10."""
    priority: int = 0
    """Sections with higher priority choose their sentences first: give narrow
    sections (open questions, risks) a higher priority than broad ones."""

    @cached_property
    def patterns(self) -> tuple[tuple[str, re.Pattern[str], float], ...]:
        """(needle, pattern, weight) per cue; the pattern can match only where the
        lower-case needle occurs, a cheap test to run first."""
        return tuple(
            (cue.lower().rstrip("*").split()[0] if cue.strip("* ") else "", _cue_pattern(cue), weight)
            for cue, weight in self.cues.items()
        )


class SectionSpec(_Strict):
    """One section of a brief: its key, title, what belongs there and what kind of items."""

    key: str = Field(pattern=_KEY)
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    items: Literal["people", "points"] = "points"
    max_items: int = Field(default=6, ge=1, le=50)
    order: Literal["rank", "source"] = "rank"
    """Items by rank (best first) or in the order the sources tell them (for timelines)."""
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


def builtin_templates() -> dict[str, Template]:
    """Every template available by name (built-in or the user's), parsed."""
    return {name: parse_template(f.text, f.where) for name, f in template_files().items()}


def load_template(name_or_path: str = DEFAULT_TEMPLATE) -> Template:
    """A template by name (the user's first, then built-in), or from a file when given a path."""
    found = find_template(name_or_path)
    template = parse_template(found.text, found.where)
    if not is_path(name_or_path) and template.name != name_or_path:
        raise TemplateError(
            found.where, f'field name: is "{template.name}" but the file is named {name_or_path}'
        )
    return template


def new_template(name: str, base: str = DEFAULT_TEMPLATE) -> Path:
    """Copy template `base` into the user's folder as `name`, ready to edit; returns the new file."""
    if not re.match(_KEY, name):
        raise TemplateError(
            name, "a template name is lower-case letters, digits and _, starting with a letter"
        )
    target = user_dir() / f"{name}.toml"
    if target.exists():
        raise TemplateError(name, f"{target} already exists; edit it or remove it first")
    source = find_template(base)
    text, count = re.subn(r'(?m)^name\s*=\s*"[^"\n]*"', f'name = "{name}"', source.text, count=1)
    if not count:
        raise TemplateError(source.where, "has no name field to copy from")
    parse_template(text, str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def with_sections(template: Template, specs: list[str]) -> Template:
    """`template` with ad-hoc sections "key: what belongs there" added, or replacing the same key."""
    sections = list(template.sections)
    for spec in specs:
        key, sep, description = spec.partition(":")
        key, description = key.strip(), description.strip()
        if not sep or not re.match(_KEY, key) or not description:
            raise UsageError(
                f'--section {spec!r}: write it as "key: what belongs there", the key in lower case '
                'letters, digits and _ (e.g. "asian_reaction: How Asian governments responded")'
            )
        section = SectionSpec(key=key, title=key.replace("_", " ").capitalize(), description=description)
        keys = [s.key for s in sections]
        if key in keys:
            sections[keys.index(key)] = section
        else:
            sections.append(section)
    return template.model_copy(update={"sections": tuple(sections)})


def parse_template(text: str, where: str) -> Template:
    """Validate TOML text as a template; errors name `where`, the field and the problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(where, f"not valid TOML ({exc})") from exc
    try:
        return Template.model_validate(data)
    except ValidationError as exc:
        raise TemplateError(where, describe_validation_error(exc, data)) from exc


def _cue_pattern(cue: str) -> re.Pattern[str]:
    words = cue.lower().strip()
    prefix = words.endswith("*")
    body = re.escape(words.rstrip("*")).replace(r"\ ", r"\s+")
    return re.compile(r"(?<!\w)" + body + (r"\w*" if prefix else r"(?!\w)"), re.IGNORECASE)
