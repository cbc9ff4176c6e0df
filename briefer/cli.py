"""The `brief` command: parse options, run the library, print or save the brief.

Exit codes: 0 brief written, 1 the run failed, 2 bad usage or input, 130 interrupted (Ctrl-C),
143 terminated (SIGTERM, handled like Ctrl-C: no partial output file, the local server stopped).
Errors are one line on stderr; BRIEF_DEBUG=1 shows the traceback.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from briefer._version import __version__
from briefer.chunking import DEFAULT_CHUNK_TOKENS
from briefer.engines import ENGINES
from briefer.errors import BriefError, RunError, UsageError
from briefer.formats import supported_suffixes
from briefer.sentences import MAX_JOBS
from briefer.template_files import DEFAULT_TEMPLATE, template_files

if TYPE_CHECKING:
    from rich.console import Console

    from briefer.batch import BatchProgress
    from briefer.llm.transport import TokenMeter
    from briefer.pipeline import Progress

# Only what `brief --help`, `--version` and `brief templates` need is imported here; the
# pipeline (spaCy), the engines (the openai SDK), pydantic and rich are imported by the
# commands that use them, so those three print at once (tests/test_startup.py).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143
FORMATS = ("terminal", "markdown", "json", "html")
_SUFFIX_FORMATS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".json": "json",
    ".html": "html",
    ".htm": "html",
}

HELP = f"""Turn documents into a structured brief where every line cites the sentence it came from.

SOURCE is a file ({", ".join(supported_suffixes())}), a directory (those files in it,
recursively), an http(s) URL, or - for stdin.
"""
EPILOG = """\b
Examples:
  brief article.txt                      policy brief in the terminal
  brief article.txt -o brief.md          save it as Markdown
  brief a.txt b.md notes/ --format json  one brief of many sources, as JSON
  cat article.txt | brief -              read from stdin
  brief article.txt -t executive         another template (see: brief templates)
  brief article.txt -s "asian_reaction: How Asian governments responded"
  OPENAI_API_KEY=… brief article.txt     abstractive brief with gpt-4o-mini
  brief article.txt --base-url http://localhost:11434/v1 --model llama3.2
  brief article.txt --engine local --model model.gguf --dry-run
  brief batch jobs.jsonl --out briefs/   many briefs (see: brief batch --help)
  brief check-paraphrase a.txt b.txt     is a source machine-paraphrased ("spun")?

\b
Exit codes: 0 brief written, 1 run failed, 2 bad usage or input,
130 interrupted, 143 terminated (SIGTERM).
"""


@click.command(context_settings={"help_option_names": ["-h", "--help"]}, help=HELP, epilog=EPILOG)
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option(
    "-t",
    "--template",
    default=DEFAULT_TEMPLATE,
    show_default=True,
    metavar="NAME|PATH",
    help="Briefing template: a built-in name or a .toml file.",
)
@click.option(
    "-s",
    "--section",
    "sections",
    multiple=True,
    metavar='"KEY: DESCRIPTION"',
    help="Add a section for this run, or replace the one with that key. Repeatable.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the brief to this file (Markdown, or JSON for .json) instead of printing it; - is stdout.",
)
@click.option(
    "-f",
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    help="Output format [default: terminal, or from the --output suffix].",
)
@click.option(
    "-e",
    "--engine",
    type=click.Choice(sorted(ENGINES)),
    help="extractive works offline with no key; openai uses any OpenAI-compatible server; local runs "
    "a GGUF model in process. [default: openai when OPENAI_API_KEY or OPENAI_BASE_URL is set or "
    "--base-url given, else extractive]",
)
@click.option(
    "--chunk-tokens",
    type=click.IntRange(min=50),
    default=DEFAULT_CHUNK_TOKENS,
    show_default=True,
    help="Largest chunk of whole sentences, in tiktoken tokens.",
)
@click.option(
    "-m", "--model", help="Model name (env BRIEF_MODEL) [default: gpt-4o-mini]; for local, a .gguf path."
)
@click.option("--base-url", metavar="URL", help="OpenAI-compatible server (env OPENAI_BASE_URL).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    metavar="SECONDS",
    help="Longest wait for the first or next piece of a model's answer [default: 120].",
)
@click.option(
    "--deadline",
    type=click.FloatRange(min=0.1),
    metavar="SECONDS",
    help="Longest time all model calls of the run may take together [default: no limit].",
)
@click.option("--concurrency", type=click.IntRange(1, 64), metavar="N", help="Chunks at once [default: 4].")
@click.option(
    "--max-tokens",
    type=click.IntRange(min=16),
    metavar="N",
    help="Output limit per call [default: from the template's sections and their max_items].",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache of model answers.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, MAX_JOBS),
    metavar="N",
    help="Processes splitting a large input into sentences (env BRIEF_JOBS) [default: one per CPU].",
)
@click.option("--dry-run", is_flag=True, help="Show the calls and the estimated cost; call nothing.")
@click.option(
    "--strict", is_flag=True, help="Leave out items their citations do not support, instead of flagging them."
)
@click.option("-q", "--quiet", is_flag=True, help="No progress or notices on stderr.")
@click.option("--plain", is_flag=True, help="No colour or styling (NO_COLOR is respected too).")
@click.version_option(__version__, "-V", "--version", prog_name="brief")
def brief_command(
    sources: tuple[str, ...],
    template: str,
    sections: tuple[str, ...],
    output: Path | None,
    output_format: str | None,
    engine: str | None,
    chunk_tokens: int,
    model: str | None,
    base_url: str | None,
    timeout: float | None,
    deadline: float | None,
    concurrency: int | None,
    max_tokens: int | None,
    no_cache: bool,
    jobs: int | None,
    dry_run: bool,
    strict: bool,
    quiet: bool,
    plain: bool,
) -> None:
    """The `brief` command; its help is HELP, which lists the input formats from `briefer.formats.READERS`."""
    from briefer.config import get_engine, resolve_settings
    from briefer.output import STDOUT, check_output, write_output
    from briefer.pipeline import make_brief
    from briefer.render import render_html, render_json_bytes, render_markdown, terminal_renderable
    from briefer.sources import load_sources
    from briefer.templates import load_template, with_sections

    if output is not None:
        check_output(output, sources)  # before anything is read or sent
        if str(output) == STDOUT:
            output, output_format = None, output_format or "markdown"
    fmt = output_format or (_SUFFIX_FORMATS.get(output.suffix.lower(), "markdown") if output else "terminal")
    if output is not None and fmt == "terminal":
        raise UsageError("--format terminal cannot be saved to a file: use markdown or json")
    chosen = with_sections(load_template(template), list(sections))
    settings = resolve_settings(
        engine=engine,
        model=model,
        base_url=base_url,
        timeout=timeout,
        deadline=deadline,
        concurrency=concurrency,
        max_tokens=max_tokens,
        no_cache=no_cache,
        jobs=jobs,
        need_key=not dry_run,
    )
    runner = get_engine(settings.engine, settings)
    loaded = load_sources(sources)
    if dry_run:
        from briefer.plan import describe_plan, plan_run

        _to_stdout(lambda: sys.stdout.write(describe_plan(plan_run(loaded, chosen, runner, chunk_tokens))))
        return
    err = _console(plain, stderr=True)
    show_progress = not quiet and err.is_terminal
    line = _ProgressLine(getattr(runner, "meter", None))
    with err.status(line, spinner="dots") if show_progress else _nothing():
        brief = make_brief(
            loaded,
            chosen,
            runner,
            chunk_tokens=chunk_tokens,
            on_progress=line.update,
            jobs=settings.jobs,
            strict=strict,
            keep_model=False,  # one brief per process: the rest of the run gets spaCy's memory
        )
    if fmt == "terminal":
        out = _console(plain)
        _to_stdout(lambda: out.print(terminal_renderable(brief)))
        return
    renderers = {"markdown": render_markdown, "html": render_html}
    # JSON as bytes: a long input's brief is megabytes, and its text as a string (and copies of it)
    # was the last peak of memory of a run.
    text = render_json_bytes(brief) if fmt == "json" else renderers[fmt](brief)
    if output is None:
        _to_stdout(lambda: _write_stdout(text))
        return
    write_output(output, text)
    if not quiet:
        err.print(f"Wrote {_safe(str(output))}", markup=False)


@click.command(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Exit codes: 0 checked (whatever the verdict), 2 bad usage or input.",
)
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option(
    "-f",
    "--format",
    "output_format",
    type=click.Choice(("text", "json")),
    default="text",
    show_default=True,
    help="text: a verdict line per source, then its spun phrases; json: the sources[] of a brief's JSON.",
)
def check_paraphrase_command(sources: tuple[str, ...], output_format: str) -> None:
    """Say whether each SOURCE is likely machine-paraphrased ("spun"), and list its spun phrases
    with the standard terms they stand for. Nothing is briefed."""
    import json

    from briefer.pipeline import check_paraphrase
    from briefer.render import render_paraphrase_check
    from briefer.sources import load_sources

    checked = check_paraphrase(load_sources(sources))
    if output_format == "json":
        shown = [source.model_dump(exclude_none=True) for source in checked]
        sys.stdout.write(json.dumps({"sources": shown}, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render_paraphrase_check(checked))


@click.group(
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="User templates live in the folder `brief templates path` prints and override built-ins.",
)
@click.pass_context
def templates_command(ctx: click.Context) -> None:
    """List the briefing templates, or show, locate and create them."""
    if ctx.invoked_subcommand is None:
        from briefer.safe_text import one_line

        # The description is read from the TOML alone: validating every template would import
        # pydantic, which costs more than the rest of the listing. A file that is not TOML or
        # has no description is validated, to report what is wrong with it.
        for name, found in template_files().items():
            description = found.description()
            if description is None:
                from briefer.templates import parse_template

                description = parse_template(found.text, found.where).description
            mark = " (yours)" if found.user else ""
            # A user's template is a file anyone could have sent: its name and description are shown
            # as text, never as terminal escapes (colours, OSC 8 links), whether piped or not.
            click.echo(f"{one_line(name):<12} {one_line(description)}{mark}")


@templates_command.command("show")
@click.argument("name")
@click.option("--plain", is_flag=True, help="No syntax highlighting.")
def show_template(name: str, plain: bool) -> None:
    """Print template NAME (a name or a .toml path)."""
    from rich.syntax import Syntax

    from briefer.template_files import find_template
    from briefer.templates import parse_template

    found = find_template(name)
    parse_template(found.text, found.where)  # a broken template says so rather than showing
    console = _console(plain)
    if console.is_terminal and not plain:
        console.print(Syntax(found.text, "toml", background_color="default"))
    else:
        sys.stdout.write(found.text)


@templates_command.command("path")
def template_path() -> None:
    """Print the folder where your own templates live."""
    from briefer.template_files import user_dir

    click.echo(str(user_dir()))


@templates_command.command("new")
@click.argument("name")
@click.option("--from", "base", default=DEFAULT_TEMPLATE, show_default=True, help="Template to copy.")
def create_template(name: str, base: str) -> None:
    """Create your own template NAME, a copy of another to edit."""
    from briefer.templates import new_template

    path = new_template(name, base)
    click.echo(str(path))


def _console(plain: bool, stderr: bool = False) -> Console:
    """A console that never reads markup or emoji codes; `plain` drops every style (NO_COLOR drops colour)."""
    from rich.console import Console

    if plain:
        return Console(stderr=stderr, color_system=None, highlight=False, emoji=False, markup=False)
    return Console(stderr=stderr, highlight=False, emoji=False, markup=False)


def _redacted(text: str) -> str:
    """`text` with keys, bearer tokens and URL credentials blanked out (`briefer.redact`)."""
    from briefer.redact import redact

    return redact(text)


def _to_stdout(write: Callable[[], object]) -> None:
    """Run `write` and flush stdout; a full disk or a closed terminal is a RunError, not an internal error."""
    from briefer.errors import RunError

    try:
        write()
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        # What could not be written must not be retried when Python flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise RunError(f"cannot write to stdout: {exc.strerror or exc}") from exc


def _write_stdout(text: str | bytes) -> None:
    """Write `text` to stdout; bytes go to its binary buffer, after what the text layer holds."""
    buffer = getattr(sys.stdout, "buffer", None)
    if isinstance(text, str) or buffer is None:
        sys.stdout.write(text if isinstance(text, str) else text.decode("utf-8"))
        return
    sys.stdout.flush()
    buffer.write(text)


def _safe(text: str) -> str:
    """`text` on one line with control characters escaped, for messages to the terminal: a file
    name with a newline must not make an error two lines or fake a line of its own."""
    from briefer.safe_text import one_line

    return one_line(text)


_STAGE_NAMES = {"chunks": "extract"}


class _ProgressLine:
    """The progress line on a terminal: each stage's steps done, and a model's tokens as they arrive
    ("extract 3/7 · 412 tok · 9 tok/s"). rich renders it afresh at every refresh, so the token
    count and rate move while an answer streams in."""

    def __init__(self, meter: TokenMeter | None) -> None:
        self.meter = meter
        self.latest: dict[str, Progress] = {}

    def update(self, step: Progress) -> None:
        # Stages overlap (a model reads early sources while later ones are split): show each.
        self.latest[step.stage] = step

    def describe(self) -> str:
        steps = [s for s in list(self.latest.values()) if s.stage != "sources"]
        parts = [f"{_STAGE_NAMES.get(s.stage, s.stage)} {s.done}/{s.total}" for s in steps]
        received = self.meter.tokens if self.meter is not None else 0
        if received and self.meter is not None:
            rate = self.meter.rate()
            parts.append(f"{received:,} tok" + (f" · {rate:.0f} tok/s" if rate >= 0.5 else ""))
        elif "chunks" in self.latest and self.latest["chunks"].tokens:
            parts.append(f"{self.latest['chunks'].tokens:,} tokens")
        return f"Briefing: {' · '.join(parts) or 'reading sources…'}"

    def __rich__(self) -> str:
        return self.describe()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class _StderrLines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        from briefer.redact import redact

        sys.stderr.write(f"brief: {record.levelname.lower()}: {_safe(redact(record.getMessage()))}\n")


def _traceback(exc: BaseException) -> None:
    """The traceback BRIEF_DEBUG=1 asks for, chained exceptions included, with secrets blanked out."""
    import traceback

    from briefer.redact import redact

    sys.stderr.write(_safe_lines(redact("".join(traceback.format_exception(exc)))))


def _safe_lines(text: str) -> str:
    return "\n".join(_safe(line) for line in text.split("\n"))


def _command(args: list[str]) -> tuple[click.Command, str, list[str]]:
    """The command `args` run, its name for messages and its own arguments."""
    if args[:1] == ["templates"] and not Path("templates").exists():
        return templates_command, "brief templates", args[1:]
    if args[:1] == ["batch"] and not Path("batch").exists():
        return batch_command, "brief batch", args[1:]
    if args[:1] == ["check-paraphrase"] and not Path("check-paraphrase").exists():
        return check_paraphrase_command, "brief check-paraphrase", args[1:]
    return brief_command, "brief", args


def main(argv: Sequence[str] | None = None) -> int:
    """Run `brief` with `argv` (default: the command line) and return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("BRIEF_DEBUG") == "1"
    log = logging.getLogger("briefer")
    if not any(isinstance(h, _StderrLines) for h in log.handlers):
        log.addHandler(_StderrLines())
    log.setLevel(logging.ERROR if "-q" in args or "--quiet" in args else logging.WARNING)
    log.propagate = False
    command, prog, args = _command(args)
    previous = _on_sigterm(_terminate)
    try:
        command.main(args, prog_name=prog, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        if debug:
            _traceback(exc)
        sys.stderr.write(f"{prog}: error: {exc.format_message()} (see {prog} --help)\n")
        return EXIT_USAGE
    except (KeyboardInterrupt, click.exceptions.Abort) as exc:
        if isinstance(exc, _Terminated) or isinstance(exc.__cause__, _Terminated):  # click wraps it in Abort
            sys.stderr.write(f"{prog}: terminated\n")
            return EXIT_TERMINATED
        sys.stderr.write(f"{prog}: interrupted\n")
        return EXIT_INTERRUPTED
    except BriefError as exc:
        if debug:
            _traceback(exc)
        sys.stderr.write(f"{prog}: error: {_safe(_redacted(str(exc)))}\n")
        return exc.exit_code
    except BrokenPipeError:
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:
        if debug:
            _traceback(exc)
        sys.stderr.write(
            f"{prog}: internal error: {type(exc).__name__}: {_safe(_redacted(str(exc)))}"
            " (set BRIEF_DEBUG=1 for a traceback)\n"
        )
        return EXIT_FAILED
    finally:
        _on_sigterm(previous)
    return EXIT_OK


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be, so the same cleanup runs (temporary files, the local server)."""


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated


def _on_sigterm(handler: Any) -> Any:
    """Install `handler` for SIGTERM and return the one it replaces; only the main thread may, so elsewhere
    nothing changes (None)."""
    if handler is None or threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, handler)


def run() -> None:
    """Console-script entry point."""
    code = main()
    if code == EXIT_OK and _command(sys.argv[1:])[0] is brief_command:
        # The brief is written (an -o file is complete and renamed into place), the engine and its
        # cache are closed and the worker processes have ended: what is left is freeing the run's
        # objects one by one, ~0.3 s on a large input, which the system does at once on exit.
        # (Not after `brief batch`: its executors have exit handlers of their own.)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            sys.exit(code)  # Python's own exit reports what could not be written
        os._exit(code)
    if code != EXIT_OK and threading.active_count() > 1:
        # Worker threads may still wait on a model server; their answers are no longer wanted.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


# `brief batch` takes every option of `brief` that applies to all of its jobs.
_BATCH_SHARED = (
    "template",
    "sections",
    "engine",
    "chunk_tokens",
    "model",
    "base_url",
    "timeout",
    "concurrency",
    "max_tokens",
    "no_cache",
    "jobs",
    "strict",
    "quiet",
    "plain",
)
# `--deadline` applies to each job of a batch rather than to the run: its own help says so.
_BATCH_DEADLINE = click.Option(
    ["--deadline"],
    type=click.FloatRange(min=0.1),
    metavar="SECONDS",
    help="Longest time all model calls of one job may take together, from its first call; a job "
    "past it fails and the others go on [default: no limit].",
)
BATCH_EPILOG = """\b
Examples:
  brief batch jobs.jsonl --out briefs/          one brief per line of the manifest
  brief batch clusters/ --out briefs/ -f html   one brief per subfolder, also as HTML
  brief batch jobs.jsonl --out briefs/ --workers 4
  brief batch jobs.jsonl --out briefs/ --executor ray --ray-address auto
  brief batch jobs.jsonl --out run/ --executor ray --ray-results /mnt/shared/briefs
  brief batch jobs.jsonl --out briefs/ --batch-api     OpenAI Batch API, half price

\b
A manifest line: {"id": "a1", "sources": ["a.txt", "https://…"], "template": "sitrep"}
Writes DIR/<id>.json, DIR/<id>.md and DIR/index.jsonl; a rerun skips jobs already done.
Exit codes: 0 every job ok, 1 some job failed (listed), 2 bad usage or input, 130 interrupted.
"""


def _batch(
    jobs_file: Path,
    out: Path,
    workers: int | None,
    executor: str,
    ray_address: str | None,
    ray_results: Path | None,
    force: bool,
    formats: tuple[str, ...],
    batch_api: str | None,
    batch_file: Path | None,
    dry_run: bool,
    template: str,
    sections: tuple[str, ...],
    engine: str | None,
    chunk_tokens: int,
    model: str | None,
    base_url: str | None,
    timeout: float | None,
    deadline: float | None,
    concurrency: int | None,
    max_tokens: int | None,
    no_cache: bool,
    jobs: int | None,
    strict: bool,
    quiet: bool,
    plain: bool,
) -> None:
    """Brief every job of JOBS (a JSONL manifest, or a folder of job folders) into folder DIR."""
    from briefer.batch import BatchOptions, make_executor, read_jobs, run_batch
    from briefer.config import resolve_settings

    if ray_results is not None and executor != "ray":
        raise UsageError("--ray-results needs --executor ray: local workers write into --out")
    listed = read_jobs(jobs_file)
    settings = resolve_settings(
        engine=engine,
        model=model,
        base_url=base_url,
        timeout=timeout,
        deadline=deadline,
        concurrency=concurrency,
        max_tokens=max_tokens,
        no_cache=no_cache,
        jobs=jobs or 1,
        need_key=not dry_run,
    )
    chosen = ("json", "markdown", *(f for f in formats if f not in ("json", "markdown")))
    options = BatchOptions(settings, template, sections, chunk_tokens, strict, chosen)
    err = _console(plain, stderr=True)
    if dry_run or batch_api:
        from briefer.batch.provider import describe_dry_run, prefetch

        if dry_run:
            sys.stdout.write(describe_dry_run(listed, options))
            return
        assert batch_api is not None

        def say(line: str) -> None:
            if not quiet:
                sys.stderr.write(f"brief batch: {_safe(line)}\n")

        done = prefetch(listed, options, out, batch_api, batch_file, say)
        say(done.account)
        if not done.run_jobs:
            return
    runner = make_executor(executor, options, workers, ray_address, ray_results)
    show = not quiet and err.is_terminal
    with err.status("Starting the batch…", spinner="dots") if show else _nothing() as status:

        def progress(state: BatchProgress) -> None:
            if status is not None:
                status.update(
                    f"Batch: {state.ok + state.skipped} done · {len(state.failed)} failed · "
                    f"{state.left} left · {state.rate():.1f} jobs/min"
                )

        state = run_batch(
            listed, options, out, runner, force=force, on_progress=progress, results=ray_results
        )
    skipped = f", {state.skipped} skipped" if state.skipped else ""
    summary = (
        f"{state.total} jobs in {state.seconds:.1f} s: {state.ok} ok{skipped}, {len(state.failed)} failed "
        f"({state.rate():.1f} jobs/min); briefs in {_safe(str(ray_results or out))}"
    )
    if state.interrupted:
        sys.stderr.write(
            f"brief batch: {state.left} of {state.total} jobs left: rerun the same command to finish them\n"
        )
        raise KeyboardInterrupt
    if not quiet:
        sys.stderr.write(f"brief batch: {summary}\n")
    if state.failed:
        raise RunError(
            f"{len(state.failed)} of {state.total} jobs failed: {', '.join(state.failed)} "
            f"(errors in {out / 'index.jsonl'})"
        )


def _sigterm_as_ctrl_c(**options: Any) -> None:
    """`brief batch`, where SIGTERM stops the run as Ctrl-C does (only whole outputs are left)."""
    from briefer.batch.run import sigterm_interrupts

    with sigterm_interrupts():
        _batch(**options)


batch_command = click.Command(
    "batch",
    callback=_sigterm_as_ctrl_c,
    help=_batch.__doc__,
    epilog=BATCH_EPILOG,
    context_settings={"help_option_names": ["-h", "--help"]},
    params=[
        click.Argument(["jobs_file"], metavar="JOBS", type=click.Path(path_type=Path)),
        click.Option(
            ["--out", "out"],
            required=True,
            metavar="DIR",
            type=click.Path(file_okay=False, path_type=Path),
            help="Folder for the briefs and index.jsonl (created if missing).",
        ),
        click.Option(
            ["--workers"],
            type=click.IntRange(1, 256),
            metavar="N",
            help="Worker processes (Ray actors with --executor ray) [default: one per CPU].",
        ),
        click.Option(
            ["--executor"],
            type=click.Choice(["local", "ray"]),
            default="local",
            show_default=True,
            help="local: processes on this machine; ray: a Ray cluster (pip install 'briefer[ray]').",
        ),
        click.Option(
            ["--ray-address"],
            metavar="ADDRESS",
            help="Ray cluster to join (env RAY_ADDRESS) [default: a local one for this run].",
        ),
        click.Option(
            ["--ray-results"],
            metavar="PATH",
            type=click.Path(file_okay=False, path_type=Path),
            help="With --executor ray: a folder every node and this machine see (shared storage), where "
            "the Ray workers write the briefs themselves; index.jsonl stays in --out.",
        ),
        click.Option(["--force"], is_flag=True, help="Redo jobs that are already done."),
        click.Option(
            ["-f", "--format", "formats"],
            multiple=True,
            type=click.Choice(["markdown", "json", "html"]),
            help="Also write this format (JSON and Markdown are always written). Repeatable.",
        ),
        click.Option(
            ["--batch-api"],
            type=click.Choice(["send", "extract-only", "export", "import"]),
            is_flag=False,
            flag_value="send",
            help="Send the model requests of all jobs as OpenAI Batch API files (half price), in rounds "
            "(first requests, then merging points), then run the jobs from the answers: send (the "
            "default), extract-only (one round of extraction; the rest asked live), export (write the "
            "requests of the round that is due, send nothing), import (read --batch-file).",
        ),
        click.Option(
            ["--batch-file"],
            type=click.Path(dir_okay=False, path_type=Path),
            metavar="FILE",
            help="--batch-api export: where to write the requests [default: DIR/batch-requests.jsonl]; "
            "import: the results file to read.",
        ),
        click.Option(
            ["--dry-run"],
            is_flag=True,
            help="Show the requests, tokens and cost, live and batched; send nothing.",
        ),
        *[param for param in brief_command.params if param.name in _BATCH_SHARED],
        _BATCH_DEADLINE,
    ],
)
