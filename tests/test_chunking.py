"""Sentences (offsets, numbering, line handling) and chunks (whole sentences within a token budget)."""

from __future__ import annotations

import textwrap
from itertools import pairwise
from pathlib import Path

import pytest
from conftest import SEED, assert_citations_grounded, brief_json, run_brief

from briefer.chunking import chunk_sentences
from briefer.sentences import Sentence, split_sentences
from briefer.sources import Source, load_sources
from briefer.tokens import count_tokens

PARAGRAPH_SENTENCES = [
    "Secretary of State Marco Rubio met Russian Foreign Minister Sergei Lavrov in Riyadh on Tuesday "
    "to discuss restoring embassies and a path toward ending the war in Ukraine.",
    "The talks lasted more than four hours and were described by both delegations as useful "
    "and businesslike despite deep disagreements over sanctions.",
    "European governments were not invited and several of them complained that decisions about "
    "the security of the continent were being made without them.",
    "Ukrainian President Volodymyr Zelenskyy said that his country would not accept any agreement "
    "reached behind its back.",
]


def source(text: str, sid: str = "S1") -> Source:
    return Source(id=sid, path=f"{sid}.txt", title=sid, text=text)


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def seed_sentences() -> tuple[Source, list[Sentence]]:
    seed = load_sources([str(SEED)])[0]
    return seed, split_sentences([seed])[seed.id]


# ---------------------------------------------------------------- sentences


def test_sentence_offsets_slice_the_source_text_and_numbers_run_per_source(tmp_path: Path) -> None:
    first = tmp_path / "first.md"
    first.write_bytes(
        "\ufeff# Zürich summit\r\n\r\nThe ministers met in Zürich on Monday. They talked for hours!\r\n"
        "- Energy prices were discussed.\r\n- So was Arctic security.\r\n\r\n"
        "Did they agree? Nobody knows yet. 😀 The end.\r\n".encode()
    )
    second = tmp_path / "second.txt"
    second.write_text("A second source starts here. It has its own numbering.\n", encoding="utf-8")
    sources = load_sources([str(first), str(second)])

    split = split_sentences(sources)

    assert list(split) == ["S1", "S2"]
    for src in sources:
        sentences = split[src.id]
        assert sentences, src.id
        assert [s.number for s in sentences] == list(range(1, len(sentences) + 1))
        assert all(s.source == src.id for s in sentences)
        assert [s.ref for s in sentences] == [f"{src.id}:{n}" for n in range(1, len(sentences) + 1)]
        for s in sentences:
            assert src.text[s.start : s.end] == s.text
            assert s.text == s.text.strip() and s.text
        starts = [s.start for s in sentences]
        assert starts == sorted(starts)
        assert all(a.end <= b.start for a, b in pairwise(sentences))
    assert [s.text for s in split["S2"]] == ["A second source starts here.", "It has its own numbering."]
    s1 = [s.text for s in split["S1"]]
    # A heading and each list item are sentences of their own; the emoji stays in the text.
    assert s1 == [
        "# Zürich summit",
        "The ministers met in Zürich on Monday.",
        "They talked for hours!",
        "- Energy prices were discussed.",
        "- So was Arctic security.",
        "Did they agree?",
        "Nobody knows yet.",
        "😀 The end.",
    ]


def test_sentence_tokens_and_entities_point_into_the_source() -> None:
    src = source("Foreign Minister Anna Berg met Prime Minister Jonas Dahl in Oslo on Monday.\n")
    (sentence,) = split_sentences([src])["S1"]
    for token in sentence.tokens:
        assert sentence.start <= token.start < token.end <= sentence.end
    for entity in sentence.entities:
        assert src.text[entity.start : entity.end] == entity.text
    assert {e.text for e in sentence.entities if e.label == "PERSON"} >= {"Anna Berg", "Jonas Dahl"}


def test_hard_wrapped_paragraph_yields_whole_sentences_across_line_breaks() -> None:
    wrapped = textwrap.fill(" ".join(PARAGRAPH_SENTENCES), width=60) + "\n\nA short closing paragraph.\n"
    lines = wrapped.split("\n")
    assert max(len(line) for line in lines) <= 60
    # The wrap really breaks sentences: most lines stop mid-sentence.
    assert sum(1 for line in lines if line and not line.endswith(".")) >= 5
    src = source(wrapped)

    sentences = split_sentences([src])["S1"]

    assert [squash(s.text) for s in sentences] == [*PARAGRAPH_SENTENCES, "A short closing paragraph."]
    assert all(src.text[s.start : s.end] == s.text for s in sentences)
    # Offsets are in the original text, so the newlines are still there inside the sentences.
    assert sum(1 for s in sentences if "\n" in s.text) >= 3


def test_crlf_wrapped_file_gives_the_same_sentences(tmp_path: Path) -> None:
    wrapped = textwrap.fill(" ".join(PARAGRAPH_SENTENCES), width=58)
    path = tmp_path / "wrapped.txt"
    path.write_bytes(wrapped.replace("\n", "\r\n").encode())
    src = load_sources([str(path)])[0]
    assert [squash(s.text) for s in split_sentences([src])["S1"]] == PARAGRAPH_SENTENCES


def test_wrapped_line_ending_in_bracket_or_semicolon_mid_sentence_is_joined() -> None:
    text = (
        "The foreign ministers (both newly appointed)\n"
        "met in Oslo on Monday with their aides;\n"
        "the visit lasted a single day.\n"
    )
    sentences = split_sentences([source(text)])["S1"]
    assert [squash(s.text) for s in sentences] == [
        "The foreign ministers (both newly appointed) met in Oslo on Monday with their aides; "
        "the visit lasted a single day."
    ]


def test_seed_lines_are_sentence_boundaries(seed_sentences: tuple[Source, list[Sentence]]) -> None:
    seed, sentences = seed_sentences
    lines = seed.text.split("\n")
    non_empty = [line for line in lines if line.strip()]
    assert len(non_empty) == 25
    assert all(line.rstrip().endswith((".", ".”")) for line in non_empty)

    # No sentence crosses a newline …
    assert all("\n" not in s.text for s in sentences)
    # … and each line's end is the end of a sentence.
    ends = {s.end for s in sentences}
    pos = 0
    for line in lines:
        if line.strip():
            assert pos + len(line.rstrip()) in ends, line
        pos += len(line) + 1
    assert len(sentences) >= 25
    assert sentences[0].text == non_empty[0]
    assert sentences[-1].text == "The Related Press and Reuters contributed to this story."
    assert all(seed.text[s.start : s.end] == s.text for s in sentences)
    assert [s.number for s in sentences] == list(range(1, len(sentences) + 1))


# ---------------------------------------------------------------- chunks


@pytest.mark.parametrize("budget", [64, 120, 400, 3000])
def test_chunks_hold_whole_sentences_in_order_within_budget(
    seed_sentences: tuple[Source, list[Sentence]], budget: int
) -> None:
    _, sentences = seed_sentences

    chunks = chunk_sentences(sentences, budget)

    # Every sentence exactly once, in order, unchanged (the longest seed sentence has 60 tokens).
    assert max(count_tokens(s.text) for s in sentences) <= 64
    assert [s for c in chunks for s in c.sentences] == sentences
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(c.source == "S1" for c in chunks)
    for chunk in chunks:
        assert chunk.sentences
        assert chunk.tokens == count_tokens(chunk.text)
        assert chunk.tokens <= budget
        assert chunk.text == " ".join(s.text for s in chunk.sentences)
    # Greedy packing: the next chunk's first sentence would not have fitted in the one before.
    for before, after in pairwise(chunks):
        assert count_tokens(before.text + " " + after.sentences[0].text) > budget
    if budget == 3000:
        assert len(chunks) == 1


def test_chunks_of_many_sources_keep_their_source(seed_sentences: tuple[Source, list[Sentence]]) -> None:
    _, seed = seed_sentences
    other = split_sentences([source("One sentence here. Another one there.", "S2")])["S2"]
    assert [c.source for c in chunk_sentences(other, 100)] == ["S2"]
    assert {c.source for c in chunk_sentences(seed, 100)} == {"S1"}


def test_empty_sentence_list_gives_no_chunks() -> None:
    assert chunk_sentences([], 100) == []


def test_budget_below_one_is_refused(seed_sentences: tuple[Source, list[Sentence]]) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        chunk_sentences(seed_sentences[1], 0)


@pytest.mark.parametrize(
    "text, budget",
    [("seed", 64), ("seed", 120), ("2024 was busy. 2025 will be busier. 300 came. 42 left early.", 12)],
    ids=["seed-64", "seed-120", "digits-12"],
)
def test_chunk_text_counted_with_count_tokens_stays_within_budget(
    seed_sentences: tuple[Source, list[Sentence]], text: str, budget: int
) -> None:
    sentences = seed_sentences[1] if text == "seed" else split_sentences([source(text)])["S1"]
    for chunk in chunk_sentences(sentences, budget):
        assert count_tokens(chunk.text) <= budget, (chunk.tokens, chunk.text)


def _long_sentence_source() -> tuple[Source, list[Sentence]]:
    long = ("Zürich ünïcødé 😀 " * 150).strip() + "."
    text = f"The meeting began at noon. {long} The meeting ended at six."
    src = source(text)
    sentences = split_sentences([src])["S1"]
    assert [s.text for s in sentences] == ["The meeting began at noon.", long, "The meeting ended at six."]
    return src, sentences


@pytest.mark.parametrize("budget", [50, 37, 7, 2, 1])
def test_over_long_sentence_is_cut_into_pieces_that_rebuild_it(budget: int) -> None:
    src, sentences = _long_sentence_source()
    long = sentences[1]
    assert count_tokens(long.text) > budget

    chunks = chunk_sentences(sentences, budget)

    pieces = [c.sentences[0] for c in chunks if c.sentences[0].number == 2]
    assert len(pieces) >= count_tokens(long.text) // budget
    assert all(len(c.sentences) == 1 for c in chunks if c.sentences[0].number == 2)
    assert "".join(p.text for p in pieces) == long.text
    for piece in pieces:
        assert piece.source == "S1" and piece.number == 2 and piece.ref == "S1:2"
        assert piece.text
        assert src.text[piece.start : piece.end] == piece.text
        assert count_tokens(piece.text) <= budget
    assert all(a.end == b.start for a, b in pairwise(pieces))
    assert pieces[0].start == long.start and pieces[-1].end == long.end
    # The sentences around it stay whole and in order; every chunk keeps to the budget.
    numbers = [s.number for c in chunks for s in c.sentences]
    assert numbers == sorted(numbers)
    assert set(numbers) == {1, 2, 3}
    whole = [s for c in chunks for s in c.sentences if s.number != 2]
    if budget >= 7:
        assert whole == [sentences[0], sentences[2]]
    for chunk in chunks:
        assert chunk.tokens <= budget
        assert count_tokens(chunk.text) <= budget
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_over_long_sentence_pieces_follow_and_precede_fitting_sentences() -> None:
    _, sentences = _long_sentence_source()
    chunks = chunk_sentences(sentences, 50)
    # The short sentences are not packed into a piece's chunk.
    assert [s.number for s in chunks[0].sentences] == [1]
    assert [s.number for s in chunks[-1].sentences] == [3]
    assert all([s.number for s in c.sentences] == [2] for c in chunks[1:-1])


# ---------------------------------------------------------------- --chunk-tokens through the CLI


@pytest.mark.parametrize("value", ["49", "0", "-5"])
def test_cli_chunk_tokens_below_50_is_a_usage_error(value: str) -> None:
    result = run_brief(str(SEED), f"--chunk-tokens={value}")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("brief: error: ")
    assert "--chunk-tokens" in lines[0]
    assert value in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_cli_chunk_tokens_not_a_number_is_a_usage_error() -> None:
    result = run_brief(str(SEED), "--chunk-tokens", "lots")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("brief: error: ") and "--chunk-tokens" in result.stderr


def test_cli_smallest_chunk_tokens_still_gives_a_grounded_brief() -> None:
    brief = brief_json(str(SEED), "--chunk-tokens", "50")
    assert brief["sources"][0]["sentences"] >= 25
    assert assert_citations_grounded(brief) > 0
    names = {item["name"] for s in brief["sections"] if s["key"] == "participants" for item in s["items"]}
    assert {"Marco Rubio", "Sergei Lavrov"} <= names
