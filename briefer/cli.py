"""The `brief` command: parse options, run the library, print or save the brief.

Exit codes: 0 brief written, 1 the run failed, 2 bad usage or input, 130 interrupted.
Errors are one line on stderr; BRIEF_DEBUG=1 shows the traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click
from rich.console import Console

from briefer import __version__
from briefer.chunking import DEFAULT_CHUNK_TOKENS
from briefer.engines import ENGINES
from briefer.errors import BriefError, UsageError
from briefer.output import write_atomic
from briefer.pipeline import Progress, make_brief
from briefer.render import render_json, render_markdown, safe, terminal_renderable
from briefer.sources import load_sources
from briefer.templates import DEFAULT_TEMPLATE, builtin_templates, load_template

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
FORMATS = ("terminal", "markdown", "json")
_SUFFIX_FORMATS = {".md": "markdown", ".markdown": "markdown", ".json": "json"}

EPILOG = """\b
Examples:
  brief article.txt                      policy brief in the terminal
  brief article.txt -o brief.md          save it as Markdown
  brief a.txt b.md notes/ --format json  one brief of many sources, as JSON
  cat article.txt | brief -              read from stdin
  brief article.txt -t executive         another template (see: brief templates)

\b
Exit codes: 0 brief written, 1 run failed, 2 bad usage or input.
"""


@click.command(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
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
    default="extractive",
    show_default=True,
    help="extractive works offline with no key.",
)
@click.option(
    "--chunk-tokens",
    type=click.IntRange(min=50),
    default=DEFAULT_CHUNK_TOKENS,
    show_default=True,
    help="Largest chunk of whole sentences, in tiktoken tokens.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress or notices on stderr.")
@click.option("--plain", is_flag=True, help="No colour or styling (NO_COLOR is respected too).")
@click.version_option(__version__, "-V", "--version", prog_name="brief")
def brief_command(
    sources: tuple[str, ...],
    template: str,
    output: Path | None,
    output_format: str | None,
    engine: str,
    chunk_tokens: int,
    quiet: bool,
    plain: bool,
) -> None:
    """Turn documents into a structured brief where every line cites the sentence it came from.

    SOURCE is a .txt or .md file, a directory (its .txt and .md files) or - for stdin.
    """
    fmt = output_format or (_SUFFIX_FORMATS.get(output.suffix.lower(), "markdown") if output else "terminal")
    if output is not None and fmt == "terminal":
        raise UsageError("--format terminal cannot be saved to a file: use markdown or json")
    chosen = load_template(template)
    loaded = load_sources(sources)
    err = Console(stderr=True, no_color=plain or None, highlight=False)
    show_progress = not quiet and err.is_terminal
    with err.status("Reading sources…", spinner="dots") if show_progress else _nothing() as status:

        def progress(step: Progress) -> None:
            if status is not None:
                status.update(f"Briefing: {step.stage} {step.done}/{step.total}")

        brief = make_brief(loaded, chosen, engine, chunk_tokens=chunk_tokens, on_progress=progress)
    if fmt == "terminal":
        out = Console(no_color=plain or None, highlight=False, emoji=False, markup=False)
        out.print(terminal_renderable(brief))
        return
    text = render_json(brief) if fmt == "json" else render_markdown(brief)
    if output is None:
        sys.stdout.write(text)
        return
    write_atomic(output, text)
    if not quiet:
        err.print(f"Wrote {safe(str(output))}", markup=False)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def templates_command(ctx: click.Context) -> None:
    """List the briefing templates."""
    if ctx.invoked_subcommand is None:
        for name, template in builtin_templates().items():
            click.echo(f"{name:<12} {template.description}")


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class _StderrLines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(f"brief: {record.levelname.lower()}: {safe(record.getMessage())}\n")


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
        sys.stderr.write(f"{prog}: error: {safe(str(exc))}\n")
        return exc.exit_code
    except BrokenPipeError:
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:
        if debug:
            raise
        sys.stderr.write(
            f"{prog}: internal error: {type(exc).__name__}: {safe(str(exc))} (set BRIEF_DEBUG=1 for a traceback)\n"
        )
        return EXIT_FAILED
    return EXIT_OK


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
