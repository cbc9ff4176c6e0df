"""The quality benchmark's baselines and measures, on sentences made up here (no eval data, no rouge-score)."""

from __future__ import annotations

import importlib.util
import sys
from itertools import pairwise
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_quality.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_quality", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    try:
        spec.loader.exec_module(module)
    except ImportError as error:
        del sys.modules[spec.name]
        pytest.skip(f"benchmarks/bench_quality.py does not import here: {error}")
    return module


ARTICLES = [
    ["A one.", "A two."],
    ["B one two three.", "B four.", "B five."],
    ["C one."],
]


def test_lead_takes_each_articles_first_sentence_then_each_second(bench: ModuleType) -> None:
    assert list(bench.round_robin(ARTICLES)) == [
        "A one.",
        "B one two three.",
        "C one.",
        "A two.",
        "B four.",
        "B five.",
    ]


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        (2, "A one."),
        (5, "A one. B one two"),  # cut inside the second sentence
        (8, "A one. B one two three. C one."),
        (99, "A one. B one two three. C one. A two. B four. B five."),  # all there is
    ],
)
def test_lead_is_cut_at_exactly_the_budget(bench: ModuleType, budget: int, expected: str) -> None:
    lead = bench.lead_baseline(ARTICLES, budget)
    assert lead == expected
    assert len(bench.words(lead)) == min(budget, 14)


def test_a_dash_between_name_and_role_is_not_a_word(bench: ModuleType) -> None:
    assert bench.words("Marco Rubio — Secretary of State") == ["Marco", "Rubio", "Secretary", "of", "State"]


HUB = "Negotiators in Cairo discussed the ceasefire, the hostages and aid trucks for Gaza."
SPOKES = [
    "The ceasefire in Gaza held overnight.",
    "Hostages were freed as negotiators waited.",
    "Aid trucks crossed from Egypt at dawn.",
    "Cairo hosted negotiators from both sides.",
    "The weather in Paris was sunny and mild.",
]


def test_lexrank_ranks_the_sentence_like_all_others_first(bench: ModuleType) -> None:
    sentences = [*SPOKES[:2], HUB, *SPOKES[2:]]
    scores = bench.lexrank_scores(bench.similarity_matrix(sentences))
    assert scores.argmax() == sentences.index(HUB)
    assert abs(scores.sum() - 1) < 1e-6
    assert bench.lexrank_order(sentences)[0] == HUB
    # the sentence like no other is the least central, yet not zero: damping reaches it too
    assert scores.argmin() == sentences.index(SPOKES[-1])
    assert scores.min() > 0


def test_lexrank_leaves_out_a_repeated_sentence_and_cuts_at_the_budget(bench: ModuleType) -> None:
    sentences = [HUB, *SPOKES, HUB]
    order = bench.lexrank_order(sentences)
    assert order.count(HUB) == 1
    assert sorted(order) == sorted([HUB, *SPOKES])
    summary = bench.lexrank_baseline([[HUB, *SPOKES[:2]], [*SPOKES[2:], HUB]], 17)
    assert summary.startswith(HUB)
    assert len(bench.words(summary)) == 17


def test_content_coverage_counts_distinct_content_words_of_the_reference(bench: ModuleType) -> None:
    # reference content words: talks, riyadh, ended (the, in, are stop words)
    assert bench.content_coverage("Talks in Riyadh", "The talks in Riyadh ended, talks ended.") == 2 / 3
    assert bench.content_coverage("", "The talks ended.") == 0.0


def test_without_the_eval_folder_it_says_so_and_exits_0(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    absent = tmp_path / "eval"
    monkeypatch.setattr(bench, "EVAL", absent)
    assert bench.main(["--limit", "1"]) == 0
    assert capsys.readouterr().out == f"Skipping: {absent} is absent.\n"


class _BigramRecall:
    """Stands in for rouge-score's scorer: the share of the reference's word pairs the text has."""

    def score(self, reference: str, text: str) -> dict[str, object]:
        def pairs(s: str) -> set[tuple[str, str]]:
            tokens = s.lower().replace(".", "").split()
            return set(pairwise(tokens))

        wanted = pairs(reference)
        recall = len(wanted & pairs(text)) / len(wanted) if wanted else 0.0
        return {"rouge2": type("Score", (), {"recall": recall})()}


def test_the_oracle_takes_what_the_reference_says_and_stops_when_nothing_adds(bench: ModuleType) -> None:
    articles = [["The weather was mild.", "Aid trucks crossed at dawn."], ["Talks ended in Cairo today."]]
    reference = "Talks ended in Cairo. Aid trucks crossed."
    # the two sentences sharing word pairs with the reference, most first; the weather adds nothing
    assert (
        bench.oracle(articles, [reference], _BigramRecall(), 99)
        == "Talks ended in Cairo today. Aid trucks crossed at dawn."
    )
    assert bench.oracle(articles, [reference], _BigramRecall(), 3) == "Talks ended in"
