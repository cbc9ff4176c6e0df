"""describe_validation_error: one line for a pydantic error in a template, the config or a model's answer."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from briefer.errors import describe_validation_error


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Stop(_Strict):
    key: str
    city: str
    nights: int = 1


class Trip(_Strict):
    name: str
    days: int
    stops: tuple[Stop, ...] = Field(min_length=1)


def validation_error(data: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Trip.model_validate(data)
    return caught.value


BAD_TRIP = {
    "days": "a week",
    "stops": [{"key": "north", "city": "Tromsø", "nights": "two"}],
    "nmae": "Arctic",
}
INT_PROBLEM = "Input should be a valid integer, unable to parse string as an integer"


def test_a_file_names_each_field_and_says_what_is_wrong() -> None:
    message = describe_validation_error(validation_error(BAD_TRIP), BAD_TRIP)
    assert message == (
        "field name: missing (required); "
        f"field days: {INT_PROBLEM}; "
        f"field stops[0] (north).nights: {INT_PROBLEM}; "
        "field nmae: unknown field (check its spelling)"
    )


def test_without_the_input_list_items_go_unnamed() -> None:
    message = describe_validation_error(validation_error(BAD_TRIP))
    assert f"field stops[0].nights: {INT_PROBLEM}" in message


def test_a_model_answer_reads_as_pydantic_locations() -> None:
    message = describe_validation_error(validation_error(BAD_TRIP), audience="model")
    assert message == (
        f"name: Field required; days: {INT_PROBLEM}; stops.0.nights: {INT_PROBLEM}; nmae: unexpected field"
    )


def test_limit_shows_the_first_problems_and_counts_the_rest() -> None:
    message = describe_validation_error(validation_error(BAD_TRIP), audience="model", limit=2)
    assert message == f"name: Field required; days: {INT_PROBLEM}; and 2 more"


def test_a_problem_that_follows_from_a_deeper_one_is_left_out() -> None:
    data = {"name": "Arctic", "days": 5, "stops": [{"key": "north"}]}
    message = describe_validation_error(validation_error(data), data)
    assert message == "field stops[0] (north).city: missing (required)"  # not "stops: too short" too
    empty = {"name": "Arctic", "days": 5, "stops": []}
    assert describe_validation_error(validation_error(empty), empty) == (
        "field stops: Tuple should have at least 1 item after validation, not 0"
    )


def test_values_are_never_shown() -> None:
    data = {
        "name": "Arctic",
        "days": "sk-secret-key",
        "stops": [{"key": "n", "city": "x"}],
        "api_key": "sk-2",
    }
    for audience in ("file", "model"):
        message = describe_validation_error(validation_error(data), data, audience=audience)
        assert "sk-" not in message
