"""Inputs that must not exhaust memory, hang the run or read what was not asked for: archive
bombs, oversized sources, servers that drip or inflate, UTF-16 without a mark, symlinks out of
a directory. Hostile files are generated in tmp_path; hostile servers are scripted-server pages."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from briefer.errors import SourceError
from briefer.formats.sniff import looks_binary, utf16_without_bom
from briefer.sources import load_sources
from tests.conftest import ROOT, SEED, run_brief
from tests.scripted_server import (
    ScriptedServer,
    dripping_headers_page,
    gzip_bomb_page,
    text_page,
)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _docx_inflating_to(size: int) -> bytes:
    """A real Word document (python-docx) whose one paragraph is `size` characters of one letter:
    a few kilobytes on disk, `size` bytes once unpacked."""
    import docx

    document = docx.Document()
    document.add_paragraph("Officials met on Monday. " + "a" * size)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_a_docx_that_unpacks_past_the_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.docx"
    bomb.write_bytes(_docx_inflating_to(2_000_000))
    assert bomb.stat().st_size < 50_000
    result = run_brief(str(bomb), env={"BRIEF_MAX_CHARS": "100000"})
    assert result.returncode == 2
    assert re.match(
        rf"brief: error: {re.escape(str(bomb))}: unpacks to 2\.\d MB, past the 1 MB limit", result.stderr
    )
    assert result.stderr.strip().endswith(
        "for unpacked documents (10 bytes per character allowed; set BRIEF_MAX_CHARS to raise it)"
    )


def test_the_default_limit_refuses_a_300_mb_docx_in_little_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            for _ in range(300):
                member.write(b" " * 1_000_000)
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(SourceError, match=r"unpacks to 300 MB, past the 50 MB limit"):
        load_sources([str(bomb)])


def test_sources_past_the_characters_limit_name_the_one_that_crossed_it(tmp_path: Path) -> None:
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_bytes(SEED.read_bytes())
    second.write_bytes(SEED.read_bytes())
    length = len(load_sources([str(first)])[0].text)
    result = run_brief(str(first), str(second), env={"BRIEF_MAX_CHARS": str(length + 10)})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"brief: error: {second}: brings the sources to {2 * length:,} characters, "
        f"past the {length + 10:,} limit (set BRIEF_MAX_CHARS to raise it)"
    )
    assert run_brief(str(first), str(second), env={"BRIEF_MAX_CHARS": str(2 * length)}).returncode == 0


def test_stdin_past_the_byte_limit_is_refused_without_reading_it_all() -> None:
    result = run_brief("-", stdin=b"word " * 200_000, env={"BRIEF_MAX_CHARS": "10000"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "brief: error: <stdin>: is larger than the 100 KB limit for inputs "
        "(10 bytes per character allowed; set BRIEF_MAX_CHARS to raise it)"
    )


def test_a_file_past_the_byte_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"The council met on Monday and agreed on the budget. " * 40_000)  # 2 MB
    result = run_brief(str(big), env={"BRIEF_MAX_CHARS": "100000"})
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"brief: error: {big}: is larger than the 1 MB limit for inputs")


def test_a_bad_characters_limit_is_a_usage_error() -> None:
    result = run_brief(str(SEED), env={"BRIEF_MAX_CHARS": "lots"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "brief: error: BRIEF_MAX_CHARS must be a whole number of characters above 0, not 'lots'"
    )


def _fetch_brief(
    url: str, env: dict[str, str], limit: float = 60
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "briefer", url],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, **env},
            timeout=limit,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"still fetching after {limit:g} s")
    return result, time.monotonic() - started


def test_the_fetch_deadline_covers_headers_that_never_end() -> None:
    with ScriptedServer(pages={"/drip": dripping_headers_page(0.5)}) as server:
        result, took = _fetch_brief(server.page_url("/drip"), {"BRIEF_FETCH_TIMEOUT": "2"}, limit=30)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"brief: error: {server.page_url('/drip')}: timed out after 2 s (set BRIEF_FETCH_TIMEOUT to wait longer)"
    )
    assert took < 15


def test_a_fetched_body_is_limited_after_decompression() -> None:
    with ScriptedServer(pages={"/bomb": gzip_bomb_page(20_000_000)}) as server:
        result, _ = _fetch_brief(server.page_url("/bomb"), {"BRIEF_FETCH_MAX_BYTES": "1000000"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"brief: error: {server.page_url('/bomb')}: larger than the 1,000,000 bytes limit "
        "(set BRIEF_FETCH_MAX_BYTES to raise it)"
    )


def test_a_fetched_page_counts_towards_the_characters_limit() -> None:
    page = text_page(SEED.read_bytes())
    with ScriptedServer(pages={"/article.txt": page}) as server:
        url = server.page_url("/article.txt")
        result, _ = _fetch_brief(url, {"BRIEF_MAX_CHARS": "1000"})
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"brief: error: {url}: brings the sources to ")
    assert result.stderr.strip().endswith("past the 1,000 limit (set BRIEF_MAX_CHARS to raise it)")


def test_a_fetched_docx_bomb_is_refused_before_parsing() -> None:
    with ScriptedServer(pages={"/report.docx": text_page(_docx_inflating_to(2_000_000), DOCX)}) as server:
        url = server.page_url("/report.docx")
        result, _ = _fetch_brief(url, {"BRIEF_MAX_CHARS": "100000"})
    assert result.returncode == 2
    assert re.match(
        rf"brief: error: {re.escape(url)}: unpacks to 2\.\d MB, past the 1 MB limit", result.stderr
    )


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_read_as_text(tmp_path: Path, codec: str) -> None:
    text = SEED.read_text(encoding="utf-8")
    path = tmp_path / "article.txt"
    path.write_bytes(text.encode(codec))
    result = run_brief(str(path), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert (
        result.stderr.strip()
        == f"brief: warning: {path}: not UTF-8; decoded as UTF-16 (detected, no byte-order mark)"
    )
    assert load_sources([str(path)])[0].text == load_sources([str(SEED)])[0].text


def test_binary_data_is_still_binary() -> None:
    executable = Path(sys.executable).resolve().read_bytes()[:8192]
    assert looks_binary(executable) and utf16_without_bom(executable) is None
    assert looks_binary(bytes(range(256)) * 8)
    assert looks_binary(b"\x00\x00\x00\x01" * 100)


def test_a_symlink_out_of_a_directory_source_is_skipped_with_a_warning(tmp_path: Path) -> None:
    folder, outside = tmp_path / "notes", tmp_path / "private"
    folder.mkdir()
    outside.mkdir()
    (folder / "article.txt").write_bytes(SEED.read_bytes())
    secret = outside / "secret.txt"
    secret.write_text(
        "Foreign Minister Anna Berg said her account password is hunter2, officials said on Monday.\n",
        encoding="utf-8",
    )
    (folder / "linked.txt").symlink_to(secret)
    (folder / "inside.txt").symlink_to(folder / "article.txt")  # a link within the folder is fine
    result = run_brief(str(folder), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "hunter2" not in result.stdout
    assert (
        f"brief: warning: {folder / 'linked.txt'}: a link to a file outside {folder}; "
        "skipped (name the file itself to read it)"
    ) in result.stderr.splitlines()
    named = run_brief(str(folder / "linked.txt"), "--format", "json")
    assert named.returncode == 0 and "hunter2" in named.stdout
