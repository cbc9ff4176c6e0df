"""The answer a model must give for a chunk: a JSON schema derived from the template, and its checks.

One field per section key: a list of people ({name, role, citations}) or of
points ({text, citations}); citations are sentence ids such as "S1:4", listed
as an enum of the ids the model was shown, so a server that enforces the
schema cannot cite a sentence that doesn't exist. All fields are required and
no others allowed, as strict structured output wants.
The schema also bounds list and string lengths (`minItems` 1 citation,
`maxItems`, `maxLength`), which keeps grammar-constrained local models citing
and from writing forever; servers that refuse those keywords get
`unbounded(schema)`. The shape and those bounds are always checked
locally with pydantic, because some servers accept a schema and don't enforce it.

Every string a model writes is cleaned as it is parsed: lone UTF-16 surrogates
(which no output format can encode), terminal escape sequences, control
characters and bidi overrides are removed, and the API key, should the model
repeat it, is blanked out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model

from briefer.differences import MAX_DIFFERENCES
from briefer.errors import describe_validation_error
from briefer.redact import redact_known
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
MAX_ID_CHARS = 20
"""Longest sentence or candidate id ("S12:345", "P32") an answer may give; the enum is shorter still."""

# A terminal escape sequence (CSI, OSC up to its terminator, or a two-character one), a lone
# surrogate, a C0/C1 control other than whitespace, or a bidi override/isolate.
_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?")
_DROPPED = re.compile(r"[\ud800-\udfff\x00-\x08\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SPACED = re.compile(r"[\t\n\v\f\r\x85\u2028\u2029]")


def clean_model_text(text: object) -> object:
    """`text` a model wrote, safe to show and to encode: no lone surrogates, terminal escapes,
    control characters or bidi overrides (line breaks become spaces), and no API key.
    Anything but a string is left for pydantic to reject."""
    if not isinstance(text, str):
        return text
    text = _DROPPED.sub("", _ESCAPE.sub("", text))
    return redact_known(_SPACED.sub(" ", text))


# Strings as the schema bounds them, cleaned first (pydantic refuses a lone surrogate outright).
_PointText = Annotated[str, Field(max_length=MAX_TEXT_CHARS), BeforeValidator(clean_model_text)]
_Name = Annotated[str, Field(max_length=MAX_NAME_CHARS), BeforeValidator(clean_model_text)]
_Role = Annotated[str, Field(max_length=MAX_ROLE_CHARS), BeforeValidator(clean_model_text)]
_Id = Annotated[str, Field(max_length=MAX_ID_CHARS), BeforeValidator(clean_model_text)]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PointAnswer(_Answer):
    text: _PointText
    citations: list[_Id] = Field(max_length=MAX_CITATIONS)


class PersonAnswer(_Answer):
    name: _Name
    role: _Role
    citations: list[_Id] = Field(max_length=MAX_CITATIONS)


class MergedPoint(_Answer):
    text: _PointText
    merges: list[_Id]


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
    except RecursionError:
        raise AnswerError("not valid JSON: nested too deeply") from None
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
