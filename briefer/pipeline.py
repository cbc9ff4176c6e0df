"""The pipeline: sources → sentences → chunks → findings → verified, merged brief."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from briefer.brief import Brief, EngineInfo, Section, SourceInfo, Usage, brief_model
from briefer.chunking import DEFAULT_CHUNK_TOKENS, Chunk, chunk_sentences
from briefer.engines import Engine, get_engine
from briefer.findings import Findings
from briefer.merge import check_citations, merge, merge_differences, verify
from briefer.sentences import Sentence, iter_sentences, split_sentences
from briefer.sources import Source
from briefer.templates import Template, load_template


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
) -> tuple[dict[str, list[Sentence]], list[Chunk]]:
    """Split sources into numbered sentences and pack them into chunks."""
    sentences = split_sentences(sources)
    chunks = [chunk for source in sources for chunk in chunk_sentences(sentences[source.id], chunk_tokens)]
    return sentences, chunks


def make_brief(
    sources: Sequence[Source],
    template: Template | str | None = None,
    engine: Engine | str = "extractive",
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
    on_progress: ProgressCallback | None = None,
    jobs: int = 1,
) -> Brief:
    """Brief `sources` with `template` (default `policy`) using `engine`; every citation is checked.

    `jobs` > 1 splits a large input into sentences in that many processes, with the same
    result. From a process running threads the workers are spawned, which imports the main
    module again: a script doing so keeps its work under `if __name__ == "__main__":`.
    """
    if not isinstance(template, Template):
        template = load_template(template or "policy")
    if isinstance(engine, str):
        engine = get_engine(engine)
    report = on_progress or (lambda progress: None)
    report(Progress("sources", len(sources), len(sources)))
    sentences: dict[str, list[Sentence]] = {}

    def chunks() -> Iterator[Chunk]:
        """Each source's chunks as soon as its sentences are split; `sentences` fills up meanwhile."""
        for done, (source_id, numbered) in enumerate(iter_sentences(sources, jobs), start=1):
            sentences[source_id] = numbered
            report(Progress("sentences", done, len(sources)))
            yield from chunk_sentences(numbered, chunk_tokens)

    usage = Usage()
    try:
        engine.prepare(template, sources, chunk_tokens)
        units = engine.pack(chunks(), chunk_tokens)
        # Only several sources can differ. The question needs every sentence but no findings,
        # so it runs beside the last extraction calls, under the same limit, and before
        # close() stops a local model server.
        ask_differences = (lambda: engine.differences(sentences)) if len(sources) > 1 else None
        results, found = _extract_all(engine, units, template, report, ask_differences)
        verified, verification = verify([f for r in results for f in r.items], sentences, template)
        reduced = engine.reduce(verified, template, sentences, [s.id for s in sources])
    finally:
        engine.close()
    for result in [*results, reduced, found]:
        usage.llm_calls += result.llm_calls
        usage.prompt_tokens += result.prompt_tokens
        usage.completion_tokens += result.completion_tokens
        verification.items_dropped += result.dropped
    cached = sum(r.cached_calls for r in [*results, reduced, found])
    if cached or usage.llm_calls:
        usage.cached_calls = cached
    verified = reduced.items
    verification.items_unsupported = sum(f.supported is False for f in verified)
    sections = merge(
        verified, sentences, template, [s.id for s in sources], exclusive_sentences=engine.exclusive_sentences
    )
    differences = merge_differences(found.items, sentences, [s.id for s in sources], verification)
    cited = [*sections, Section(key="differences", title="Where sources differ", items=differences)]
    verification.citations_checked = check_citations(cited, sentences)
    citing = Counter(
        source for section in cited for item in section.items for source in {c.source for c in item.citations}
    )
    model = brief_model(template)
    return model.model_validate(
        {
            "title": _title(template, sources),
            "template": template.name,
            "sources": [
                SourceInfo(
                    id=s.id,
                    path=s.path,
                    title=s.title,
                    date=s.date,
                    chars=len(s.text),
                    sentences=len(sentences[s.id]),
                    items=citing[s.id],
                )
                for s in sources
            ],
            "sections": [section.model_dump() for section in sections],
            "differences": [item.model_dump() for item in differences],
            "engine": EngineInfo(name=engine.name, model=engine.model),
            "usage": usage,
            "verification": verification,
        }
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
    others run everything here, in order.
    """
    if not engine.overlaps:
        listed = list(units)
        results = []
        tokens = 0
        for i, unit in enumerate(listed, start=1):
            results.append(found := engine.extract(unit, template))
            tokens += found.prompt_tokens + found.completion_tokens
            report(Progress("chunks", i, len(listed), tokens))
        return results, side_task() if side_task else Findings()
    found_at: dict[int, Findings] = {}
    running: dict[Future[Findings], int] = {}
    tokens = 0

    def collect(future: Future[Findings]) -> None:
        """Take a finished call's findings (or raise its error, which ends the run)."""
        nonlocal tokens
        found_at[running.pop(future)] = found = future.result()
        tokens += found.prompt_tokens + found.completion_tokens
        report(Progress("chunks", len(found_at), len(found_at) + len(running), tokens))

    workers = ThreadPoolExecutor(max_workers=engine.concurrency, thread_name_prefix="extract")
    try:
        for index, unit in enumerate(units):
            running[workers.submit(engine.extract, unit, template)] = index
            report(Progress("chunks", len(found_at), len(found_at) + len(running), tokens))
            for future in [f for f in running if f.done()]:
                collect(future)  # a failed call stops the run now, not after every source is split
        side = workers.submit(side_task) if side_task else None
        for future in as_completed(list(running)):
            collect(future)
        found_side = side.result() if side else Findings()
    finally:
        # On an error or Ctrl-C, start nothing new; calls in flight end with the engine's client.
        workers.shutdown(wait=False, cancel_futures=True)
    return [found_at[i] for i in sorted(found_at)], found_side


def _title(template: Template, sources: Sequence[Source]) -> str:
    if len(sources) == 1:
        return f"{template.title}: {sources[0].title}"
    return f"{template.title}: {len(sources)} sources"
