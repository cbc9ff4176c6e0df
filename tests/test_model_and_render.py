"""The Brief model derived from a template, and the renderers, on briefs the library makes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from rich.console import Console

from briefer import Brief, brief_model, load_sources, load_template, make_brief, render_json, render_markdown
from briefer.errors import TemplateError
from briefer.render import terminal_renderable
from briefer.templates import parse_template
from tests.conftest import SEED, assert_citations_grounded


@pytest.fixture(scope="module")
def seed_brief() -> Brief:
    return make_brief(load_sources([str(SEED)]), "policy")


def test_the_brief_model_is_derived_from_the_template(seed_brief: Brief) -> None:
    model = brief_model(load_template("policy"))
    data = json.loads(seed_brief.to_json())
    assert model.model_validate(data).sections[0].key == "participants"
    reordered = dict(data, sections=list(reversed(data["sections"])))
    with pytest.raises(ValidationError):
        model.model_validate(reordered)
    missing_name = json.loads(json.dumps(data))
    del missing_name["sections"][0]["items"][0]["name"]
    with pytest.raises(ValidationError):
        model.model_validate(missing_name)  # people items need a name
    uncited = json.loads(json.dumps(data))
    uncited["sections"][1]["items"][0]["citations"] = []
    with pytest.raises(ValidationError):
        model.model_validate(uncited)  # every item cites at least one sentence
    schema = model.model_json_schema()
    assert "ParticipantsSection" in schema["$defs"] and "OpenQuestionsSection" in schema["$defs"]


def test_a_new_section_is_data_not_code() -> None:
    template = parse_template(
        'name = "t"\ntitle = "T"\ndescription = "d"\n'
        '[[sections]]\nkey = "asian_reaction"\ntitle = "Asian reaction"\ndescription = "How Asian governments responded."\n',
        "inline",
    )
    model = brief_model(template)
    assert "AsianReactionSection" in model.model_json_schema()["$defs"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            'name = "t"\ntitle = "T"\ndescription = "d"\nsections = []\n',
            "field sections: Tuple should have at least 1 item",
        ),
        (
            'name = "t"\ntitle = "T"\ndescription = "d"\n[[sections]]\nkey = "Bad Key"\ntitle = "x"\ndescription = "y"\n',
            "field sections[0] (Bad Key).key: String should match pattern",
        ),
        (
            'name = "t"\ntitle = "T"\ndescription = "d"\n[[sections]]\nkey = "a"\ntitle = "x"\ndescription = "y"\n'
            '[[sections]]\nkey = "a"\ntitle = "z"\ndescription = "y"\n',
            "duplicate section key(s): a",
        ),
        (
            'name = "t"\ntitle = "T"\ndescription = "d"\n[[sections]]\nkey = "a"\ntitle = "x"\ndescription = "y"\n'
            'items = "things"\n',
            "field sections[0] (a).items: Input should be 'people' or 'points'",
        ),
        ("name = \n", "not valid TOML"),
    ],
)
def test_bad_templates_name_where_and_what(text: str, problem: str) -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template(text, "my.toml")
    assert str(caught.value).startswith("template my.toml: ")
    assert problem in str(caught.value)


def test_terminal_rendering_into_a_string(seed_brief: Brief) -> None:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(terminal_renderable(seed_brief))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    lines = [line.rstrip() for line in text.splitlines()]
    assert lines[0] == "Policy brief: us russia riyadh talks"
    assert any(line.startswith("  • Marco Rubio — Secretary of State [S1:1,3,7]") for line in lines)
    checked = seed_brief.verification.citations_checked
    assert (
        lines[-1] == f"Template policy, engine extractive; {checked} citations checked against the sources."
    )
    # Wrapped item text keeps its hanging indent under the bullet.
    wrapped = [line for line in lines if line.startswith("    ") and not line.startswith("     ")]
    assert wrapped


def test_markdown_and_json_hold_the_same_citations(seed_brief: Brief) -> None:
    markdown = render_markdown(seed_brief)
    data = json.loads(render_json(seed_brief))
    for section in data["sections"]:
        for item in section["items"]:
            for citation in item["citations"]:
                label = f"[^{citation['source']}-{citation['sentence']}]"
                assert label in markdown
                assert f"{label}: {citation['source']}:{citation['sentence']}: “" in markdown
    assert assert_citations_grounded(data) == data["verification"]["citations_checked"]


def test_library_briefs_several_sources_in_order(tmp_path: Path) -> None:
    first = tmp_path / "first.txt"
    first.write_text(
        "Defence Minister Lena Holm said the talks would focus on air defence.\n", encoding="utf-8"
    )
    second = tmp_path / "second.txt"
    second.write_text(
        "Holm met Foreign Secretary Omar Patel in London to discuss a new agreement.\n", encoding="utf-8"
    )
    brief = make_brief(load_sources([str(first), str(second)]))
    people = {i.name: i for i in brief.section("participants").items}
    assert people["Lena Holm"].role == "Defence Minister"
    # "Holm" in the second source joins Lena Holm from the first.
    assert [c.source for c in people["Lena Holm"].citations] == ["S1", "S2"]
    assert people["Lena Holm"].sources == 2
    assert people["Omar Patel"].role == "Foreign Secretary"
