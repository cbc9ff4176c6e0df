"""The pipeline: sources → sentences → chunks → findings → verified, merged brief."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from briefer.brief import Brief, EngineInfo, SourceInfo, Usage, brief_model
from briefer.chunking import DEFAULT_CHUNK_TOKENS, Chunk, chunk_sentences
from briefer.engines import Engine, get_engine
from briefer.merge import check_citations, merge, verify
from briefer.sentences import Sentence, split_sentences
from briefer.sources import Source
from briefer.templates import Template, load_template


@dataclass(frozen=True, slots=True)
class Progress:
    """A step of a run, for progress displays: `done` of `total` in `stage`."""

    stage: str
    done: int
    total: int


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
    report(Progress("chunks", 0, len(chunks)))
    engine.prepare(template, chunks)
    findings = []
    usage = Usage()
    for done, chunk in enumerate(chunks, start=1):
        result = engine.extract(chunk, template)
        findings.extend(result.items)
        usage.llm_calls += result.llm_calls
        usage.prompt_tokens += result.prompt_tokens
        usage.completion_tokens += result.completion_tokens
        report(Progress("chunks", done, len(chunks)))
    verified, verification = verify(findings, sentences, template)
    sections = merge(
        verified, sentences, template, [s.id for s in sources], exclusive_sentences=engine.exclusive_sentences
    )
    verification.citations_checked = check_citations(sections, sentences)
    model = brief_model(template)
    return model.model_validate(
        {
            "title": _title(template, sources),
            "template": template.name,
            "sources": [
                SourceInfo(
                    id=s.id, path=s.path, title=s.title, chars=len(s.text), sentences=len(sentences[s.id])
                )
                for s in sources
            ],
            "sections": [section.model_dump() for section in sections],
            "engine": EngineInfo(name=engine.name, model=engine.model),
            "usage": usage,
            "verification": verification,
        }
    )


def _title(template: Template, sources: Sequence[Source]) -> str:
    if len(sources) == 1:
        return f"{template.title}: {sources[0].title}"
    return f"{template.title}: {len(sources)} sources"
