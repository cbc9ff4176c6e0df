"""Templates and everyday command-line use: built-ins, user templates, ad-hoc sections, streams."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from briefer.templates import builtin_dir
from tests.conftest import ROOT, SEED, assert_citations_grounded, brief_json, items_of, run_brief

BUILT_INS = {
    "policy": ["participants", "agenda", "european_reaction", "open_questions"],
    "executive": ["key_points", "implications", "risks", "next_steps"],
    "negotiation": ["parties", "positions", "concessions", "sticking_points", "next_steps"],
    "sitrep": ["what_happened", "timeline", "actors", "impacts", "outlook"],
    "reactions": ["countries", "blocs", "actors"],
}


def _user_templates() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "briefer" / "templates"


@pytest.mark.parametrize("name", sorted(BUILT_INS))
def test_every_built_in_template_briefs_the_seed_offline(name: str) -> None:
    brief = brief_json(str(SEED), "-t", name)
    assert brief["template"] == name
    assert [s["key"] for s in brief["sections"]] == BUILT_INS[name]
    empty = [s["key"] for s in brief["sections"] if not s["items"]]
    assert not empty, f"{name}: empty sections {empty}"
    assert assert_citations_grounded(brief) >= 10
    people = [s for s in brief["sections"] if s["items"] and "name" in s["items"][0]]
    for section in people:
        assert "Marco Rubio" in [i["name"] for i in section["items"]]


def test_sitrep_timeline_follows_the_source_order() -> None:
    timeline = items_of(brief_json(str(SEED), "-t", "sitrep"), "timeline")
    numbers = [i["citations"][0]["sentence"] for i in timeline]
    assert numbers == sorted(numbers) and len(numbers) >= 3


def test_listing_shows_every_template_with_its_description() -> None:
    result = run_brief("templates")
    assert result.returncode == 0
    listed = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert set(listed) == set(BUILT_INS)
    for name in BUILT_INS:
        description = tomllib.loads((Path(str(builtin_dir())) / f"{name}.toml").read_text())["description"]
        assert listed[name].endswith(description)


def test_show_prints_the_template_file() -> None:
    result = run_brief("templates", "show", "negotiation")
    assert result.returncode == 0
    assert result.stdout == (ROOT / "prompts" / "negotiation.toml").read_text(encoding="utf-8")
    missing = run_brief("templates", "show", "nosuch")
    assert missing.returncode == 2
    assert missing.stderr.startswith("brief templates: error: template nosuch: no such template")


def test_path_new_and_override_precedence(tmp_path: Path) -> None:
    folder = run_brief("templates", "path").stdout.strip()
    assert folder == str(_user_templates())
    created = run_brief("templates", "new", "mine", "--from", "executive")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == str(_user_templates() / "mine.toml")
    text = (_user_templates() / "mine.toml").read_text(encoding="utf-8")
    assert 'name = "mine"' in text and "key_points" in text
    assert run_brief("templates", "new", "mine").returncode == 2  # never overwrites
    brief = brief_json(str(SEED), "-t", "mine")
    assert brief["template"] == "mine"
    assert [s["key"] for s in brief["sections"]] == BUILT_INS["executive"]
    # A user template named like a built-in wins over it.
    policy = (ROOT / "prompts" / "policy.toml").read_text(encoding="utf-8")
    (_user_templates() / "policy.toml").write_text(
        policy.replace('title = "Policy brief"', 'title = "Our house policy brief"'), encoding="utf-8"
    )
    assert brief_json(str(SEED))["title"] == "Our house policy brief: us russia riyadh talks"
    listing = run_brief("templates").stdout
    assert any(line.startswith("policy ") and line.endswith("(yours)") for line in listing.splitlines())
    # -t with a path uses that file directly.
    copy = tmp_path / "copy.toml"
    copy.write_text(text.replace('title = "Executive brief"', 'title = "From a file"'), encoding="utf-8")
    assert brief_json(str(SEED), "-t", str(copy))["title"] == "From a file: us russia riyadh talks"


def test_a_bad_user_template_names_the_file_the_field_and_the_problem() -> None:
    _user_templates().mkdir(parents=True)
    bad = _user_templates() / "broken.toml"
    bad.write_text(
        'name = "broken"\ntitle = "B"\ndescription = "d"\n[[sections]]\nkey = "a"\ntitle = "A"\n'
        'description = "x"\nmax_items = 0\n',
        encoding="utf-8",
    )
    result = run_brief(str(SEED), "-t", "broken")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"brief: error: template {bad}: field sections[0] (a).max_items: Input should be greater than or equal to 1"
    ]


def test_ad_hoc_sections_add_and_replace() -> None:
    brief = brief_json(
        str(SEED),
        "--section",
        "asian_reaction: How Asian governments responded",
        "--section",
        "agenda: Money involved: funds, sanctions and economic issues",
    )
    keys = [s["key"] for s in brief["sections"]]
    assert keys == ["participants", "agenda", "european_reaction", "open_questions", "asian_reaction"]
    assert brief["sections"][-1]["title"] == "Asian reaction"
    assert brief["sections"][-1]["items"] == []  # the seed says nothing of Asia; nothing is made up
    agenda = items_of(brief, "agenda")
    assert any("sovereign wealth fund" in i["text"] for i in agenda)
    bad = run_brief(str(SEED), "--section", "no description")
    assert bad.returncode == 2
    assert bad.stderr.startswith(
        "brief: error: --section 'no description': write it as \"key: what belongs there\""
    )


def _run_with_terminal(args: list[str], env: dict[str, str], stdout_tty: bool) -> tuple[int, bytes, bytes]:
    """Run the CLI with stderr (and optionally stdout) on a pseudo-terminal; return (code, stdout, stderr)."""
    master, slave = pty.openpty()
    full_env = {**os.environ, **env, "COLUMNS": "120", "TERM": "xterm-256color"}
    process = subprocess.Popen(
        [sys.executable, "-m", "briefer", *args],
        stdout=slave if stdout_tty else subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env=full_env,
    )
    os.close(slave)
    terminal = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        terminal += chunk
    out = process.stdout.read() if process.stdout else b""
    code = process.wait(timeout=300)
    os.close(master)
    return code, out, terminal


def test_json_on_stdout_parses_while_progress_shows_on_a_terminal() -> None:
    code, out, terminal = _run_with_terminal([str(SEED), "--format", "json"], {}, stdout_tty=False)
    assert code == 0
    brief = json.loads(out)
    assert brief["sections"][0]["items"]
    assert b"Briefing" in terminal  # progress went to stderr, on the terminal
    code, out, terminal = _run_with_terminal([str(SEED), "--format", "json", "--quiet"], {}, stdout_tty=False)
    assert code == 0 and json.loads(out) and b"Briefing" not in terminal


def test_colour_on_a_terminal_unless_no_color_or_plain() -> None:
    colour = re.compile(rb"\x1b\[[0-9;]*(?:3[0-9]|9[0-7])m")  # foreground colour codes
    _, _, styled = _run_with_terminal([str(SEED), "-q"], {}, stdout_tty=True)
    assert colour.search(styled) and b"\x1b[1m" in styled and b"Marco Rubio" in styled
    _, _, no_color = _run_with_terminal([str(SEED), "-q"], {"NO_COLOR": "1"}, stdout_tty=True)
    assert b"Marco Rubio" in no_color and not colour.search(no_color)
    _, _, plain = _run_with_terminal([str(SEED), "-q", "--plain"], {}, stdout_tty=True)
    assert b"Marco Rubio" in plain and b"\x1b[" not in plain


def test_tracebacks_only_under_brief_debug(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.txt")
    quiet = run_brief(missing)
    assert quiet.returncode == 2 and "Traceback" not in quiet.stderr
    loud = run_brief(missing, env={"BRIEF_DEBUG": "1"})
    assert loud.returncode != 0 and "Traceback" in loud.stderr and "SourceError" in loud.stderr


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc, where no file can be created")
def test_exit_codes_0_written_1_run_failed_2_bad_input(tmp_path: Path) -> None:
    assert run_brief(str(SEED), "-o", str(tmp_path / "ok.md"), "-q").returncode == 0
    failed = run_brief(str(SEED), "-o", "/proc/brief.md")
    assert failed.returncode == 1
    assert failed.stderr.splitlines() == [
        "brief: error: cannot write /proc/brief.md: No such file or directory"
    ]
    assert run_brief(str(tmp_path / "missing.txt")).returncode == 2
