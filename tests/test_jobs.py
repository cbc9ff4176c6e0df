"""--jobs: a large input is split into sentences in worker processes, with the very same result."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import briefer.sentences
from briefer.config import ConfigFile, resolve_settings
from briefer.sentences import Entities, Entity, Sentence, Token, Tokens, split_sentences
from briefer.sources import Source
from tests.conftest import ROOT, SEED, run_brief

CASUALTIES = "A bomb on the Piccadilly line killed {n} people on Thursday, police said.\n"


def _sources(count: int) -> list[Source]:
    """`count` sources, each the seed article with a casualty figure of its own: ~4,600 characters each."""
    seed = SEED.read_text(encoding="utf-8")
    return [
        Source(id=f"S{i}", path=f"s{i}.txt", title=f"s{i}", text=seed + "\n" + CASUALTIES.format(n=20 + i))
        for i in range(1, count + 1)
    ]


def _everything(split: dict[str, list[Sentence]]) -> list[tuple[Any, ...]]:
    """Each sentence with its tokens and entities, which a Sentence leaves out of equality."""
    return [(s, list(s.tokens), list(s.entities)) for numbered in split.values() for s in numbered]


@pytest.fixture
def worker_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records the start method of every run that used worker processes."""
    runs: list[str] = []
    real = briefer.sentences._parse_in_workers

    def spy(sources: Any, groups: Any, jobs: int, context: Any, *rest: Any) -> Iterator[Any]:
        runs.append(context.get_start_method())
        return real(sources, groups, jobs, context, *rest)

    monkeypatch.setattr(briefer.sentences, "_parse_in_workers", spy)
    return runs


def test_a_multi_source_brief_is_byte_identical_with_one_and_two_jobs(tmp_path: Path) -> None:
    paths = []
    for source in _sources(15):  # ~69,000 characters: over the threshold for forked workers
        path = tmp_path / source.path
        path.write_text(source.text, encoding="utf-8")
        paths.append(str(path))
    one = run_brief(*paths, "--format", "json", "--jobs", "1")
    two = run_brief(*paths, "--format", "json", "--jobs", "2")
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    assert two.stderr == ""  # nothing from the workers or their shutdown
    assert one.stdout == two.stdout
    assert (
        '"differences": []' not in one.stdout
    )  # the figures differ across sources: a real multi-source brief


def test_workers_split_exactly_as_one_process(
    worker_runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Earlier tests may leave threads running in this process, which then spawns rather than
    # forks, with a higher threshold: the threshold is not what this test is about.
    monkeypatch.setattr(briefer.sentences, "PARALLEL_MIN_CHARS", {"fork": 0, "spawn": 0})
    sources = _sources(12)
    alone = split_sentences(sources, jobs=1)
    together = split_sentences(sources, jobs=2)
    assert len(worker_runs) == 1
    assert _everything(together) == _everything(alone)
    assert [s.number for s in together["S3"]] == list(range(1, len(alone["S3"]) + 1))


def test_a_block_longer_than_a_group_is_parsed_by_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    # This process holds every sentence found so far: spaCy's working memory for one block of up
    # to 20,000 characters must not come on top of it. Smaller groups it parses too, the same way.
    monkeypatch.setattr(briefer.sentences, "PARALLEL_MIN_CHARS", {"fork": 0, "spawn": 0})
    seed = SEED.read_text(encoding="utf-8")
    one_paragraph = " ".join(seed.split() * 3)  # ~14,000 characters: one block, over a group's 10,000
    sources = _sources(10)
    sources.insert(9, Source(id="L", path="l.txt", title="l", text=one_paragraph))  # workers busy by then
    nlp = briefer.sentences.load_nlp()
    real_pipe = nlp.pipe
    here = os.getpid()
    parsed_here: list[int] = []  # characters of each batch this process parsed (not the workers)
    blocks_here: list[int] = []

    def pipe(texts: list[str], *args: Any, **kwargs: Any) -> Any:
        if os.getpid() == here:
            parsed_here.append(sum(map(len, texts)))
            blocks_here.append(len(texts))
        return real_pipe(texts, *args, **kwargs)

    monkeypatch.setattr(nlp, "pipe", pipe)
    alone = split_sentences(sources, jobs=1)
    assert max(parsed_here) > briefer.sentences._GROUP_CHARS  # the long block is one group
    parsed_here.clear()
    blocks_here.clear()
    together = split_sentences(sources, jobs=2)
    assert parsed_here and max(parsed_here) <= briefer.sentences._GROUP_CHARS
    # in batches of a few thousand characters, or of one block
    assert all(
        c <= briefer.sentences._HERE_CHARS or n == 1 for c, n in zip(parsed_here, blocks_here, strict=True)
    )
    assert any(n > 1 for n in blocks_here)
    assert _everything(together) == _everything(alone)


def test_a_group_parsed_in_parts_gives_the_same_sentences_as_in_one_batch() -> None:
    sources = _sources(3)
    group = next(briefer.sentences._groups(sources))
    texts, offsets = briefer.sentences._group_texts(sources, group)
    assert sum(map(len, texts)) > 2 * briefer.sentences._HERE_CHARS  # several parts
    whole = briefer.sentences.parse_blocks(texts, offsets)
    parts = briefer.sentences._parse_in_parts(texts, offsets, True)
    flat = [[(start, end, list(tokens), list(entities)) for start, end, tokens, entities in b] for b in whole]
    assert [
        [(start, end, list(tokens), list(entities)) for start, end, tokens, entities in b] for b in parts
    ] == flat
    assert len(parts) == len(texts) and any(entities for b in flat for _, _, _, entities in b)


def test_a_process_with_one_thread_forks_its_workers() -> None:
    code = "from briefer.sentences import worker_context; print(worker_context().get_start_method())"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.stdout.strip() == ("fork" if sys.platform.startswith("linux") else "spawn")


def test_a_process_running_threads_spawns_its_workers(
    worker_runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A progress display runs a thread: forking then could leave a lock held in the child.
    monkeypatch.setattr(briefer.sentences, "PARALLEL_MIN_CHARS", {"fork": 0, "spawn": 0})
    sources = _sources(3)
    alone = split_sentences(sources, jobs=1)
    stop = threading.Event()
    display = threading.Thread(target=stop.wait)
    display.start()
    try:
        together = split_sentences(sources, jobs=2)
    finally:
        stop.set()
        display.join()
    assert worker_runs == ["spawn"]
    assert _everything(together) == _everything(alone)


def test_a_small_input_starts_no_worker(worker_runs: list[str]) -> None:
    split_sentences(_sources(2), jobs=4)
    assert worker_runs == []


def test_packed_tokens_and_entities_read_and_pickle_as_the_dataclasses() -> None:
    tokens = [Token(0, 7, "PROPN", "foreign"), Token(8, 16, "PROPN", "minister"), Token(16, 17, "PUNCT", ".")]
    packed = Tokens.of(tokens)
    assert list(packed) == tokens and len(packed) == 3
    assert packed[1] == tokens[1] and packed[-1] == tokens[-1] and packed[1:] == tokens[1:]
    assert pickle.loads(pickle.dumps(packed)) == tokens
    entities = [Entity("PERSON", 17, 26, "Anna Berg"), Entity("GPE", 60, 64, "Oslo")]
    assert list(pickle.loads(pickle.dumps(Entities.of(entities)))) == entities
    with pytest.raises(IndexError):
        packed[3]


def test_jobs_come_from_the_flag_the_environment_the_config_file_or_the_cpus() -> None:
    config = ConfigFile(jobs=3)
    assert resolve_settings(jobs=5, env={"BRIEF_JOBS": "4"}, config=config).jobs == 5
    assert resolve_settings(env={"BRIEF_JOBS": "4"}, config=config).jobs == 4
    assert resolve_settings(env={}, config=config).jobs == 3
    assert resolve_settings(env={}, config=ConfigFile()).jobs == briefer.sentences.default_jobs()
    bad = run_brief(str(SEED), env={"BRIEF_JOBS": "many"})
    assert bad.returncode == 2
    assert bad.stderr == "brief: error: BRIEF_JOBS must be a whole number from 1 to 256, not 'many'\n"


def test_the_offline_engine_extracts_early_sources_while_later_ones_are_split() -> None:
    from briefer.chunking import chunk_sentences
    from briefer.pipeline import Progress, make_brief

    sources = _sources(4)
    steps: list[Progress] = []
    make_brief(sources, template="policy", on_progress=steps.append)
    stages = [(s.stage, s.done, s.total) for s in steps]
    first_extract = next(i for i, (stage, _, _) in enumerate(stages) if stage == "chunks")
    assert first_extract < stages.index(("sentences", 4, 4))  # before the last source is split
    # Every chunk extracted once, counted as it comes.
    chunks = sum(len(chunk_sentences(numbered)) for numbered in split_sentences(sources).values())
    assert [done for stage, done, _ in stages if stage == "chunks"] == list(range(1, chunks + 1))


def test_a_sentence_whose_tokens_do_not_fit_a_byte_each_keeps_its_spans_whole() -> None:
    """Packed tokens keep each span in a byte (the gap after the previous token, the length) when
    every token of the sentence fits one; a long word or a wide gap keeps the sentence's spans in
    4 bytes each. Both read back, index, slice and pickle as the tokens they were made of, and a
    source's table holds sentences of both kinds."""
    from briefer.sentences import SentenceTable

    narrow = [Token(10, 15, "NOUN", "talk"), Token(15, 16, "PUNCT", ","), Token(17, 20, "VERB", "end")]
    url = "https://example.org/" + "a" * 60
    wide = [Token(30, 33, "VERB", "see"), Token(34, 34 + len(url), "X", url), Token(98, 99, "PUNCT", ".")]
    gap = [Token(100, 104, "NOUN", "vote"), Token(110, 114, "VERB", "pass")]  # five spaces apart
    for tokens, width in ((narrow, 1), (wide, 4), (gap, 4)):
        packed = Tokens.of(tokens)
        assert packed._spans.itemsize == width
        assert list(packed) == tokens and [packed[i] for i in range(len(tokens))] == tokens
        assert packed[-1] == tokens[-1] and packed[1:] == tokens[1:]
        assert list(pickle.loads(pickle.dumps(packed))) == tokens
    table = SentenceTable("S1", " " * 200)
    for tokens in (narrow, wide, gap, narrow):
        table.append(tokens[0].start, tokens[-1].end, Tokens.of(tokens), Entities.of([]))
    assert [list(s.tokens) for s in table] == [narrow, wide, gap, narrow]
    assert [list(s.tokens) for s in pickle.loads(pickle.dumps(table))] == [narrow, wide, gap, narrow]


def test_a_run_that_briefs_once_lets_go_of_the_spacy_pipeline_with_the_same_brief() -> None:
    """`brief` passes keep_model=False: once every source is split, the pipeline's memory goes
    to the rest of the run. A library caller keeps it by default, for its next brief."""
    from briefer import make_brief
    from briefer.sentences import load_nlp

    sources = _sources(3)
    kept = make_brief(sources, template="executive")
    assert load_nlp.cache_info().currsize == 1
    released = make_brief(sources, template="executive", keep_model=False)
    assert load_nlp.cache_info().currsize == 0
    assert released.model_dump_json() == kept.model_dump_json()
    again = make_brief(sources, template="executive")  # loads it again
    assert load_nlp.cache_info().currsize == 1 and again.model_dump_json() == kept.model_dump_json()
