"""The sentence table: a source's sentences kept as offsets and packed tokens, read back as
`Sentence` objects that are the very ones spaCy's pass found."""

from __future__ import annotations

import pickle
import tracemalloc

import pytest

from briefer.sentences import Entities, Entity, SentenceTable, Token, Tokens, split_sentences
from briefer.sources import Source
from tests.conftest import SEED


@pytest.fixture(scope="module")
def seed() -> tuple[Source, SentenceTable]:
    source = Source(id="S1", path="seed.txt", title="seed", text=SEED.read_text(encoding="utf-8"))
    return source, split_sentences([source])["S1"]


def test_each_sentence_reads_back_as_its_text_in_the_source(seed: tuple[Source, SentenceTable]) -> None:
    source, table = seed
    assert len(table) > 20
    assert [s.number for s in table] == list(range(1, len(table) + 1))
    for sentence in table:
        assert sentence.source == "S1"
        assert sentence.text == source.text[sentence.start : sentence.end] and sentence.text.strip()
        assert all(sentence.start <= t.start < t.end <= sentence.end for t in sentence.tokens)
        assert all(source.text[e.start : e.end] == e.text for e in sentence.entities)
    assert any(e.label == "PERSON" for s in table for e in s.entities)
    first, second, last = table[0], table[1], table[-1]
    assert table[1:3] == [second, table[2]] and last == table[len(table) - 1]
    assert first.text.startswith(source.text.lstrip()[:20])
    with pytest.raises(IndexError):
        table[len(table)]


def test_a_table_pickles_with_its_tokens_and_entities(seed: tuple[Source, SentenceTable]) -> None:
    _, table = seed
    again = pickle.loads(pickle.dumps(table))
    assert again == table and again.source == "S1"
    assert [(list(s.tokens), list(s.entities)) for s in again] == [
        (list(s.tokens), list(s.entities)) for s in table
    ]


def test_tokens_too_long_or_too_far_apart_to_pack_are_refused() -> None:
    with pytest.raises(ValueError, match="32,768 or more characters"):
        Tokens.of([Token(0, 4, "NOUN", "word"), Token(40_000, 40_004, "NOUN", "word")])
    with pytest.raises(ValueError, match="32,768 or more characters"):
        Tokens.of([Token(0, 40_000, "X", "x")])


def test_offsets_past_4_g_are_kept_whole() -> None:
    table = SentenceTable("S1", "Anna Berg spoke.")
    table.append(
        0, 16, Tokens.of([Token(0, 4, "PROPN", "anna")]), Entities.of([Entity("PERSON", 0, 9, "Anna")])
    )
    far = 2**33
    table.append(far, far + 6, Tokens.of([Token(far, far + 6, "VERB", "speak")]), Entities.of([]))
    assert list(table[0].tokens) == [Token(0, 4, "PROPN", "anna")]
    assert list(table[0].entities) == [Entity("PERSON", 0, 9, "Anna")]
    assert (table[1].start, table[1].end) == (far, far + 6)
    assert list(table[1].tokens) == [Token(far, far + 6, "VERB", "speak")]
    assert list(table[1].entities) == []


def test_a_sentence_costs_its_tokens_and_entities_and_a_few_bytes_more(
    seed: tuple[Source, SentenceTable],
) -> None:
    source, parsed = seed
    rows = [(s.start, s.end, s.tokens, s.entities) for s in parsed] * 50
    tokens = sum(len(r[2]) for r in rows)
    entities = sum(len(r[3]) for r in rows)
    tracemalloc.start()
    try:
        table = SentenceTable("S1", source.text)
        for row in rows:
            table.append(*row)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(table) == len(rows)
    # 8 bytes a token, 16 an entity, 20 a sentence (offsets, its first token's start, where its tokens
    # and entities start), with room for arrays grown ahead of need; a Sentence object with its own
    # text and arrays took ~800.
    assert held <= 1.15 * (8 * tokens + 16 * entities + 20 * len(rows)) + 4096


def test_without_entities_the_sentences_tags_and_lemmas_are_the_same(
    seed: tuple[Source, SentenceTable],
) -> None:
    # LLM engines read no entities, so their sentences are split without spaCy's entity pipe;
    # what they do read (boundaries, tags, lemmas) must not change.
    source, table = seed
    light = split_sentences([source], entities=False)["S1"]
    assert [(s.start, s.end) for s in light] == [(s.start, s.end) for s in table]
    assert [list(s.tokens) for s in light] == [list(s.tokens) for s in table]
    assert any(s.entities for s in table)
    assert not any(s.entities for s in light)


def test_sources_past_the_first_spacy_batch_keep_their_entities() -> None:
    # Blocks go to spaCy in groups; a later group's sentences must carry entities as the first's do.
    # Each block ends in a sentence with no entity, as news paragraphs often do.
    text = "Prime Minister Anna Berg met Jonas Dahl in Geneva on Monday. Nobody was hurt.\n\n" * 40
    sources = [Source(id=f"S{i}", path=f"s{i}.txt", title=f"s{i}", text=text) for i in range(1, 6)]
    split = split_sentences(sources)
    assert all(any(s.entities for s in table) for table in split.values())
    assert all(s.entities for table in split.values() for s in table if "Berg" in s.text)
