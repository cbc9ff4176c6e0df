"""Loading sources: numbering, titles, directories, decoding, and the errors bad input gives."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from conftest import assert_citations_grounded, brief_json, items_of, run_brief

from briefer.errors import SourceError, UsageError
from briefer.sources import load_sources

BODY = "The delegations met for three hours on Tuesday.\nThey agreed to meet again next month.\n"

STDIN_TEXT = (
    "Foreign Minister Anna Berg met Prime Minister Jonas Dahl in Oslo on Monday.\n"
    "The two leaders discussed energy cooperation and Arctic security.\n"
    "Berg said the talks were constructive.\n"
    "Dahl announced that a joint statement would follow next week.\n"
)


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode("utf-8"))
    return path


@pytest.fixture
def briefer_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> pytest.LogCaptureFixture:
    """Capture WARNINGs of logger "briefer", even after an in-process CLI run turned propagation off."""
    monkeypatch.setattr(logging.getLogger("briefer"), "propagate", True)
    caplog.set_level(logging.WARNING, logger="briefer")
    return caplog


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "briefer" and r.levelno == logging.WARNING]


# ---------------------------------------------------------------- numbering and titles


def test_sources_are_numbered_in_argument_order(tmp_path: Path) -> None:
    c = write(tmp_path / "c.txt", "Gamma text here.\n")
    a = write(tmp_path / "a.txt", "Alpha text here.\n")
    b = write(tmp_path / "b.md", "Beta text here.\n")

    sources = load_sources([str(c), str(a), str(b)])

    assert [s.id for s in sources] == ["S1", "S2", "S3"]
    assert [s.path for s in sources] == [str(c), str(a), str(b)]
    assert [s.text for s in sources] == ["Gamma text here.\n", "Alpha text here.\n", "Beta text here.\n"]


def test_markdown_heading_is_the_title(tmp_path: Path) -> None:
    path = write(tmp_path / "notes.md", "# Riyadh talks: day one\n\nThe delegations met on Tuesday.\n")
    assert load_sources([str(path)])[0].title == "Riyadh talks: day one"


def test_markdown_heading_with_closing_hashes_and_deeper_level(tmp_path: Path) -> None:
    path = write(tmp_path / "notes.md", "\n## Summit outcome ##\nThe delegations met on Tuesday.\n")
    assert load_sources([str(path)])[0].title == "Summit outcome"


def test_short_first_line_followed_by_blank_line_is_the_title(tmp_path: Path) -> None:
    path = write(tmp_path / "report.txt", "Ceasefire negotiations in Riyadh\n\n" + BODY)
    assert load_sources([str(path)])[0].title == "Ceasefire negotiations in Riyadh"


@pytest.mark.parametrize(
    ("text", "title", "date"),
    [
        (
            "London talks: police search houses\nTuesday, July 12, 2005\n" + BODY,
            "London talks: police search houses",
            "2005-07-12",
        ),
        ("Talks resume\n\n12 July 2005\n\n" + BODY, "Talks resume", "2005-07-12"),
        ("Talks resume\nBy Anna Berg\nWed. Feb. 19th, 2025\n\n" + BODY, "riyadh talks", "2025-02-19"),
        ("2025-02-18\n" + BODY, "riyadh talks", "2025-02-18"),  # a date is no title
        ("Talks resume\n\n" + BODY + "\nJuly 12, 2005\n", "Talks resume", None),  # too far down
        ("The talks resumed on July 12, 2005.\n\n" + BODY, "riyadh talks", None),  # more than a date
        ("Talks resume\nFebruary 30, 2025\n" + BODY, "riyadh talks", None),  # no such day
    ],
    ids=["headline-dateline", "blank-lines", "byline", "iso-alone", "far-down", "sentence", "bad-day"],
)
def test_a_headline_and_dateline_give_title_and_date(
    tmp_path: Path, text: str, title: str, date: str | None
) -> None:
    source = load_sources([str(write(tmp_path / "riyadh-talks.txt", text))])[0]
    assert (source.title, source.date) == (title, date)


def test_the_dateline_reaches_the_sources_table(tmp_path: Path) -> None:
    path = write(tmp_path / "wire.txt", "Talks resume in Riyadh\nTuesday, February 18, 2025\n" + BODY)
    brief = brief_json(str(path))
    assert [(s["title"], s["date"]) for s in brief["sources"]] == [("Talks resume in Riyadh", "2025-02-18")]


@pytest.mark.parametrize(
    "text",
    [
        BODY,  # the first line runs straight into the next: no heading
        # A sentence, not a title:
        "The delegations met for three hours on Tuesday.\n\nThey agreed to meet again.\n",
        "x" * 121 + "\n\nBody text follows here.\n",  # too long to be a title
    ],
    ids=["no-blank-line", "ends-with-full-stop", "too-long"],
)
def test_otherwise_the_title_is_the_file_name(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "riyadh-talks_day_2.txt", text)
    assert load_sources([str(path)])[0].title == "riyadh talks day 2"


# ---------------------------------------------------------------- directories


def test_directory_expands_to_text_files_recursively_in_sorted_order(tmp_path: Path) -> None:
    root = tmp_path / "notes"
    for name in ("g.txt", "a.txt", "c/e/f.md", "b.md", "c/d.txt"):
        write(root / name, f"Text of {name} is here.\n")
    # Ignored: other suffixes, hidden files, anything inside hidden directories.
    # (.html, .pdf and .docx files are read too: see test_formats.py.)
    write(root / "sheet.xlsx", b"PK\x03\x04 not a text file")
    write(root / "data.csv", "a,b\n1,2\n")
    write(root / "c" / "image.png", b"\x89PNG")
    write(root / ".hidden.txt", "Hidden text.\n")
    write(root / ".git" / "notes.md", "Inside a hidden directory.\n")
    write(root / "c" / ".cache" / "x.txt", "Inside a nested hidden directory.\n")

    sources = load_sources([str(root)])

    expected = ["a.txt", "b.md", "c/d.txt", "c/e/f.md", "g.txt"]
    assert [Path(s.path) for s in sources] == [root / name for name in expected]
    assert [s.id for s in sources] == ["S1", "S2", "S3", "S4", "S5"]
    assert [s.text for s in sources] == [f"Text of {name} is here.\n" for name in expected]


def test_directory_and_files_mix_keeps_argument_order(tmp_path: Path) -> None:
    first = write(tmp_path / "z-first.txt", "First file text.\n")
    folder = tmp_path / "folder"
    write(folder / "b.txt", "B text.\n")
    write(folder / "a.md", "A text.\n")
    last = write(tmp_path / "a-last.md", "Last file text.\n")

    sources = load_sources([str(first), str(folder), str(last)])

    assert [(s.id, Path(s.path).name) for s in sources] == [
        ("S1", "z-first.txt"),
        ("S2", "a.md"),
        ("S3", "b.txt"),
        ("S4", "a-last.md"),
    ]


def test_directory_without_text_files_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "attachments"
    write(folder / "sheet.xlsx", b"PK\x03\x04")
    write(folder / "photo.jpg", b"\xff\xd8\xff")
    write(folder / ".hidden.txt", "Hidden, so not counted.\n")

    with pytest.raises(SourceError) as caught:
        load_sources([str(folder)])

    assert str(folder) in str(caught.value)
    assert "no .txt, .md, .markdown, .html, .htm, .xhtml, .pdf or .docx files" in str(caught.value)
    assert caught.value.path == str(folder)
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == 2


# ---------------------------------------------------------------- decoding


def test_utf8_bom_is_not_part_of_the_text(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.txt", b"\xef\xbb\xbf# Z\xc3\xbcrich briefing\n\nText follows.\n")
    source = load_sources([str(path)])[0]
    assert source.text == "# Zürich briefing\n\nText follows.\n"
    assert "\ufeff" not in source.text
    assert source.title == "Zürich briefing"


def test_crlf_and_lone_cr_become_newlines(tmp_path: Path) -> None:
    path = write(
        tmp_path / "lines.txt", b"Title line\r\n\r\nFirst sentence.\r\nSecond sentence.\rThird sentence.\r"
    )
    source = load_sources([str(path)])[0]
    assert source.text == "Title line\n\nFirst sentence.\nSecond sentence.\nThird sentence.\n"
    assert "\r" not in source.text
    assert source.title == "Title line"


def test_legacy_8bit_text_is_detected_and_warned_about(
    tmp_path: Path, briefer_log: pytest.LogCaptureFixture
) -> None:
    # Short Latin-1/cp1252 text fits several code pages equally; cp1252 is preferred among equals.
    path = write(tmp_path / "latin1.txt", b"The mayor of Malm\xf6 spoke.\nThe caf\xe9 was closed.\n")

    source = load_sources([str(path)])[0]

    assert source.text == "The mayor of Malmö spoke.\nThe café was closed.\n"
    assert warnings_of(briefer_log) == [f"{path}: not UTF-8; decoded as cp1252 (detected)"]


def test_other_code_pages_are_detected(tmp_path: Path, briefer_log: pytest.LogCaptureFixture) -> None:
    text = "Министр иностранных дел встретился с премьером в Москве в понедельник.\n"
    path = write(tmp_path / "cp1251.txt", text.encode("cp1251"))

    assert load_sources([str(path)])[0].text == text
    assert warnings_of(briefer_log) == [f"{path}: not UTF-8; decoded as cp1251 (detected)"]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_a_byte_order_mark(
    tmp_path: Path, briefer_log: pytest.LogCaptureFixture, codec: str
) -> None:
    text = "# Tromsø talks\n\nAnna Berg met Jonas Dahl.\n"
    data = text.encode(codec) if codec != "utf-16-be" else b"\xfe\xff" + text.encode(codec)
    path = write(tmp_path / "wide.txt", data)

    source = load_sources([str(path)])[0]

    assert (source.text, source.title) == (text, "Tromsø talks")
    name = codec[:6].upper()
    assert warnings_of(briefer_log) == [f"{path}: not UTF-8; decoded as {name} (from its byte-order mark)"]


def test_undecodable_bytes_are_replaced_and_warned_about(
    tmp_path: Path, briefer_log: pytest.LogCaptureFixture
) -> None:
    # Valid multi-byte UTF-8 (ü, –) says the file is UTF-8; the stray \xf6 and \xe9 are damage, not cp1252.
    data = "Zürich – the mayor of Malm".encode() + b"\xf6 spoke.\nThe caf\xe9 was closed.\n"
    path = write(tmp_path / "damaged.txt", data)

    source = load_sources([str(path)])[0]

    assert source.text == "Zürich – the mayor of Malm\ufffd spoke.\nThe caf\ufffd was closed.\n"
    warnings = warnings_of(briefer_log)
    assert len(warnings) == 1
    assert str(path) in warnings[0]
    assert "not valid UTF-8" in warnings[0]
    assert "2 undecodable byte(s) replaced with U+FFFD" in warnings[0]
    assert "offset 29" in warnings[0]


def test_valid_utf8_logs_no_warning(tmp_path: Path, briefer_log: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path / "fine.txt", "Zürich, Kraków and Århus 😀.\n")
    assert load_sources([str(path)])[0].text == "Zürich, Kraków and Århus 😀.\n"
    assert warnings_of(briefer_log) == []


def test_undecodable_offset_counts_bom_bytes(tmp_path: Path, briefer_log: pytest.LogCaptureFixture) -> None:
    # \xff is byte 5 of the file (3 BOM bytes, then "ab").
    path = write(tmp_path / "bom-bad.txt", b"\xef\xbb\xbfab\xffc.\n")
    load_sources([str(path)])
    assert "offset 5" in warnings_of(briefer_log)[0]


def test_undecodable_byte_count_is_exact(tmp_path: Path, briefer_log: pytest.LogCaptureFixture) -> None:
    # One bad byte (\xff); the text already held a genuine U+FFFD, which is not an undecodable byte.
    path = write(tmp_path / "mixed.txt", "Already \ufffd here, then ".encode() + b"\xff.\n")
    load_sources([str(path)])
    assert "1 undecodable byte(s)" in warnings_of(briefer_log)[0]


# ---------------------------------------------------------------- bad inputs (library)


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Each kind of unreadable source: (path, words its error message must hold)."""
    no_text_dir = tmp_path / "scans"
    write(no_text_dir / "page1.tiff", b"II*\x00")
    write(no_text_dir / "page2.jpg", b"\xff\xd8\xff")
    return {
        "missing": (tmp_path / "does-not-exist.txt", "no such file or directory"),
        "empty": (write(tmp_path / "empty.txt", b""), "is empty"),
        "whitespace": (write(tmp_path / "blank.md", " \n\t\r\n   \n"), "is empty"),
        "bom-only": (write(tmp_path / "bom-only.txt", b"\xef\xbb\xbf\r\n"), "is empty"),
        "binary": (write(tmp_path / "data.txt", b"GIF89a\x00\x01\x02binary\x00stuff"), "binary"),
        "no-text-dir": (no_text_dir, "no .txt, .md, .markdown, .html, .htm, .xhtml, .pdf or .docx files"),
    }


BAD_KINDS = ["missing", "empty", "whitespace", "bom-only", "binary", "no-text-dir"]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_input_raises_source_error_naming_path_and_problem(tmp_path: Path, kind: str) -> None:
    path, problem = _bad_inputs(tmp_path)[kind]
    with pytest.raises(SourceError) as caught:
        load_sources([str(path)])
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert problem in message
    assert caught.value.path == str(path)


def test_bad_input_after_good_input_still_fails(tmp_path: Path) -> None:
    good = write(tmp_path / "good.txt", BODY)
    with pytest.raises(SourceError, match=r"missing\.txt: no such file or directory"):
        load_sources([str(good), str(tmp_path / "missing.txt")])


def test_no_arguments_is_an_error() -> None:
    with pytest.raises(SourceError, match="at least one"):
        load_sources([])


def test_empty_stdin_is_an_error() -> None:
    with pytest.raises(SourceError, match=r"^<stdin>: is empty"):
        load_sources(["-"], stdin=io.BytesIO(b"  \n"))


# ---------------------------------------------------------------- stdin and duplicates (library)


def test_dash_reads_stdin(tmp_path: Path) -> None:
    after = write(tmp_path / "after.txt", BODY)
    stdin = io.BytesIO(b"\xef\xbb\xbfFrom stdin.\r\nSecond line.\r\n")
    sources = load_sources(["-", str(after)], stdin=stdin)
    assert [(s.id, s.path) for s in sources] == [("S1", "-"), ("S2", str(after))]
    assert sources[0].text == "From stdin.\nSecond line.\n"
    assert sources[0].title == "stdin"


def test_same_file_twice_is_read_once_with_a_warning(
    tmp_path: Path, briefer_log: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "a.txt", BODY)
    other = write(tmp_path / "b.txt", "Another text.\n")
    monkeypatch.chdir(tmp_path)

    # The same file spelt three ways, with another file in between.
    sources = load_sources([str(path), str(other), "a.txt", "./a.txt"])

    assert [(s.id, Path(s.path).name) for s in sources] == [("S1", "a.txt"), ("S2", "b.txt")]
    warnings = warnings_of(briefer_log)
    assert len(warnings) == 2
    assert all("a.txt" in w and "more than once" in w for w in warnings)


def test_file_inside_a_directory_given_too_is_read_once(
    tmp_path: Path, briefer_log: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "folder"
    a = write(folder / "a.txt", "A text.\n")
    write(folder / "b.txt", "B text.\n")

    sources = load_sources([str(a), str(folder)])

    assert [Path(s.path).name for s in sources] == ["a.txt", "b.txt"]
    assert [s.id for s in sources] == ["S1", "S2"]
    assert len(warnings_of(briefer_log)) == 1


# ---------------------------------------------------------------- through the CLI


def _assert_one_error_line(result, path: Path, problem: str) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("brief: error: ")
    assert str(path) in lines[0]
    assert problem in lines[0]
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert result.stdout == ""


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_cli_bad_input_is_one_error_line_and_exit_2(tmp_path: Path, kind: str) -> None:
    path, problem = _bad_inputs(tmp_path)[kind]
    result = run_brief(str(path))
    _assert_one_error_line(result, path, problem)


def test_cli_bad_input_with_json_format_prints_nothing_on_stdout(tmp_path: Path) -> None:
    path, problem = _bad_inputs(tmp_path)["binary"]
    good = write(tmp_path / "good.txt", BODY)
    result = run_brief(str(good), str(path), "--format", "json")
    _assert_one_error_line(result, path, problem)


@pytest.mark.parametrize(
    ("data", "warning", "place"),
    [
        (b"in Troms\xf8 on Monday.", "not UTF-8; decoded as cp1252 (detected)", "Tromsø"),
        # Mostly UTF-8 (the en dash) with one damaged byte: replaced, not guessed.
        ("in Tromsø – ".encode() + b"Troms\xf8 on Monday.", "not valid UTF-8", "Troms\ufffd"),
    ],
    ids=["detected", "undecodable"],
)
def test_cli_non_utf8_text_warns_once_and_succeeds(
    tmp_path: Path, data: bytes, warning: str, place: str
) -> None:
    path = write(
        tmp_path / "legacy.txt",
        b"Foreign Minister Anna Berg met Prime Minister Jonas Dahl " + data + b"\n"
        b"The two leaders discussed energy cooperation and Arctic security.\n",
    )

    result = run_brief(str(path), "--format", "json")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("brief: warning:")]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].startswith(f"brief: warning: {path}: {warning}")
    assert "error" not in result.stderr
    brief = json.loads(result.stdout)
    assert [s["path"] for s in brief["sources"]] == [str(path)]
    assert assert_citations_grounded(brief) > 0
    quotes = [c["quote"] for sec in brief["sections"] for item in sec["items"] for c in item["citations"]]
    assert any(place in q for q in quotes)


def test_cli_quiet_suppresses_the_undecodable_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "cp1252.txt", b"The caf\xe9 in Oslo was closed on Monday.\n")
    result = run_brief(str(path), "--format", "json", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr


def test_cli_dash_reads_stdin() -> None:
    data = STDIN_TEXT.encode()
    brief = json.loads(_ok(run_brief("-", "--format", "json", stdin=data)))

    assert [(s["id"], s["path"], s["title"]) for s in brief["sources"]] == [("S1", "-", "stdin")]
    assert brief["sources"][0]["sentences"] == 4
    people = {item["name"]: item["role"] for item in items_of(brief, "participants")}
    assert people == {"Anna Berg": "Foreign Minister", "Jonas Dahl": "Prime Minister"}
    assert assert_citations_grounded(brief, load_sources(["-"], stdin=io.BytesIO(data))) >= 2


def test_cli_same_file_twice_is_one_source_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "talks.txt", STDIN_TEXT)

    result = run_brief(str(path), str(path), "--format", "json")

    brief = json.loads(_ok(result))
    assert [(s["id"], s["path"]) for s in brief["sources"]] == [("S1", str(path))]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("brief: warning:")]
    assert len(warnings) == 1, result.stderr
    assert str(path) in warnings[0] and "more than once" in warnings[0]


def _ok(result) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return str(result.stdout)
