"""Rendering a brief: the terminal (rich), Markdown with footnote citations, and JSON.

Text from documents is never interpreted: not as rich markup (it goes in
`Text` objects, never markup strings), not as terminal control sequences
(control characters are shown escaped), not as Markdown syntax (escaped).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from briefer.brief import Brief, Citation, Item, SourceInfo
from briefer.differences import DIFFERENCES_TITLE, NO_DIFFERENCES
from briefer.safe_text import inline, one_line, safe

# `&` would start an entity ("&lt;" shows as "<"), `!` before a footnote's `[` an image.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|&!])")
# At the start of a line these begin a heading, a list or a setext underline.
_MARKDOWN_LINE_START = re.compile(r"^(?:([#+=-])|(\d+)([.)]))")
_EMPTY = "Nothing in the sources fits this section."


def compact_refs(citations: Iterable[Citation]) -> str:
    """`[S1:1,3] [S2:4]`: cited sentence numbers grouped by source, in citation order."""
    by_source: dict[str, list[str]] = {}
    for citation in citations:
        by_source.setdefault(citation.source, []).append(str(citation.sentence))
    return " ".join(f"[{source}:{','.join(numbers)}]" for source, numbers in by_source.items())


def _parts(brief: Brief) -> list[tuple[str, list[Item], str, bool]]:
    """(title, items, text when empty, show support) of each part: sections, then the differences."""
    parts = [(section.title, section.items, _EMPTY, True) for section in brief.sections]
    if len(brief.sources) > 1:
        parts.append((DIFFERENCES_TITLE, brief.differences, NO_DIFFERENCES, False))
    return parts


_UNSUPPORTED = "not supported by its citations"


def _why_unsupported(item: Item) -> str:
    """Which check an unsupported item failed, and how ("number: 27 is not in them")."""
    if item.unsupported is None:
        return ""
    return item.unsupported.reason + (f": {item.unsupported.detail}" if item.unsupported.detail else "")


def _spun_parts(item: Item) -> list[tuple[str, str | None]]:
    """The item's text in pieces: (text, None), and (spun phrase, its standard term) where one is."""
    text = item.text
    places: list[tuple[int, int, str]] = []
    for term in item.standard_terms or ():
        pattern = r"\s+".join(re.escape(part) for part in term.phrase.split())
        match = re.search(rf"(?<!\w){pattern}(?!\w)", text, flags=re.IGNORECASE)
        if match and not any(a < match.end() and match.start() < b for a, b, _ in places):
            places.append((match.start(), match.end(), term.standard))
    parts: list[tuple[str, str | None]] = []
    at = 0
    for start, end, standard in sorted(places):
        parts += [(text[at:start], None), (text[start:end], standard)]
        at = end
    parts.append((text[at:], None))
    return [part for part in parts if part[0]]


def _standard_note(standard: str) -> str:
    return f" (standard: {standard})"


_SPUN_COLUMN = "machine-paraphrased"


def _spun_source(source: SourceInfo) -> str:
    """ "likely, 20 spun phrases" for a likely machine-paraphrased source, else ""."""
    if source.paraphrase is None or not source.paraphrase.likely:
        return ""
    count = len(source.paraphrase.matches)
    return f"likely, {count} spun phrase" + ("" if count == 1 else "s")


def _spun_short(source: SourceInfo) -> str:
    """ "likely (20)": a likely-spun source and its spun phrases, for the terminal's narrow column."""
    return f"likely ({len(source.paraphrase.matches)})" if _spun_source(source) and source.paraphrase else ""


def _any_spun(brief: Brief) -> bool:
    return any(_spun_source(source) for source in brief.sources)


def _support(item: Item, show: bool) -> str:
    """How many sources back an item, when more than one does."""
    return f" ({item.sources} sources)" if show and item.sources and item.sources > 1 else ""


def terminal_renderable(brief: Brief) -> Group:
    """The brief as rich renderables: title, sources table, and each section as a cited list."""
    parts: list[RenderableType] = [Text(one_line(brief.title), style="bold"), Text(), _sources_table(brief)]
    for title, items, empty, show_support in _parts(brief):
        parts.append(Text())
        parts.append(Text(one_line(title), style="bold underline"))
        if not items:
            parts.append(Text(f"  {empty}", style="dim italic"))
            continue
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=3, justify="right")
        grid.add_column(ratio=1)
        for item in items:
            line = Text()
            for part, standard in _spun_parts(item):
                line.append(inline(part))
                if standard is not None:
                    line.append(_standard_note(inline(standard)), style="magenta")
            line.append(_support(item, show_support), style="green")
            line.append(f" {compact_refs(item.citations)}", style="cyan")
            if item.supported is False:
                line.append(f" ({_UNSUPPORTED})", style="yellow")
            grid.add_row("•", line)
        parts.append(grid)
    parts.append(Text())
    parts.append(Text(_footer(brief), style="dim"))
    return Group(*parts)


def _sources_table(brief: Brief) -> Table:
    table = Table(box=None, padding=(0, 1), pad_edge=False, show_edge=False, header_style="dim")
    for name, justify in (
        ("", "left"),
        ("source", "left"),
        ("date", "left"),
        ("length", "right"),
        ("cited by", "right"),
        *([("spun", "left")] if _any_spun(brief) else []),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for source in brief.sources:
        title = Text(one_line(source.title))
        title.append(f"  {one_line(source.path)}", style="dim")
        spun = [Text(_spun_short(source), style="yellow")] if _any_spun(brief) else []
        table.add_row(
            Text(f"  {source.id}", style="cyan"),
            title,
            source.date or "",
            _length(source),
            _items(source),
            *spun,
        )
    return table


def _length(source: SourceInfo) -> str:
    return f"{source.chars:,} chars" if source.chars is not None else ""


def _items(source: SourceInfo) -> str:
    if source.items is None:
        return ""
    return f"{source.items} item" + ("" if source.items == 1 else "s")


def render_terminal(brief: Brief, console: Console | None = None) -> None:
    """Print the brief to `console` (stdout by default)."""
    (console or Console()).print(terminal_renderable(brief), soft_wrap=False)


def render_markdown(brief: Brief) -> str:
    """The brief as Markdown: H1 title, H2 per section, bullets with footnotes quoting each cited sentence."""
    lines = [f"# {_md(brief.title)}", ""]
    notes: dict[str, Citation] = {}
    for title, items, empty, show_support in _parts(brief):
        lines += [f"## {_md(title)}", ""]
        if not items:
            lines += [f"_{empty}_", ""]
            continue
        for item in items:
            marks = ""
            for citation in item.citations:
                label = f"{citation.source}-{citation.sentence}"
                notes.setdefault(label, citation)
                marks += f"[^{label}]"
            flag = f" _({_UNSUPPORTED})_" if item.supported is False else ""
            text = _md_line(
                "".join(
                    _md_inline(part) + (f" _{_md(_standard_note(standard))}_" if standard is not None else "")
                    for part, standard in _spun_parts(item)
                ).strip()
            )
            lines.append(f"- {text}{_support(item, show_support)}{marks}{flag}")
        lines.append("")
    spun_column = _any_spun(brief)
    lines += [
        "## Sources",
        "",
        "| | Source | Date | Length | Cited by |" + (" Machine-paraphrased |" if spun_column else ""),
        "|---|---|---|--:|--:|" + ("---|" if spun_column else ""),
    ]
    for source in brief.sources:
        path = one_line(source.path).replace("`", "").replace("|", "\\|")  # a code span in a table cell
        spun = f" {_spun_source(source)} |" if spun_column else ""
        lines.append(
            f"| **{source.id}** | {_md(source.title)} (`{path}`) | {_md(source.date or '')} "
            f"| {_length(source)} | {_items(source)} |{spun}"
        )
    lines.append("")
    lines.append(f"_{_footer(brief)}_")
    lines.append("")
    for label, citation in notes.items():
        lines.append(f"[^{label}]: {citation.source}:{citation.sentence}: “{_md(citation.quote)}”")
    return "\n".join(lines) + "\n"


_HTML_STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
sup a { color: #06c; text-decoration: none; cursor: help; } .empty, footer { color: #777; }
.support { color: #2a7; } .unsupported { color: #b60; } .standard, .spun { color: #95a; }
table { border-collapse: collapse; } td, th { padding: .2rem .6rem; text-align: left; border-bottom: 1px solid #eee; }
"""


def render_html(brief: Brief) -> str:
    """One self-contained HTML page; hovering a citation shows the sentence it quotes."""
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(one_line(brief.title))}</title><style>{_HTML_STYLE}</style></head><body>",
        f"<h1>{e(one_line(brief.title))}</h1>",
    ]
    for title, items, empty, show_support in _parts(brief):
        out.append(f"<h2>{e(one_line(title))}</h2>")
        if not items:
            out.append(f'<p class="empty">{e(empty)}</p>')
            continue
        out.append("<ul>")
        for item in items:
            marks = "".join(
                f'<sup><a href="#{e(c.source)}" title="{e(safe(c.quote))}">[{e(c.ref)}]</a></sup>'
                for c in item.citations
            )
            support = (
                f'<span class="support">{e(_support(item, show_support))}</span>'
                if _support(item, show_support)
                else ""
            )
            flag = (
                f' <span class="unsupported" title="{e(safe(_why_unsupported(item)))}">({_UNSUPPORTED})</span>'
                if item.supported is False
                else ""
            )
            text = "".join(
                e(inline(part))
                + (
                    f'<span class="standard">{e(_standard_note(inline(standard)))}</span>'
                    if standard is not None
                    else ""
                )
                for part, standard in _spun_parts(item)
            )
            out.append(f"<li>{text}{support}{marks}{flag}</li>")
        out.append("</ul>")
    spun_column = f"<th>{_SPUN_COLUMN.capitalize()}</th>" if _any_spun(brief) else ""
    out.append(
        "<h2>Sources</h2><table><tr><th></th><th>Source</th><th>Date</th><th>Length</th><th>Cited by</th>"
        f"{spun_column}</tr>"
    )
    for source in brief.sources:
        out.append(
            f'<tr id="{e(source.id)}"><td><b>{e(source.id)}</b></td><td>{e(one_line(source.title))} '
            f"<small>{e(one_line(source.path))}</small></td><td>{e(source.date or '')}</td>"
            f"<td>{e(_length(source))}</td><td>{e(_items(source))}</td>"
            + (f'<td class="spun">{e(_spun_source(source))}</td>' if spun_column else "")
            + "</tr>"
        )
    out.append(f"</table><footer><p>{e(_footer(brief))}</p></footer></body></html>")
    return "\n".join(out) + "\n"


def render_paraphrase_check(sources: Iterable[SourceInfo]) -> str:
    """`brief check-paraphrase`: each source's verdict, then its spun phrases with their standard terms."""
    lines: list[str] = []
    for source in sources:
        report = source.paraphrase
        if report is None:
            continue
        verdict = "likely machine-paraphrased" if report.likely else "not likely machine-paraphrased"
        count = len(report.matches)
        distinct = len({(m.phrase.casefold(), m.standard.casefold()) for m in report.matches})
        lines.append(
            f"{source.id}  {safe(source.path)}: {verdict} ({count} spun phrase{'' if count == 1 else 's'}, "
            f"{distinct} different; {report.per_1000_words:.1f} per 1,000 words)"
        )
        for match in report.matches:
            ref = f"{source.id}:{match.sentence}"
            lines.append(f"  {ref:<8} {safe(match.phrase)} → {safe(match.standard)}")
    return "\n".join(lines) + "\n"


def render_json(brief: Brief) -> str:
    """The brief as the JSON contract other programs read."""
    return brief.to_json() + "\n"


def render_json_bytes(brief: Brief) -> bytes:
    """`render_json` in UTF-8, without a string of it on the way (see `Brief.to_json_bytes`)."""
    return brief.to_json_bytes() + b"\n"


def _md(text: str) -> str:
    """A single-line field as Markdown that shows `text` literally: on one line, special characters escaped."""
    return _md_line(_md_inline(text).strip())


def _md_inline(text: str) -> str:
    """Part of a Markdown line showing `text` literally (whitespace runs as one space, kept at the ends)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", inline(text))


def _md_line(escaped: str) -> str:
    """An escaped line that cannot start a heading, list or quote."""
    return _MARKDOWN_LINE_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", escaped)


def _footer(brief: Brief) -> str:
    engine = brief.engine.name + (f" ({brief.engine.model})" if brief.engine.model else "")
    checked = brief.verification.citations_checked
    usage = brief.usage
    calls = (
        f", {usage.llm_calls} LLM calls, {usage.prompt_tokens}+{usage.completion_tokens} tokens"
        if usage.llm_calls
        else ""
    )
    noun = "citation" if checked == 1 else "citations"
    return f"Template {brief.template}, engine {engine}{calls}; {checked} {noun} checked against the sources."
