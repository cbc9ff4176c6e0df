"""Start-up: `brief --help`, `--version` and `brief templates` import none of the heavy libraries.

spaCy and its model, the openai SDK and pydantic take most of a second to import;
these commands need none of them. The tests check which modules a real run imports
(`python -X importtime`), not how long it takes: timings belong to
benchmarks/bench_offline.py, and flake on a shared machine.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from briefer.engines import ENGINES
from tests.conftest import ROOT

HEAVY = ("spacy", "thinc", "openai", "pydantic", "tiktoken", "rich", "httpx")


def imported_by(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `python -X importtime -m briefer ARGS`; the result and every module it imported."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "briefer", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    return result, modules


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["templates"], ["templates", "path"]])
def test_quick_commands_import_no_heavy_library(args: list[str]) -> None:
    result, modules = imported_by(*args)
    assert result.returncode == 0, result.stderr
    assert "briefer.cli" in modules  # the run was seen
    assert sorted(m for m in modules if m.split(".")[0] in HEAVY) == []


def test_help_lists_every_engine_and_input_kind_without_importing_them() -> None:
    result, modules = imported_by("--help")
    assert "-e, --engine [extractive|local|openai]" in result.stdout
    from briefer.formats import supported_suffixes

    listed = f"SOURCE is a file ({', '.join(supported_suffixes())}), a directory"
    assert listed in " ".join(result.stdout.split())
    assert not any(m.startswith("briefer.engines.") for m in modules)


def test_the_engine_registry_names_each_class_by_its_own_name() -> None:
    # The registry lists names without importing the classes; each class must carry that name.
    assert sorted(ENGINES) == ["extractive", "local", "openai"]
    for name in ENGINES:
        assert ENGINES[name].name == name


def test_the_templates_listing_matches_the_validated_templates() -> None:
    from briefer.templates import builtin_templates

    result, _ = imported_by("templates")
    listed = [line.split(None, 1) for line in result.stdout.splitlines()]
    assert listed == [[name, t.description] for name, t in builtin_templates().items()]


def test_import_briefer_is_light_and_every_public_name_resolves() -> None:
    code = (
        f"import sys, briefer; heavy = [m for m in sys.modules if m.split('.')[0] in {HEAVY!r}]; "
        "print(len(heavy)); [getattr(briefer, n) for n in briefer.__all__]; print('pydantic' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "True"]  # nothing heavy until a name is used; then all there
