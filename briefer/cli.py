"""The `brief` command: parse options, run the library, print or save the brief.

Exit codes: 0 brief written, 1 the run failed, 2 bad usage or input, 130 interrupted.
Errors are one line on stderr; BRIEF_DEBUG=1 shows the traceback.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from briefer._version import __version__
from briefer.chunking import DEFAULT_CHUNK_TOKENS
from briefer.engines import ENGINES
from briefer.errors import BriefError, UsageError
from briefer.formats import supported_suffixes
from briefer.sentences import MAX_JOBS
from briefer.template_files import DEFAULT_TEMPLATE, template_files

if TYPE_CHECKING:
    from rich.console import Console

    from briefer.pipeline import Progress

# Only what `brief --help`, `--version` and `brief templates` need is imported here; the
# pipeline (spaCy), the engines (the openai SDK), pydantic and rich are imported by the
# commands that use them, so those three print at once (tests/test_startup.py).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
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
  brief check-paraphrase a.txt b.txt     is a source machine-paraphrased ("spun")?

\b
Exit codes: 0 brief written, 1 run failed, 2 bad usage or input.
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
    help="Save the brief to this file (Markdown, or JSON for .json) instead of printing it.",
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
    "--timeout", type=click.FloatRange(min=0.1), metavar="SECONDS", help="Per request [default: 120]."
)
@click.option("--concurrency", type=click.IntRange(1, 64), metavar="N", help="Chunks at once [default: 4].")
@click.option(
    "--max-tokens", type=click.IntRange(min=16), metavar="N", help="Output limit per call [default: 2048]."
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
    from briefer.output import write_atomic
    from briefer.pipeline import make_brief
    from briefer.render import render_html, render_json, render_markdown, terminal_renderable
    from briefer.sources import load_sources
    from briefer.templates import load_template, with_sections

    fmt = output_format or (_SUFFIX_FORMATS.get(output.suffix.lower(), "markdown") if output else "terminal")
    if output is not None and fmt == "terminal":
        raise UsageError("--format terminal cannot be saved to a file: use markdown or json")
    chosen = with_sections(load_template(template), list(sections))
    settings = resolve_settings(
        engine=engine,
        model=model,
        base_url=base_url,
        timeout=timeout,
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

        sys.stdout.write(describe_plan(plan_run(loaded, chosen, runner, chunk_tokens)))
        return
    err = _console(plain, stderr=True)
    show_progress = not quiet and err.is_terminal
    with err.status("Reading sources…", spinner="dots") if show_progress else _nothing() as status:
        latest: dict[str, Progress] = {}

        def progress(step: Progress) -> None:
            # Stages overlap (a model reads early sources while later ones are split): show each.
            latest[step.stage] = step
            if status is not None:
                shown = [f"{s.stage} {s.done}/{s.total}" for s in latest.values() if s.stage != "sources"]
                tokens = latest["chunks"].tokens if "chunks" in latest else 0
                spent = f", {tokens:,} tokens" if tokens else ""
                status.update(f"Briefing: {' · '.join(shown) or 'reading'}{spent}")

        brief = make_brief(
            loaded,
            chosen,
            runner,
            chunk_tokens=chunk_tokens,
            on_progress=progress,
            jobs=settings.jobs,
            strict=strict,
        )
    if fmt == "terminal":
        out = _console(plain)
        out.print(terminal_renderable(brief))
        return
    renderers = {"markdown": render_markdown, "json": render_json, "html": render_html}
    text = renderers[fmt](brief)
    if output is None:
        sys.stdout.write(text)
        return
    write_atomic(output, text)
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
        # The description is read from the TOML alone: validating every template would import
        # pydantic, which costs more than the rest of the listing. A file that is not TOML or
        # has no description is validated, to report what is wrong with it.
        for name, found in template_files().items():
            description = found.description()
            if description is None:
                from briefer.templates import parse_template

                description = parse_template(found.text, found.where).description
            mark = " (yours)" if found.user else ""
            click.echo(f"{name:<12} {description}{mark}")


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


def _safe(text: str) -> str:
    """`text` with control characters escaped, for messages to the terminal."""
    from briefer.render import safe

    return safe(text)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class _StderrLines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(f"brief: {record.levelname.lower()}: {_safe(record.getMessage())}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run `brief` with `argv` (default: the command line) and return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("BRIEF_DEBUG") == "1"
    log = logging.getLogger("briefer")
    if not any(isinstance(h, _StderrLines) for h in log.handlers):
        log.addHandler(_StderrLines())
    log.setLevel(logging.ERROR if "-q" in args or "--quiet" in args else logging.WARNING)
    log.propagate = False
    command: click.Command
    if args[:1] == ["templates"] and not Path("templates").exists():
        command, prog, args = templates_command, "brief templates", args[1:]
    elif args[:1] == ["check-paraphrase"] and not Path("check-paraphrase").exists():
        command, prog, args = check_paraphrase_command, "brief check-paraphrase", args[1:]
    else:
        command, prog = brief_command, "brief"
    try:
        command.main(args, prog_name=prog, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        if debug:
            raise
        sys.stderr.write(f"{prog}: error: {exc.format_message()} (see {prog} --help)\n")
        return EXIT_USAGE
    except (KeyboardInterrupt, click.exceptions.Abort):
        sys.stderr.write(f"{prog}: interrupted\n")
        return EXIT_INTERRUPTED
    except BriefError as exc:
        if debug:
            raise
        sys.stderr.write(f"{prog}: error: {_safe(str(exc))}\n")
        return exc.exit_code
    except BrokenPipeError:
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:
        if debug:
            raise
        sys.stderr.write(
            f"{prog}: internal error: {type(exc).__name__}: {_safe(str(exc))} (set BRIEF_DEBUG=1 for a traceback)\n"
        )
        return EXIT_FAILED
    return EXIT_OK


def run() -> None:
    """Console-script entry point."""
    code = main()
    if code != EXIT_OK and threading.active_count() > 1:
        # Worker threads may still wait on a model server; their answers are no longer wanted.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
