"""The `brief` command as users run it: outputs, formats, files, exit codes and messages."""

from __future__ import annotations

import json
from pathlib import Path

from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin

from tests.conftest import SEED, assert_citations_grounded, brief_json, items_of, run_brief

ARTICLE_A = """# Talks in Geneva

Foreign Minister Anna Berg met Prime Minister Jonas Dahl in Geneva on Monday to discuss a trade agreement.
Berg said the talks would focus on tariffs and fishing rights.
"""

ARTICLE_B = """# Reaction in Brussels

European Commission President Clara Weiss welcomed the talks between the two governments.
Weiss said the European Union was ready to support a deal and open to hosting a follow-up meeting.
It remains unclear whether the fishing dispute will be settled before the summer.
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_output_file_is_markdown_with_headings_bullets_and_resolving_footnotes(tmp_path: Path) -> None:
    out = tmp_path / "brief.md"
    result = run_brief(str(SEED), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == f"Wrote {out}\n"
    md = MarkdownIt("commonmark").use(footnote_plugin)
    tokens = md.parse(out.read_text(encoding="utf-8"))
    headings = [
        (tok.tag, tokens[i + 1].content) for i, tok in enumerate(tokens) if tok.type == "heading_open"
    ]
    assert headings[0] == ("h1", "Policy brief: us russia riyadh talks")
    assert [text for tag, text in headings if tag == "h2"] == [
        "Participants",
        "Agenda",
        "European reaction",
        "Open questions",
        "Sources",
    ]
    refs = {
        tok.meta["label"]
        for tok in tokens
        if tok.type == "inline"
        for tok in tok.children or []
        if tok.type == "footnote_ref"
    }
    defined = {tok.meta["label"] for tok in tokens if tok.type == "footnote_open"}
    assert refs and refs == defined  # every citation mark resolves to a footnote, none unused
    html = md.render(out.read_text(encoding="utf-8"))
    assert "<li>Marco Rubio — Secretary of State<sup" in html
    assert "S1:1: “Secretary of State Marco Rubio is assembly with Russian International Minister" in html


def test_format_is_taken_from_the_output_suffix(tmp_path: Path) -> None:
    out = tmp_path / "brief.json"
    assert run_brief(str(SEED), "-o", str(out), "-q").returncode == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["sources"][0]["id"] == "S1"
    assert_citations_grounded(data)


def test_markdown_to_stdout_for_redirection() -> None:
    result = run_brief(str(SEED), "--format", "markdown")
    assert result.returncode == 0
    assert result.stdout.startswith("# Policy brief: us russia riyadh talks\n")
    assert result.stderr == ""


def test_failed_run_leaves_an_existing_file_untouched_and_creates_none(tmp_path: Path) -> None:
    existing = tmp_path / "brief.md"
    existing.write_text("my earlier brief\n", encoding="utf-8")
    result = run_brief(str(tmp_path / "missing.txt"), "-o", str(existing))
    assert result.returncode == 2
    assert existing.read_text(encoding="utf-8") == "my earlier brief\n"
    fresh = tmp_path / "new.md"
    assert run_brief(str(tmp_path / "missing.txt"), "-o", str(fresh)).returncode == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["brief.md"]  # no temporary files left


def test_output_into_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = run_brief(str(SEED), "-o", str(tmp_path / "nope" / "brief.md"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"brief: error: cannot write {tmp_path / 'nope' / 'brief.md'}: folder {tmp_path / 'nope'} does not exist"
    ]


def test_several_files_give_one_brief_whose_items_cite_the_right_sources(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.md", ARTICLE_A)
    b = _write(tmp_path, "b.md", ARTICLE_B)
    brief = brief_json(str(a), str(b))
    assert [(s["id"], s["title"]) for s in brief["sources"]] == [
        ("S1", "Talks in Geneva"),
        ("S2", "Reaction in Brussels"),
    ]
    assert brief["title"] == "Policy brief: 2 sources"
    people = {i["name"]: i for i in items_of(brief, "participants")}
    assert people["Anna Berg"]["role"] == "Foreign Minister"
    assert people["Jonas Dahl"]["role"] == "Prime Minister"
    assert people["Clara Weiss"]["role"] == "European Commission President"
    assert {c["source"] for c in people["Anna Berg"]["citations"]} == {"S1"}
    assert {c["source"] for c in people["Clara Weiss"]["citations"]} == {"S2"}
    european = items_of(brief, "european_reaction")
    assert european and all(c["source"] == "S2" for i in european for c in i["citations"])
    questions = items_of(brief, "open_questions")
    assert any("remains unclear" in i["text"] and i["citations"][0]["source"] == "S2" for i in questions)
    assert assert_citations_grounded(brief) >= 5


def test_a_directory_is_read_recursively_in_sorted_order(tmp_path: Path) -> None:
    _write(tmp_path, "b.md", ARTICLE_B)
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub", "a.txt", ARTICLE_A)
    _write(tmp_path, "notes.csv", "not,a,source\n")
    brief = brief_json(str(tmp_path))
    assert [Path(s["path"]).name for s in brief["sources"]] == ["b.md", "a.txt"]


def test_document_text_is_never_markup_or_terminal_control(tmp_path: Path) -> None:
    hostile = _write(
        tmp_path,
        "hostile.txt",
        "# [bold red]Alert[/bold red]\n\n"
        "Foreign Minister Anna Berg said [bold red]the talks[/bold red] would focus on a trade agreement.\n"
        "Berg added that the \x1b[31mtrade agreement\x1b[0m talks were expected to focus on tariffs.\n",
    )
    result = run_brief(str(hostile), "--plain", env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Policy brief: [bold red]Alert[/bold red]\n")
    assert "the talks[/bold red]" in result.stdout
    assert "\x1b" not in result.stdout
    assert "\\x1b[31mtrade agreement\\x1b[0m" in result.stdout
    markdown = run_brief(str(hostile), "--format", "markdown").stdout
    assert "\x1b" not in markdown and "\\\\x1b" in markdown
    assert "# Policy brief: \\[bold red\\]Alert\\[/bold red\\]" in markdown
    data = json.loads(run_brief(str(hostile), "--format", "json").stdout)
    quotes = [c["quote"] for s in data["sections"] for i in s["items"] for c in i["citations"]]
    assert any("\x1b[31m" in q for q in quotes)  # JSON keeps the exact text, escaped by JSON itself


def test_templates_are_listed_and_selectable(tmp_path: Path) -> None:
    listing = run_brief("templates")
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert any(line.startswith("policy ") and "European reaction" in line for line in lines)
    assert any(line.startswith("executive ") for line in lines)
    brief = brief_json(str(SEED), "-t", "executive")
    assert brief["template"] == "executive"
    assert [s["key"] for s in brief["sections"]] == ["key_points", "implications", "risks", "next_steps"]
    assert all(s["items"] for s in brief["sections"])
    assert_citations_grounded(brief)


def test_a_template_file_adds_sections_without_code(tmp_path: Path) -> None:
    template = _write(
        tmp_path,
        "mine.toml",
        'name = "mine"\ntitle = "My brief"\ndescription = "People and money."\n'
        '[[sections]]\nkey = "who"\ntitle = "Who"\nitems = "people"\ndescription = "People named."\n'
        '[[sections]]\nkey = "money"\ntitle = "Money"\ndescription = "Sums, funds and costs."\n'
        '[sections.extractive.cues]\n"fund" = 2\n"sanctions" = 2\n',
    )
    brief = brief_json(str(SEED), "-t", str(template))
    assert brief["title"] == "My brief: us russia riyadh talks"
    assert [s["title"] for s in brief["sections"]] == ["Who", "Money"]
    assert any("sovereign wealth fund" in i["text"] for i in items_of(brief, "money"))
    assert_citations_grounded(brief)


def test_a_malformed_template_names_the_file_and_the_field(tmp_path: Path) -> None:
    bad = _write(
        tmp_path,
        "bad.toml",
        'name = "bad"\ntitle = "Bad"\ndescription = "x"\n[[sections]]\nkey = "who"\ntitel = "Who"\ndescription = "y"\n',
    )
    result = run_brief(str(SEED), "-t", str(bad))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"brief: error: template {bad}: field sections[0] (who).title: missing (required); "
        "field sections[0] (who).titel: unknown field (check its spelling)"
    ]
    unknown = run_brief(str(SEED), "-t", "nosuch")
    assert unknown.returncode == 2
    assert unknown.stderr == (
        "brief: error: template nosuch: no such template; choose one of executive, negotiation, policy, "
        "reactions, sitrep or give a path to a .toml file\n"
    )


def test_usage_errors_are_one_line_with_exit_code_2() -> None:
    for args in ([], [str(SEED), "--format", "pdf"], [str(SEED), "--bogus"]):
        result = run_brief(*args)
        assert result.returncode == 2, args
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert result.stderr.startswith("brief: error: ")
        assert "Traceback" not in result.stderr


def test_version_and_help() -> None:
    version = run_brief("--version")
    assert version.returncode == 0 and version.stdout.startswith("brief, version ")
    helptext = run_brief("--help")
    assert helptext.returncode == 0
    assert "Examples:" in helptext.stdout and "Exit codes:" in helptext.stdout


def test_html_is_one_page_where_each_citation_carries_its_quote(tmp_path: Path) -> None:
    from html.parser import HTMLParser

    hostile = _write(
        tmp_path,
        "a.txt",
        "Foreign Minister Anna Berg said the talks would focus on a <script>alert(1)</script> trade agreement.\n",
    )
    out = tmp_path / "brief.html"
    assert run_brief(str(SEED), str(hostile), "-o", str(out), "-q").returncode == 0
    page = out.read_text(encoding="utf-8")
    data = brief_json(str(SEED), str(hostile))

    class Citations(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.titles: list[str] = []
            self.tags: set[str] = set()

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.tags.add(tag)
            if tag == "a":
                self.titles.append(dict(attrs)["title"] or "")

    parser = Citations()
    parser.feed(page)
    quotes = [c["quote"] for s in data["sections"] for i in s["items"] for c in i["citations"]]
    quotes += [c["quote"] for i in data["differences"] for c in i["citations"]]
    assert parser.titles == quotes
    assert "script" not in parser.tags and "&lt;script&gt;" in page
    assert not {"link", "img"} & parser.tags  # self-contained: nothing to fetch
