"""Output limits that fit the question: how many tokens an answer may take, from what the call asks for.

A call asking for a template's sections may answer at most `max_items` items per
section; each item gets an allowance (a person's name, role and citations; a
point's one sentence and citations, at the schema's length bounds), plus a
little for the JSON around them. A model that rambles or repeats itself (small
models loop inside JSON) is stopped there instead of at a flat limit. An answer
that does not fit is asked again with twice the limit, then split, as before.
`--max-tokens` sets one limit for every call instead.
"""

from __future__ import annotations

from briefer.differences import MAX_DIFFERENCES
from briefer.templates import SectionSpec, Template

PERSON_TOKENS = 60
"""A person: `{"name", "role", "citations"}` with a long role and two or three citations."""
POINT_TOKENS = 90
"""A point: one sentence of up to 300 characters and its citations."""
SECTION_TOKENS = 8
"""A section's key and brackets."""
ANSWER_TOKENS = 16
"""The answer's own braces, and room for a model's stray whitespace."""


def item_tokens(spec: SectionSpec) -> int:
    """The allowance of one item of section `spec`."""
    return PERSON_TOKENS if spec.items == "people" else POINT_TOKENS


def sections_budget(template: Template) -> int:
    """Output limit of a call asking for `template`'s sections: each at its `max_items`."""
    return ANSWER_TOKENS + sum(
        SECTION_TOKENS + spec.max_items * item_tokens(spec) for spec in template.sections
    )


MERGE_ID_TOKENS = 4
"""A candidate's id ("P12") in a merged point's list."""


def merged_points_budget(max_items: int, candidates: int) -> int:
    """Output limit of a call merging `candidates` points into at most `max_items` points."""
    return ANSWER_TOKENS + SECTION_TOKENS + max_items * POINT_TOKENS + candidates * MERGE_ID_TOKENS


def differences_budget() -> int:
    """Output limit of the call asking where sources differ (at most `MAX_DIFFERENCES` lines)."""
    return ANSWER_TOKENS + SECTION_TOKENS + MAX_DIFFERENCES * POINT_TOKENS


def output_limit(fixed: int | None, budget: int) -> int:
    """The limit a call is sent with: `--max-tokens` when given, else the call's own budget."""
    return fixed if fixed is not None else budget
