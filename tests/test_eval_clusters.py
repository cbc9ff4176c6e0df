"""Real multi-source news from ../shared/eval, read in place (never copied into the repository)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from briefer.people import fold
from tests.conftest import EVAL, assert_citations_grounded, brief_json, items_of, run_brief

WIKINEWS = EVAL / "multiling2011_sacrerouge" / "documents.jsonl"


def _cluster(instance: str, folder: Path) -> list[Path]:
    if not WIKINEWS.is_file():
        pytest.skip(f"{WIKINEWS} is absent: the shared evaluation data is not on this machine")
    paths = []
    for line in WIKINEWS.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["instance_id"] != instance:
            continue
        for document in record["documents"]:
            path = folder / f"{document['filename']}.txt"
            path.write_text("\n".join(document["text"]) + "\n", encoding="utf-8")
            paths.append(path)
    return sorted(paths)


@pytest.mark.parametrize("instance", ["M000", "M001", "M002"])
def test_a_ten_article_wikinews_cluster(instance: str, tmp_path: Path) -> None:
    paths = _cluster(instance, tmp_path)
    assert len(paths) == 10
    brief: dict[str, Any] = brief_json(str(tmp_path))
    assert [Path(s["path"]).name for s in brief["sources"]] == [p.name for p in paths]
    assert assert_citations_grounded(brief) >= 10  # a shorter brief since points must add enough (LEAST_GAIN)
    people = items_of(brief, "participants")
    assert people, "a news cluster names people"
    names = [fold(p["name"]) for p in people]
    assert len(names) == len(set(names)), names
    full_surnames = {n.split()[-1] for n in names if len(n.split()) > 1}
    # A surname alone was merged into the full name it belongs to.
    assert not [n for n in names if len(n.split()) == 1 and n in full_surnames]
    assert not [p["name"] for p in people if p["name"].isupper()]  # acronyms are not people
    cited_sources = {c["source"] for s in brief["sections"] for i in s["items"] for c in i["citations"]}
    assert len(cited_sources) >= 5
    assert any(i["sources"] >= 2 for i in people)


def test_the_same_sources_give_the_same_brief_in_every_run(tmp_path: Path) -> None:
    """Python orders a set of strings differently in each process (PYTHONHASHSEED); no choice
    of point, citation or section may follow that order. This cluster and template showed it."""
    _cluster("M002", tmp_path)
    outputs = {
        seed: run_brief(str(tmp_path), "-t", "negotiation", "--format", "json", env={"PYTHONHASHSEED": seed})
        for seed in ("0", "8", "18")
    }
    assert all(result.returncode == 0 for result in outputs.values())
    assert len({result.stdout for result in outputs.values()}) == 1
