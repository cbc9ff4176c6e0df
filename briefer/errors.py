"""Errors briefer raises, each with a message that tells the user what to do.

BriefError                 base; the CLI prints its message on one line
├── UsageError             bad input or usage: exit code 2
│   ├── SourceError        a source cannot be read (missing, empty, binary)
│   ├── TemplateError      a template file is missing or malformed
│   └── ConfigError        the config file is malformed
└── RunError               the run itself failed: exit code 1
    └── ModelError         the model server failed or answered unusably
        ├── RefusalError   the model refused to answer
        └── AnswerShapeError  the model's answers stayed malformed after the re-asks

`describe_validation_error` turns a pydantic ValidationError (a template, the config
file, a model's answer) into the one line these errors carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pydantic import ValidationError


class BriefError(Exception):
    """Base for every error briefer reports to the user."""

    exit_code = 1


class UsageError(BriefError):
    """The user's input or options are wrong; fixing them fixes the run."""

    exit_code = 2


class SourceError(UsageError):
    """A source path cannot be read as text."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class TemplateError(UsageError):
    """A briefing template is missing or does not validate."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"template {where}: {problem}")
        self.where = where
        self.problem = problem


class RunError(BriefError):
    """The run could not produce a brief (engine failure, unwritable output)."""


class ConfigError(UsageError):
    """The config file cannot be read or has a bad field."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"config {where}: {problem}")
        self.where = where
        self.problem = problem


class ModelError(RunError):
    """The model server failed, or its answers stayed unusable after the allowed retries."""


class RefusalError(ModelError):
    """The model refused the request; `refusal` is what it said."""

    def __init__(self, refusal: str) -> None:
        super().__init__(f"the model refused: {refusal}")
        self.refusal = refusal


class AnswerShapeError(ModelError):
    """The model's answers were not JSON of the required shape, every time it was asked."""


# Per audience: the word before a field path, and plain words for some of pydantic's error types.
_PHRASING: dict[str, tuple[str, Mapping[str, str]]] = {
    "file": (
        "field ",
        {"extra_forbidden": "unknown field (check its spelling)", "missing": "missing (required)"},
    ),
    "model": ("", {"extra_forbidden": "unexpected field"}),
}


def describe_validation_error(
    exc: ValidationError,
    data: object = None,
    *,
    audience: Literal["file", "model"] = "file",
    limit: int | None = None,
) -> str:
    """A pydantic `ValidationError` as one line: each wrong field and what is wrong with it, `; `-separated.

    For a file a person wrote (a template, the config file), fields read as
    `field sections[0] (who).title: missing (required)`; when `data`, the input that was
    validated, is given, list items are labelled by their `key`. For a model's answer they
    read as pydantic's location and message: `agenda.0.citations: Field required`.
    Errors that only follow from a deeper one ("sections too short" after a bad section)
    are left out; with `limit`, at most that many are shown and the rest counted.
    The input's values are never shown: a secret may have been pasted in the wrong field.
    """
    prefix, plain_words = _PHRASING[audience]
    errors = exc.errors()
    locations = [e["loc"] for e in errors]
    problems = [
        f"{prefix}{_field_path(e['loc'], data) if audience == 'file' else _dotted(e['loc'])}: "
        + plain_words.get(e["type"], e["msg"])
        for e in errors
        if not any(other != e["loc"] and other[: len(e["loc"])] == e["loc"] for other in locations)
    ]
    shown = problems if limit is None else problems[:limit]
    more = len(problems) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more else "")


def _dotted(loc: tuple[int | str, ...]) -> str:
    """pydantic's location as `agenda.0.citations`."""
    return ".".join(str(part) for part in loc) or "(top level)"


def _field_path(loc: tuple[int | str, ...], data: object) -> str:
    """A location as `sections[2] (risks).title`: indices in brackets, list items named by their `key`."""
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and -len(node) <= part < len(node) else None
            key = item.get("key") if isinstance(item, dict) else None
            index = f"[{part}]" + (f" ({key})" if key else "")
            if parts:
                parts[-1] += index
            else:
                parts.append(index)
        else:
            parts.append(str(part))
        try:
            node = node[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            node = None
    return ".".join(parts) or "(top level)"
