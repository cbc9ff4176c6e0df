"""How the `brief` process ends: once a brief is written it exits at once (`os._exit`), without
freeing the run's objects one by one; what it wrote must be complete and the exit code right."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SEED, run_brief

CASUALTIES = "A bomb on the Piccadilly line killed {n} people on Thursday, police said.\n"


def _sources(folder: Path, count: int) -> list[str]:
    """`count` files, each the seed article with a figure of its own (~4,600 characters each)."""
    seed = SEED.read_text(encoding="utf-8")
    paths = []
    for i in range(1, count + 1):
        path = folder / f"s{i}.txt"
        path.write_text(seed + "\n" + CASUALTIES.format(n=20 + i), encoding="utf-8")
        paths.append(str(path))
    return paths


def test_an_output_file_is_complete_when_the_process_has_exited(tmp_path: Path) -> None:
    paths = _sources(tmp_path, 15)  # ~69,000 characters: split with a worker process
    out = tmp_path / "out" / "brief.json"
    out.parent.mkdir()
    written = run_brief(*paths, "--format", "json", "--jobs", "2", "-o", str(out))
    printed = run_brief(*paths, "--format", "json", "--jobs", "2")
    assert written.returncode == 0, written.stderr
    assert printed.returncode == 0, printed.stderr
    assert out.read_text(encoding="utf-8") == printed.stdout  # the same bytes, to the last one
    assert len(json.loads(printed.stdout)["sources"]) == 15
    assert [p.name for p in out.parent.iterdir()] == ["brief.json"]  # no temporary file left
    assert " ".join(written.stderr.split()) == f"Wrote {out}"  # stderr flushed before the exit


def test_a_brief_larger_than_a_pipe_buffer_reaches_stdout_whole(tmp_path: Path) -> None:
    paths = _sources(tmp_path, 12)
    with subprocess.Popen(
        [sys.executable, "-m", "briefer", *paths, "--format", "json", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    ) as proc:
        stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr.decode(errors="replace")
    assert len(stdout) > 65536  # more than a Linux pipe holds: written while the reader reads
    brief = json.loads(stdout)
    assert [s["id"] for s in brief["sources"]] == [f"S{i}" for i in range(1, 13)]
    assert stderr == b""


def test_exit_codes_stay_those_documented(tmp_path: Path) -> None:
    assert run_brief("--version").returncode == 0
    missing = run_brief(str(tmp_path / "nowhere.txt"))
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.startswith("brief: error:") and missing.stderr.count("\n") == 1
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n", encoding="utf-8")
    blank = run_brief(str(empty), "-o", str(tmp_path / "out.md"))
    assert blank.returncode == 2, blank.stderr
    assert not (tmp_path / "out.md").exists()
    ok = run_brief(str(SEED), "-o", str(tmp_path / "seed.md"), "-q")
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "seed.md").read_text(encoding="utf-8").startswith("# Policy brief")


def test_json_is_written_as_the_same_text_in_utf8(tmp_path: Path) -> None:
    from briefer import load_sources, make_brief, render_json
    from briefer.render import render_json_bytes

    source = tmp_path / "zürich.txt"
    source.write_text(
        "José Müller, Zürich’s mayor, said on Monday that the “new bridge” would open in 2027.\n"
        "The city council approved the plan, Müller said.\n",
        encoding="utf-8",
    )
    brief = make_brief(load_sources([str(source)]))
    text = render_json(brief)
    assert not text.isascii() and "José Müller" in text
    assert render_json_bytes(brief) == text.encode("utf-8")
    printed = run_brief(str(source), "--format", "json")
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == json.loads(text)
    out = tmp_path / "brief.json"
    written = run_brief(str(source), "--format", "json", "-o", str(out), "-q")
    assert written.returncode == 0, written.stderr
    assert out.read_bytes() == printed.stdout.encode("utf-8")
