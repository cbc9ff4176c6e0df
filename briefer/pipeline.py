"""The pipeline: sources → sentences → chunks → findings → verified, merged brief."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

from briefer import verify
from briefer.brief import Brief, EngineInfo, Paraphrase, Section, SourceInfo, SpunMatch, Usage, brief_model
from briefer.chunking import DEFAULT_CHUNK_TOKENS, Chunk, chunk_sentences
from briefer.config import get_engine
from briefer.differences import DIFFERENCES_KEY, DIFFERENCES_TITLE
from briefer.engines import Engine
from briefer.findings import Findings
from briefer.merge import difference_items, merge
from briefer.paraphrase import ParaphraseReport, annotate, detect, spun_by_sentence
from briefer.sentences import Sentence, SentenceTable, iter_sentences, release_nlp, split_sentences
from briefer.sources import Source
from briefer.templates import Template, load_template
from briefer.waiting import as_finished, result_of


@dataclass(frozen=True, slots=True)
class Progress:
    """A step of a run, for progress displays: `done` of `total` in `stage`."""

    stage: str
    done: int
    total: int
    tokens: int = 0
    """Model tokens (prompt and completion) spent so far."""


ProgressCallback = Callable[[Progress], None]


def prepare(
    sources: Sequence[Source], chunk_tokens: int = DEFAULT_CHUNK_TOKENS
) -> tuple[dict[str, SentenceTable], list[Chunk]]:
    """Split sources into numbered sentences and pack them into chunks (with the spun phrases of
    a likely machine-paraphrased source, as a run sends them)."""
    sentences = split_sentences(sources)
    chunks = []
    for source in sources:
        spun = detect_paraphrase(source.id, sentences[source.id])
        chunks += [with_spun(chunk, spun) for chunk in chunk_sentences(sentences[source.id], chunk_tokens)]
    return sentences, chunks


def make_brief(
    sources: Sequence[Source],
    template: Template | str | None = None,
    engine: Engine | str = "extractive",
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
    on_progress: ProgressCallback | None = None,
    jobs: int = 1,
    strict: bool = False,
    keep_model: bool = True,
) -> Brief:
    """Brief `sources` with `template` (default `policy`) using `engine`; every citation is checked.

    `jobs` > 1 splits a large input into sentences in that many processes, with the same
    result. From a process running threads the workers are spawned, which imports the main
    module again: a script doing so keeps its work under `if __name__ == "__main__":`.

    Items their citations do not support are flagged and counted; with `strict`, counted and left out.

    Without `keep_model`, the spaCy pipeline is let go once every source is split (`release_nlp`),
    so the rest of the run has its memory: for a process that briefs once, as `brief` does. A
    later call loads it again (~1 s).
    """
    if not isinstance(template, Template):
        template = load_template(template or "policy")
    if isinstance(engine, str):
        engine = get_engine(engine)
    report = on_progress or (lambda progress: None)
    report(Progress("sources", len(sources), len(sources)))
    sentences: dict[str, SentenceTable] = {}
    paraphrases: dict[str, ParaphraseReport] = {}

    def chunks() -> Iterator[Chunk]:
        """Each source's chunks as soon as its sentences are split, with the spun phrases of a
        likely-spun source; `sentences` and `paraphrases` fill up meanwhile."""
        split = iter_sentences(sources, jobs, entities=engine.reads_entities)
        for done, (source_id, numbered) in enumerate(split, start=1):
            sentences[source_id] = numbered
            paraphrases[source_id] = spun = detect_paraphrase(source_id, numbered)
            report(Progress("sentences", done, len(sources)))
            for chunk in chunk_sentences(numbered, chunk_tokens):
                yield with_spun(chunk, spun)

    order = [s.id for s in sources]
    try:
        engine.prepare(template, sources, chunk_tokens)
        units = engine.pack(chunks(), chunk_tokens)
        # Only several sources can differ. The question needs every sentence but no findings,
        # so it runs beside the last extraction calls, under the same limit, and before
        # close() stops a local model server.
        ask_differences = (lambda: engine.differences(sentences)) if len(sources) > 1 else None
        results, found = _extract_all(engine, units, template, report, ask_differences)
        if not keep_model:
            release_nlp()
        extracted = Findings()
        for result in results:
            extracted.add(result)
        del results
        kept, verification = verify.keep_cited(extracted.items, sentences, template)
        # From here each step holds only what the next needs: a finding per sentence and section,
        # and per person named, is the largest part of a long input's memory.
        extracted.items = []
        reduced = engine.reduce(kept, template, sentences, order)
        del kept
    finally:
        engine.close()
    verified = reduced.items
    differences = verify.keep_differences(found.items, sentences, verification)
    spun = spun_by_sentence(paraphrases.values())
    annotate([*verified, *differences], spun)
    if not engine.verbatim:
        standard = {ref: [(m.phrase, m.standard) for m in matches] for ref, matches in spun.items()}
        verify.check_support([*verified, *differences], sentences, standard)
    verify.count_unsupported([*verified, *differences], verification)
    if strict:
        verified = [f for f in verified if f.supported is not False]
        differences = [f for f in differences if f.supported is not False]
    verification.items_dropped += extracted.dropped + reduced.dropped + found.dropped
    spent = extracted.usage + reduced.usage + found.usage
    usage = Usage(
        llm_calls=spent.llm_calls,
        prompt_tokens=spent.prompt_tokens,
        completion_tokens=spent.completion_tokens,
        cached_calls=spent.cached_calls if spent.cached_calls or spent.llm_calls else None,
    )
    sections = merge(verified, sentences, template, order, verbatim=engine.verbatim)
    del verified, reduced
    different = difference_items(differences, sentences, order)
    cited = [*sections, Section(key=DIFFERENCES_KEY, title=DIFFERENCES_TITLE, items=different)]
    verification.citations_checked = verify.check_citations(cited, sentences)
    citing = Counter(
        source for section in cited for item in section.items for source in {c.source for c in item.citations}
    )
    model = brief_model(template)
    return model.model_validate(
        {
            "title": _title(template, sources),
            "template": template.name,
            "sources": [
                _source_info(s, sentences[s.id], paraphrases[s.id], items=citing[s.id]) for s in sources
            ],
            # the items and their citations as they are, not copied (`merge` makes the right classes)
            "sections": [{"key": s.key, "title": s.title, "items": s.items} for s in sections],
            "differences": different,
            "engine": EngineInfo(name=engine.name, model=engine.model),
            "usage": usage,
            "verification": verification,
        }
    )


def _source_info(
    source: Source, numbered: Sequence[Sentence], paraphrase: ParaphraseReport, items: int | None = None
) -> SourceInfo:
    """What the brief says of `source`: its metadata, size, the items citing it and its paraphrase verdict."""
    return SourceInfo(
        id=source.id,
        path=source.path,
        title=source.title,
        date=source.date,
        chars=len(source.text),
        sentences=len(numbered),
        items=items,
        paraphrase=paraphrase_info(paraphrase),
    )


def detect_paraphrase(source: str, numbered: Sequence[Sentence]) -> ParaphraseReport:
    """The spun phrases of one source's numbered sentences, and the verdict."""
    return detect(source, ((s.number, s.text) for s in numbered))


def check_paraphrase(sources: Sequence[Source], jobs: int = 1) -> list[SourceInfo]:
    """Each source with its paraphrase report (`SourceInfo.paraphrase`) and nothing else: for
    screening sources before briefing them."""
    found: list[SourceInfo] = []
    by_id = {source.id: source for source in sources}
    for source_id, numbered in iter_sentences(sources, jobs):
        source = by_id[source_id]
        found.append(_source_info(source, numbered, detect_paraphrase(source_id, numbered)))
    return found


def with_spun(chunk: Chunk, report: ParaphraseReport) -> Chunk:
    """`chunk` with the spun phrases of its sentences, when its source is likely spun."""
    if not report.likely:
        return chunk
    numbers = {s.number for s in chunk.sentences}
    return replace(chunk, spun=tuple(m for m in report.matches if m.sentence in numbers))


def paraphrase_info(report: ParaphraseReport) -> Paraphrase:
    """A source's paraphrase report as the brief's JSON gives it."""
    return Paraphrase(
        likely=report.likely,
        per_1000_words=round(report.per_1000_words, 2),
        matches=[
            SpunMatch(sentence=m.sentence, phrase=m.phrase, standard=m.standard) for m in report.matches
        ],
    )


def _extract_all(
    engine: Engine,
    units: Iterable[Chunk],
    template: Template,
    report: ProgressCallback,
    side_task: Callable[[], Findings] | None = None,
) -> tuple[list[Findings], Findings]:
    """Findings of every unit, in the units' order, and of `side_task` (a call that needs every
    sentence but no unit's findings), which runs once the units are all known.

    An engine that `overlaps` gets the units in up to `engine.concurrency` threads as
    they arrive, while this thread goes on splitting later sources into sentences; the
    others get each unit here, in order, as it arrives: with `--jobs`, this process
    extracts from the first sources while worker processes split the later ones.
    """
    if not engine.overlaps:
        results = []
        tokens = 0
        for i, unit in enumerate(units, start=1):
            results.append(found := engine.extract(unit, template))
            tokens += found.usage.tokens
            report(Progress("chunks", i, i, tokens))
        return results, side_task() if side_task else Findings()
    found_at: dict[int, Findings] = {}
    running: dict[Future[Findings], int] = {}
    tokens = 0

    def collect(future: Future[Findings]) -> None:
        """Take a finished call's findings (or raise its error, which ends the run)."""
        nonlocal tokens
        found_at[running.pop(future)] = found = future.result()
        tokens += found.usage.tokens
        report(Progress("chunks", len(found_at), len(found_at) + len(running), tokens))

    workers = ThreadPoolExecutor(max_workers=engine.concurrency, thread_name_prefix="extract")
    try:
        for index, unit in enumerate(units):
            running[workers.submit(engine.extract, unit, template)] = index
            report(Progress("chunks", len(found_at), len(found_at) + len(running), tokens))
            for future in [f for f in running if f.done()]:
                collect(future)  # a failed call stops the run now, not after every source is split
        side = workers.submit(side_task) if side_task else None
        for future in as_finished(list(running)):
            collect(future)
        found_side = result_of(side) if side else Findings()
    finally:
        # On an error or Ctrl-C, start nothing new; calls in flight end with the engine's client.
        workers.shutdown(wait=False, cancel_futures=True)
    return [found_at[i] for i in sorted(found_at)], found_side


def _title(template: Template, sources: Sequence[Source]) -> str:
    if len(sources) == 1:
        return f"{template.title}: {sources[0].title}"
    return f"{template.title}: {len(sources)} sources"
