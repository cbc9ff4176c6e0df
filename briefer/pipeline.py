"""The pipeline: sources → sentences → chunks → findings → verified, merged brief."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from briefer.brief import Brief, EngineInfo, Section, SourceInfo, Usage, brief_model
from briefer.chunking import DEFAULT_CHUNK_TOKENS, Chunk, chunk_sentences
from briefer.engines import Engine, get_engine
from briefer.findings import Findings
from briefer.merge import check_citations, merge, merge_differences, verify
from briefer.sentences import Sentence, split_sentences
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
) -> Brief:
    """Brief `sources` with `template` (default `policy`) using `engine`; every citation is checked."""
    if not isinstance(template, Template):
        template = load_template(template or "policy")
    if isinstance(engine, str):
        engine = get_engine(engine)
    report = on_progress or (lambda progress: None)
    report(Progress("sources", len(sources), len(sources)))
    sentences, chunks = prepare(sources, chunk_tokens)
    units = engine.plan(chunks, chunk_tokens)
    report(Progress("chunks", 0, len(units)))
    usage = Usage()
    try:
        engine.prepare(template, units)
        results = _extract_all(engine, units, template, report)
        verified, verification = verify([f for r in results for f in r.items], sentences, template)
        reduced = engine.reduce(verified, template, sentences, [s.id for s in sources])
        # Only several sources can differ; asked before close(), which stops a local model server.
        found = engine.differences(sentences) if len(sources) > 1 else Findings()
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
    engine: Engine, units: Sequence[Chunk], template: Template, report: ProgressCallback
) -> list[Findings]:
    """Findings of every unit, in the units' order, extracted by up to `engine.concurrency` threads."""
    results: list[Findings | None] = [None] * len(units)
    tokens = 0
    if engine.concurrency <= 1 or len(units) <= 1:
        for i, unit in enumerate(units):
            results[i] = found = engine.extract(unit, template)
            tokens += found.prompt_tokens + found.completion_tokens
            report(Progress("chunks", i + 1, len(units), tokens))
        return [r for r in results if r is not None]
    workers = ThreadPoolExecutor(
        max_workers=min(engine.concurrency, len(units)), thread_name_prefix="extract"
    )
    try:
        futures = {workers.submit(engine.extract, unit, template): i for i, unit in enumerate(units)}
        for done, future in enumerate(as_completed(futures), start=1):
            results[futures[future]] = found = future.result()
            tokens += found.prompt_tokens + found.completion_tokens
            report(Progress("chunks", done, len(units), tokens))
    finally:
        # On an error or Ctrl-C, start nothing new; calls in flight end with the engine's client.
        workers.shutdown(wait=False, cancel_futures=True)
    return [r for r in results if r is not None]


def _title(template: Template, sources: Sequence[Source]) -> str:
    if len(sources) == 1:
        return f"{template.title}: {sources[0].title}"
    return f"{template.title}: {len(sources)} sources"
