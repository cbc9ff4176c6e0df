"""Running one job of a batch: the same pipeline, checks and renderers as `brief`, in any process.

A `JobRunner` is made once per worker process (or Ray actor): it loads spaCy and
keeps each template it has loaded, so a job pays only for its own sources. A job
that fails gives a failed `JobResult` with its error's one-line message; it never
stops the batch. Results carry the rendered outputs: the batch writes them, so a
worker never leaves a file half written.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from briefer.batch.jobs import Job
from briefer.errors import BriefError
from briefer.output import write_output
from briefer.safe_text import one_line
from briefer.settings import Settings

if TYPE_CHECKING:
    from briefer.brief import Brief
    from briefer.templates import Template

SUFFIXES = {"json": ".json", "markdown": ".md", "html": ".html"}
"""Output formats a batch writes, and their file suffixes."""


@dataclass(frozen=True)
class BatchOptions:
    """What every job of a batch shares: settings, default template and sections, chunking, formats."""

    settings: Settings
    template: str
    sections: tuple[str, ...] = ()
    chunk_tokens: int = 3000
    strict: bool = False
    formats: tuple[str, ...] = ("json", "markdown")

    def template_of(self, job: Job) -> tuple[str, tuple[str, ...]]:
        """The template name or path and the extra sections `job` is briefed with."""
        return job.template or self.template, (*self.sections, *job.sections)


@dataclass
class JobResult:
    """How a job ended: status `ok` with its rendered outputs (by format), or `failed` with an error."""

    id: str
    status: str
    error: str | None = None
    seconds: float = 0.0
    llm_calls: int = 0
    tokens: int = 0
    outputs: dict[str, str] = field(default_factory=dict)
    written: bool = False
    """Whether the outputs are already in their files (written where the job ran), not in `outputs`."""


def output_files(folder: Path, job_id: str, formats: Sequence[str]) -> list[Path]:
    """The files a job writes, one per format."""
    return [folder / f"{job_id}{SUFFIXES[fmt]}" for fmt in formats]


def write_job_files(folder: Path, result: JobResult, formats: Sequence[str]) -> None:
    """Write an ok job's outputs into `folder`, each file atomically (a `RunError` if one cannot be)."""
    for path, fmt in zip(output_files(folder, result.id, formats), formats, strict=True):
        write_output(path, result.outputs[fmt])


def write_where_run(folder: Path, result: JobResult, formats: Sequence[str]) -> JobResult:
    """`result` with its outputs written into `folder` here, where the job ran, and not carried back;
    a job whose files cannot be written fails, with the reason."""
    if result.status != "ok":
        return result
    try:
        write_job_files(folder, result, formats)
    except BriefError as exc:
        result.status, result.error, result.outputs = "failed", one_line(str(exc)), {}
        return result
    result.outputs, result.written = {}, True
    return result


class JobRunner:
    """Runs jobs in this process, from one thread or several; spaCy and templates are loaded once, here.

    Jobs run from several threads (an engine that waits on a model server) take turns at reading
    and splitting their sources: a job has the turn until its sentences are split, then waits on
    the model while the next one splits. All splitting at once would take as long in all (one
    interpreter lock) and delay every job's first call until the last job is split.
    """

    def __init__(self, options: BatchOptions) -> None:
        from briefer.sentences import load_nlp

        self.options = options
        self._templates: dict[tuple[str, tuple[str, ...]], Template] = {}
        self._splitting = threading.Lock()
        load_nlp()

    def template(self, job: Job) -> Template:
        """The template `job` is briefed with, loaded on first use."""
        from briefer.templates import load_template, with_sections

        key = self.options.template_of(job)
        if key not in self._templates:
            self._templates[key] = with_sections(load_template(key[0]), list(key[1]))
        return self._templates[key]

    def take_turn(self) -> _Turn:
        """Wait for this process's turn at splitting sentences (a worker thread takes it before it
        takes a job, so that no thread holds a job it cannot start)."""
        return _Turn(self._splitting)

    def run(self, job: Job, turn: _Turn | None = None) -> JobResult:
        """Brief `job` (with the splitting `turn` already taken, if given); its failure is reported in
        the result, not raised."""
        started = time.monotonic()
        turn = turn or self.take_turn()
        try:
            brief = self._brief(job, turn)
            outputs = render_outputs(brief, self.options.formats)
        except BriefError as exc:
            return JobResult(job.id, "failed", one_line(str(exc)), time.monotonic() - started)
        except Exception as exc:  # one broken job must not end the others
            error = f"internal error: {type(exc).__name__}: {one_line(str(exc))}"
            return JobResult(job.id, "failed", error, time.monotonic() - started)
        finally:
            turn.end()
        usage = brief.usage
        return JobResult(
            job.id,
            "ok",
            None,
            time.monotonic() - started,
            usage.llm_calls,
            usage.prompt_tokens + usage.completion_tokens,
            outputs,
        )

    def _brief(self, job: Job, turn: _Turn) -> Brief:
        from briefer.config import get_engine
        from briefer.pipeline import Progress, make_brief
        from briefer.sources import load_sources

        options = self.options
        template = self.template(job)
        engine = get_engine(options.settings.engine, options.settings)

        def split(step: Progress) -> None:
            if step.stage == "sentences" and step.done == step.total:
                turn.end()

        return make_brief(
            load_sources(list(job.sources)),
            template,
            engine,
            chunk_tokens=options.chunk_tokens,
            on_progress=split,
            jobs=options.settings.jobs,
            strict=options.strict,
        )


class _Turn:
    """A job's turn at splitting sentences: taken when made, given up once (when its sentences are
    split, or when it ends)."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self._held = True
        lock.acquire()

    def end(self) -> None:
        if self._held:
            self._held = False
            self._lock.release()


def render_outputs(brief: Brief, formats: tuple[str, ...]) -> dict[str, str]:
    """`brief` rendered in each of `formats`."""
    from briefer.render import render_html, render_json, render_markdown

    renderers = {"json": render_json, "markdown": render_markdown, "html": render_html}
    return {fmt: renderers[fmt](brief) for fmt in formats}
