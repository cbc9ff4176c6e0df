"""Shared fixtures: isolated config/cache folders, the seed, the CLI as a subprocess, and citation checks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from briefer.sentences import split_sentences
from briefer.sources import Source, load_sources

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "us-russia-riyadh-talks.txt"
EVAL = ROOT.parent / "shared" / "eval"


@pytest.fixture(autouse=True)
def isolated_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Never read or write the user's config or cache, nor pick up their keys."""
    home = tmp_path_factory.mktemp("home")
    for name, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_CACHE_HOME", "cache"),
        ("BRIEF_CACHE_DIR", "briefer-cache"),
    ):
        monkeypatch.setenv(name, str(home / sub))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "BRIEF_MODEL", "BRIEF_DEBUG", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    yield


def run_brief(
    *args: str, stdin: bytes | None = None, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real `brief` CLI (`python -m briefer`) as a subprocess."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "briefer", *args],
        input=stdin.decode("utf-8", errors="surrogateescape") if stdin is not None else None,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        cwd=cwd or ROOT,
        env=full_env,
        timeout=300,
    )


def start_to_interrupt(args: Sequence[str], **kwargs: Any) -> subprocess.Popen[str]:
    """Start the real CLI (`python -m briefer ARGS`, stderr piped) for a test that sends it Ctrl-C.

    A test run started in the background of a shell without job control (`pytest … &` in a
    script) has SIGINT ignored, and an ignored signal stays ignored in the programs it starts:
    the CLI would never see the test's Ctrl-C. So SIGINT is at its default while it starts.
    """
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # exec gives the child SIG_DFL
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "briefer", *args], cwd=ROOT, stderr=subprocess.PIPE, text=True, **kwargs
        )
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def brief_json(*args: str, **kwargs: Any) -> dict[str, Any]:
    """Run `brief … --format json` and return the parsed brief; the run must succeed."""
    result = run_brief(*args, "--format", "json", **kwargs)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_citations_grounded(brief: Mapping[str, Any], sources: Sequence[Source] | None = None) -> int:
    """Every citation names a real sentence whose text equals its quote; returns how many were checked.

    Sources are re-read from the paths the brief lists unless given.
    """
    if sources is None:
        sources = load_sources([s["path"] for s in brief["sources"]])
    by_id = {s.id: s for s in sources}
    assert [s["id"] for s in brief["sources"]] == [s.id for s in sources]
    sentences = split_sentences(sources)
    checked = 0
    for section in brief["sections"]:
        for item in section["items"]:
            assert item["citations"], f"item without citations: {item['text']!r}"
            for citation in item["citations"]:
                source = by_id[citation["source"]]
                numbered = sentences[source.id]
                assert 1 <= citation["sentence"] <= len(numbered), citation
                sentence = numbered[citation["sentence"] - 1]
                assert citation["quote"] == sentence.text, citation
                assert citation["quote"] in source.text
                if "start" in citation:
                    assert source.text[citation["start"] : citation["end"]] == citation["quote"]
                checked += 1
    return checked


def items_of(brief: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    return next(s["items"] for s in brief["sections"] if s["key"] == key)


ONE_SECTION = """name = "facts"
title = "Facts"
description = "One section of facts."

[[sections]]
key = "facts"
title = "Facts"
max_items = 5
description = "Facts stated in the text."
"""
"""A template of one point section, for tests that script a model's answers for it."""
