"""The answer a model must give for a chunk: a JSON schema derived from the template, and its checks.

One field per section key: a list of people ({name, role, citations}) or of
points ({text, citations}); citations are sentence ids such as "S1:4", listed
as an enum of the ids the model was shown, so a server that enforces the
schema cannot cite a sentence that doesn't exist. All fields are required and
no others allowed, as strict structured output wants.
The schema also bounds list and string lengths (`minItems` 1 citation,
`maxItems`, `maxLength`), which keeps grammar-constrained local models citing
and from writing forever; servers that refuse those keywords get
`unbounded(schema)`. The shape is always checked
locally with pydantic, because some servers accept a schema and don't enforce it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from briefer.differences import MAX_DIFFERENCES
from briefer.errors import describe_validation_error
from briefer.templates import Template

SCHEMA_NAME = "brief_sections"
REDUCE_SCHEMA_NAME = "merged_points"
DIFFERENCES_SCHEMA_NAME = "source_differences"
_MAX_ERRORS_SHOWN = 5
MAX_CITATIONS = 5
MAX_TEXT_CHARS = 300
MAX_NAME_CHARS = 80
MAX_ROLE_CHARS = 150
_BOUNDS = frozenset({"minItems", "maxItems", "maxLength"})


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PointAnswer(_Answer):
    text: str
    citations: list[str]


class PersonAnswer(_Answer):
    name: str
    role: str
    citations: list[str]


class MergedPoint(_Answer):
    text: str
    merges: list[str]


class MergedPoints(_Answer):
    points: list[MergedPoint]


class DifferencesAnswer(_Answer):
    differences: list[PointAnswer]


class AnswerError(ValueError):
    """The model's answer is not JSON, or not JSON of the required shape; the message says what is wrong."""


def _citations() -> dict[str, Any]:
    return {"type": "array", "items": {"$ref": "#/$defs/id"}, "minItems": 1, "maxItems": MAX_CITATIONS}


def _string(max_length: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def sections_schema(template: Template, ids: Sequence[str]) -> dict[str, Any]:
    """The JSON schema of an answer for `template`, citing `ids`: one list per section, in template order."""
    defs: dict[str, Any] = {"id": {"type": "string", "enum": list(ids)}}
    properties: dict[str, Any] = {}
    for spec in template.sections:
        kind = "person" if spec.items == "people" else "point"
        properties[spec.key] = {
            "type": "array",
            "items": {"$ref": f"#/$defs/{kind}"},
            "maxItems": spec.max_items,
        }
        if kind == "person":
            defs["person"] = _object(
                {
                    "name": _string(MAX_NAME_CHARS),
                    "role": _string(MAX_ROLE_CHARS),
                    "citations": _citations(),
                }
            )
        else:
            defs["point"] = _object({"text": _string(MAX_TEXT_CHARS), "citations": _citations()})
    return {**_object(properties), "$defs": defs}


def reduce_schema(max_items: int, candidates: int) -> dict[str, Any]:
    """The JSON schema of a reduce answer: merged points, each naming the candidates it combines."""
    ids = [f"P{i}" for i in range(1, candidates + 1)]
    merges = {"type": "array", "items": {"type": "string", "enum": ids}, "maxItems": candidates}
    point = _object({"text": _string(MAX_TEXT_CHARS), "merges": merges})
    return _object({"points": {"type": "array", "items": point, "maxItems": max_items}})


def differences_schema(ids: Sequence[str]) -> dict[str, Any]:
    """The JSON schema of a differences answer: lines naming what differs, citing `ids`."""
    point = _object({"text": _string(MAX_TEXT_CHARS), "citations": _citations()})
    differences = {"type": "array", "items": point, "maxItems": MAX_DIFFERENCES}
    return {**_object({"differences": differences}), "$defs": {"id": {"type": "string", "enum": list(ids)}}}


def unbounded(schema: Any) -> Any:
    """`schema` without length bounds, for servers whose strict mode does not take them."""
    if isinstance(schema, dict):
        return {k: unbounded(v) for k, v in schema.items() if k not in _BOUNDS}
    if isinstance(schema, list):
        return [unbounded(v) for v in schema]
    return schema


def answer_model(template: Template) -> type[BaseModel]:
    """The pydantic model that checks an answer for `template` locally."""
    fields: dict[str, Any] = {
        spec.key: (list[PersonAnswer] if spec.items == "people" else list[PointAnswer], ...)
        for spec in template.sections
    }
    return create_model("SectionsAnswer", __base__=_Answer, **fields)


def parse_answer(content: str | None, model: type[BaseModel]) -> BaseModel:
    """The answer checked against `model`, or `AnswerError` with a short, exact description."""
    if not content or not content.strip():
        raise AnswerError("the answer was empty")
    text = _strip_fence(content)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnswerError(f"not valid JSON: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise AnswerError(describe_errors(exc)) from None


def describe_errors(exc: ValidationError) -> str:
    """A one-line summary of a validation error: `agenda.0.citations: Field required; …`."""
    return "does not match the schema: " + describe_validation_error(
        exc, audience="model", limit=_MAX_ERRORS_SHOWN
    )


def _strip_fence(text: str) -> str:
    """JSON inside a Markdown code fence, as some servers return in JSON mode."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        stripped = stripped.rsplit("```", 1)[0]
    return stripped
