"""Loading sources: files, directories, URLs and stdin become numbered `Source`s.

Each format's reader lives in `briefer.formats`; this module expands arguments,
numbers the sources, skips repeats and picks titles.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, Field

from briefer.errors import SourceError
from briefer.formats import Document, read_bytes, read_file, read_url, sniff, supported_suffixes
from briefer.formats.limits import check_chars, check_size, max_bytes
from briefer.formats.web import is_url

log = logging.getLogger("briefer")

_MD_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
_TERMINAL_PUNCT = tuple(".!?;:,\"'”’)")
_DATELINE_LINES = 4
"""How far down a dateline may be: the headline, a byline, the date."""
_WEEKDAYS = "mon|tue|wed|thu|fri|sat|sun"
_DATE_LAYOUTS = ("%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y", "%Y-%m-%d")


class Source(BaseModel):
    """One input document: a stable id (S1, S2 …), where it came from, a title, a date and its text.

    `path` is the argument it was read from (a file path, a URL or `-`); `date` is an ISO
    date (YYYY-MM-DD) when the document's metadata gives one.
    """

    id: str
    path: str
    title: str
    text: str = Field(repr=False)
    date: str | None = None


def load_sources(args: Sequence[str], stdin: BinaryIO | None = None) -> list[Source]:
    """Read every argument (file, directory, http(s) URL or `-` for stdin) into sources numbered S1, S2 …

    Raises `SourceError` naming the path for anything that cannot be read.
    """
    if not args:
        raise SourceError("(no sources)", "give at least one file, directory, URL or - for stdin")
    if list(args).count("-") > 1:
        raise SourceError("-", "stdin can be read only once; give - once")
    seen: set[Path | str] = set()
    loaded: list[tuple[str, Document, str]] = []  # (path shown, document, fallback title)
    for arg in args:
        _check_total(loaded)
        if arg == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            data = stream.read(max_bytes() + 1)
            check_size(len(data), "<stdin>")
            loaded.append(("-", read_bytes(data, sniff(data) or "text", "<stdin>"), "stdin"))
            continue
        if is_url(arg):
            if _first_time(arg, seen, arg):
                loaded.append((arg, read_url(arg), _title_from_url(arg)))
            continue
        for path in _expand(arg):
            if _first_time(path.resolve(), seen, str(path)):
                loaded.append((str(path), read_file(path), _title_from_name(path)))
                _check_total(loaded)
    _check_total(loaded)
    return [
        Source(
            id=f"S{number}",
            path=shown,
            title=document.title or _title(document.text, fallback),
            text=document.text,
            date=document.date or dateline(document.text),
        )
        for number, (shown, document, fallback) in enumerate(loaded, start=1)
    ]


def _check_total(loaded: list[tuple[str, Document, str]]) -> None:
    """Stop at the source that takes the run past the characters limit, before reading more."""
    if loaded:
        check_chars(sum(len(document.text) for _, document, _ in loaded), loaded[-1][0])


def _first_time(key: Path | str, seen: set[Path | str], shown: str) -> bool:
    if key in seen:
        log.warning("%s: given more than once; read once", shown)
        return False
    seen.add(key)
    return True


def _expand(arg: str) -> Iterable[Path]:
    """Yield the files an argument stands for: itself, or a directory's readable files in sorted order."""
    path = Path(arg)
    if path.is_dir():
        suffixes = supported_suffixes()
        candidates = sorted(
            p
            for p in path.rglob("*")  # does not descend into linked folders, so no loops
            if p.is_file()
            and p.suffix.lower() in suffixes
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        files = [p for p in candidates if not _links_outside(p, path)]
        if not files:
            raise SourceError(arg, f"directory holds no {', '.join(suffixes[:-1])} or {suffixes[-1]} files")
        return files
    if not path.exists():
        raise SourceError(arg, "no such file or directory")
    if not path.is_file():
        raise SourceError(arg, "not a regular file")
    return [path]


def _links_outside(file: Path, folder: Path) -> bool:
    """True, with a warning, for a symlink in `folder` to a file outside it: naming a folder
    must not read /etc/hostname through a link someone left in it. A file named itself is read."""
    if not file.is_symlink() or file.resolve().is_relative_to(folder.resolve()):
        return False
    log.warning("%s: a link to a file outside %s; skipped (name the file itself to read it)", file, folder)
    return True


def _title(text: str, fallback: str) -> str:
    """A leading heading, else `fallback`: a Markdown `#` heading, or a short first line set apart
    by a blank line or followed by a dateline (a headline, then "Tuesday, July 12, 2005")."""
    lines = text.lstrip("\n").split("\n")
    first = lines[0].strip()
    heading = _MD_HEADING.match(first)
    if heading:
        return heading.group("title")
    second = lines[1].strip() if len(lines) > 1 else None
    stands_alone = second == "" or (second is not None and _date_of_line(second) is not None)
    headline = 0 < len(first) <= 120 and not first.endswith(_TERMINAL_PUNCT) and _date_of_line(first) is None
    return first if stands_alone and headline else fallback


def dateline(text: str) -> str | None:
    """The ISO date of a line near the top that is only a date ("Tuesday, July 12, 2005",
    "12 July 2005", "2005-07-12"), as news copy carries under its headline; else None."""
    lines = [line.strip() for line in text.lstrip().split("\n", _DATELINE_LINES)[:_DATELINE_LINES]]
    for line in lines:
        found = _date_of_line(line)
        if found:
            return found
    return None


def _date_of_line(line: str) -> str | None:
    """The ISO date a line consists of, give or take a weekday and punctuation; else None."""
    bare = line.strip().replace(",", "").replace(".", "")
    bare = re.sub(rf"^(?:{_WEEKDAYS})\w*\s+", "", bare, flags=re.IGNORECASE)
    bare = re.sub(r"(\d)(?:st|nd|rd|th)\b", r"\1", bare)
    if not 8 <= len(bare) <= 24:
        return None
    for layout in _DATE_LAYOUTS:
        try:
            return datetime.strptime(bare, layout).date().isoformat()
        except ValueError:
            continue
    return None


def _title_from_name(path: Path) -> str:
    return re.sub(r"[-_]+", " ", path.stem).strip() or path.name


def _title_from_url(url: str) -> str:
    parts = urlsplit(url)
    name = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    stem = re.sub(r"[-_]+", " ", name.rsplit(".", 1)[0]).strip()
    return stem or parts.hostname or url
