"""Hostile file names, template titles and descriptions, and text that looks like Markdown: every
renderer shows them as text. Markdown is parsed back (markdown-it, with tables, footnotes and
raw HTML enabled) to see what a reader's viewer would make of it."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin
from rich.console import Console

from briefer import Brief, load_sources, make_brief, render_html, render_markdown
from briefer.render import terminal_renderable
from tests.conftest import SEED, run_brief

HOSTILE_NAME = "x\n\n# Injected heading\n\n<img src=x onerror=alert(1)>\n.txt"
HOSTILE_TITLE = "Facts\n\n# Injected title\n\n<script>alert(1)</script>"


def _parse(markdown: str) -> list[Any]:
    parser = MarkdownIt("commonmark", {"html": True}).enable("table").use(footnote_plugin)
    tokens = parser.parse(markdown)
    return tokens + [child for token in tokens for child in (token.children or [])]


def _headings(markdown: str) -> list[str]:
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    return [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]


def _raw_html(markdown: str) -> list[str]:
    return [t.content for t in _parse(markdown) if t.type in ("html_block", "html_inline")]


def _images(markdown: str) -> list[str]:
    return [t.content for t in _parse(markdown) if t.type == "image"]


@pytest.fixture(scope="module")
def seed_brief() -> Brief:
    return make_brief(load_sources([str(SEED)]), "policy")


def _hostile_copy(folder: Path) -> Path:
    path = folder / HOSTILE_NAME
    path.write_bytes(SEED.read_bytes())
    return path


def test_a_file_name_with_newlines_and_html_stays_one_escaped_field(tmp_path: Path) -> None:
    path = _hostile_copy(tmp_path)
    markdown = run_brief(str(path), "--format", "markdown", "--template", "executive").stdout
    assert "Injected heading" in markdown
    assert "Injected heading" not in _headings(markdown)
    assert _raw_html(markdown) == []
    source_rows = [line for line in markdown.splitlines() if line.startswith("| **S1**")]
    assert len(source_rows) == 1 and "Injected heading" in source_rows[0]
    html = run_brief(str(path), "--format", "html", "--template", "executive").stdout
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    terminal = run_brief(str(path), "--plain", "--template", "executive", env={"COLUMNS": "300"}).stdout
    assert not any(line.lstrip().startswith("# Injected") for line in terminal.splitlines())


def test_template_section_titles_with_newlines_stay_on_their_heading(tmp_path: Path) -> None:
    template = tmp_path / "hostile.toml"
    template.write_text(
        'name = "hostile"\ntitle = "Brief"\ndescription = "d"\n'
        f'[[sections]]\nkey = "facts"\ntitle = {json.dumps(HOSTILE_TITLE)}\n'
        'description = "The main facts: who did what, when and where, with numbers."\n',
        encoding="utf-8",
    )
    markdown = run_brief(str(SEED), "--format", "markdown", "-t", str(template)).stdout
    headings = _headings(markdown)
    assert "Injected title" not in headings
    assert any(h.startswith("Facts") and "Injected title" in h for h in headings)
    assert _raw_html(markdown) == []
    html = run_brief(str(SEED), "--format", "html", "-t", str(template)).stdout
    assert "<script>" not in html
    terminal = run_brief(str(SEED), "--plain", "-t", str(template), env={"COLUMNS": "300"}).stdout
    assert "Facts # Injected title <script>alert(1)</script>" in terminal.splitlines()


def test_brief_templates_shows_a_users_description_without_escape_sequences(tmp_path: Path) -> None:
    config = tmp_path / "config"
    folder = config / "briefer" / "templates"
    folder.mkdir(parents=True)
    (folder / "evil.toml").write_text(
        'name = "evil"\ntitle = "T"\n'
        'description = "Red \\u001b[31malert\\u001b[0m and \\u001b]8;;https://example.com\\u0007a link'
        '\\u001b]8;;\\u0007\\nsecond line"\n'
        '[[sections]]\nkey = "k"\ntitle = "K"\ndescription = "The main facts of the matter."\n',
        encoding="utf-8",
    )
    result = run_brief("templates", env={"XDG_CONFIG_HOME": str(config)})  # piped, as in a script
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("evil"))
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert line == (
        "evil         Red \\x1b[31malert\\x1b[0m and \\x1b]8;;https://example.com\\x07a link"
        "\\x1b]8;;\\x07 second line (yours)"
    )


def _with_item_texts(brief: Brief, texts: list[str]) -> Brief:
    """`brief` with the first items of its first section given these texts (their citations kept)."""
    section = brief.sections[1]
    assert len(section.items) >= len(texts)
    items = [item.model_copy(update={"text": text}) for item, text in zip(section.items, texts, strict=False)]
    sections = list(brief.sections)
    sections[1] = section.model_copy(update={"items": items + section.items[len(texts) :]})
    return brief.model_copy(update={"sections": sections})


def test_entities_and_exclamation_marks_show_as_written(seed_brief: Brief) -> None:
    brief = _with_item_texts(
        seed_brief, ["Talks resumed!", "The filter turns &lt; into < and &amp; into &.", "# Not a heading"]
    )
    markdown = render_markdown(brief)
    assert _images(markdown) == []
    rendered = MarkdownIt("commonmark").enable("table").use(footnote_plugin).render(markdown)
    assert "Talks resumed!<sup" in rendered  # the footnote follows the "!", not an image
    assert "The filter turns &amp;lt; into &lt; and &amp;amp; into &amp;." in rendered
    assert "Not a heading" not in _headings(markdown)
    html = render_html(brief)
    assert "The filter turns &amp;lt; into &lt; and &amp;amp; into &amp;." in html


def test_the_terminal_shows_titles_on_one_line(seed_brief: Brief) -> None:
    sections = list(seed_brief.sections)
    sections[0] = sections[0].model_copy(update={"title": "Who\n\nINJECTED LINE"})
    brief = seed_brief.model_copy(update={"sections": sections, "title": "Brief\r\nFAKE TITLE"})
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(terminal_renderable(brief))
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert lines[0] == "Brief FAKE TITLE"
    assert "Who INJECTED LINE" in lines


def test_errors_and_warnings_about_a_hostile_file_name_stay_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no\nbrief: error: fake line"
    result = run_brief(str(missing))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"brief: error: {tmp_path}/no brief: error: fake line: no such file or directory"
    ]
    path = _hostile_copy(tmp_path)
    plan = run_brief(str(path), "--dry-run", env={"OPENAI_API_KEY": "sk-test"})
    assert plan.returncode == 0, plan.stderr
    assert not any(line.startswith("# Injected") for line in plan.stdout.splitlines())
