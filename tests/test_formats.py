"""Input formats: HTML, PDF, DOCX, Markdown front matter, unsupported files, and URLs on a loopback server.

Every file is made here with the library that writes that format (fpdf2, python-docx),
and every URL is served by a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import io
import re
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click
import docx
import pytest
from conftest import ROOT, assert_citations_grounded, brief_json, items_of, run_brief
from fpdf import FPDF

from briefer import formats
from briefer.errors import SourceError, UsageError
from briefer.formats import READERS, Document, Reader, sniff
from briefer.sources import load_sources

PEOPLE = {"Anna Berg", "Jonas Dahl", "Erik Lund"}
PARAGRAPHS = [
    "Foreign Minister Anna Berg met Prime Minister Jonas Dahl in Oslo on Monday. "
    "The two leaders discussed energy cooperation and Arctic security for three hours.",
    "Berg said the talks were constructive and that both sides wanted a lasting agreement. "
    "Dahl announced that a joint statement would follow next week.",
    "Defence Minister Erik Lund joined the second session on Tuesday. "
    "Lund said the navy would increase patrols in the Barents Sea.",
]
HEADLINE = "Arctic talks end with a joint statement"
UNSUPPORTED_HINT = "(briefer reads .txt, .md, .markdown, .html, .htm, .xhtml, .pdf, .docx and http(s) URLs)"


def article_html(charset: str = "utf-8", extra: str = "") -> str:
    """A news page: navigation, scripts, an ad and a footer around one <article>."""
    body = "\n".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="{charset}">
<title>Arctic talks in Oslo | Nordic Times</title>
<meta property="og:title" content="{HEADLINE}">
<meta property="article:published_time" content="2024-03-05T10:00:00Z">
<script>var tracker = "TRACKING-CODE";</script>
</head><body>
<nav><ul><li><a href="/">Home page</a></li><li><a href="/world">World news menu</a></li></ul></nav>
<aside class="advertisement">Buy cheap flights to Oslo now! Sponsored offer.</aside>
<article><h1>{HEADLINE}</h1>
{body}{extra}
</article>
<footer>Copyright Nordic Times. All rights reserved.</footer>
<script>console.log("SCRIPT-TEXT")</script>
</body></html>
"""


BOILERPLATE = ["Home page", "World news menu", "TRACKING-CODE", "SCRIPT-TEXT", "cheap flights", "Copyright"]


def make_pdf(path: Path, title: str | None = "Arctic talks in Oslo", text: bool = True) -> Path:
    """A two-page PDF with a headline and paragraphs apart, and /Title and /CreationDate metadata."""
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_creation_date(datetime(2024, 3, 5, 10, 0, tzinfo=UTC))
    pdf.add_page()
    if not text:
        pdf.rect(20, 20, 100, 60, style="F")  # a "scan": marks on the page, no text layer
        pdf.output(str(path))
        return path
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 6, HEADLINE)
    for paragraph in PARAGRAPHS[:2]:
        pdf.ln(6)
        pdf.multi_cell(0, 6, paragraph)
    pdf.add_page()
    pdf.multi_cell(0, 6, PARAGRAPHS[2])
    pdf.output(str(path))
    return path


def make_docx(path: Path, title: str | None = "Arctic talks in Oslo") -> Path:
    """A Word document: a heading, paragraphs, a table, and core properties."""
    document = docx.Document()
    if title:
        document.core_properties.title = title
    document.core_properties.created = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)
    document.add_heading(HEADLINE, level=1)
    for paragraph in PARAGRAPHS:
        document.add_paragraph(paragraph)
    table = document.add_table(rows=2, cols=2)
    for row, (name, role) in enumerate([("Anna Berg", "Foreign Minister"), ("Jonas Dahl", "Prime Minister")]):
        table.cell(row, 0).text, table.cell(row, 1).text = name, role
    document.save(str(path))
    return path


def assert_article(text: str) -> None:
    assert HEADLINE in text
    for paragraph in PARAGRAPHS:
        assert paragraph in text.replace("\n", " ")
    for junk in BOILERPLATE:
        assert junk not in text


def assert_people_and_grounded(brief: dict[str, Any]) -> None:
    people = {item["name"] for item in items_of(brief, "participants")}
    assert PEOPLE <= people, people
    assert assert_citations_grounded(brief) > 0


def one_error_line(result: Any, *parts: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("brief: error: ")
    for part in parts:
        assert part in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    return str(lines[0])


# ---------------------------------------------------------------- HTML


def test_html_main_text_without_navigation_ads_or_scripts(tmp_path: Path) -> None:
    path = tmp_path / "article.html"
    path.write_text(article_html(), encoding="utf-8")

    source = load_sources([str(path)])[0]

    assert_article(source.text)
    assert source.text.startswith(f"{HEADLINE}\n\n{PARAGRAPHS[0]}\n\n")  # paragraphs stay apart
    assert (source.title, source.date) == (HEADLINE, "2024-03-05")


def test_html_in_the_charset_it_declares_reads_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "legacy.htm"
    path.write_bytes(article_html("windows-1252", "<p>The café in Tromsø was closed.</p>").encode("cp1252"))

    source = load_sources([str(path)])[0]

    assert "The café in Tromsø was closed." in source.text
    assert [r for r in caplog.records if r.name == "briefer"] == []


def test_html_without_text_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "app.html"
    path.write_text("<!DOCTYPE html><html><head><script>render()</script></head><body></body></html>")
    with pytest.raises(SourceError, match=r"app\.html: has no readable text"):
        load_sources([str(path)])


def test_cli_html_brief_names_the_people_and_cites_the_page(tmp_path: Path) -> None:
    path = tmp_path / "article.html"
    path.write_text(article_html(), encoding="utf-8")

    brief = brief_json(str(path))

    assert [(s["path"], s["title"]) for s in brief["sources"]] == [(str(path), HEADLINE)]
    assert_people_and_grounded(brief)


# ---------------------------------------------------------------- PDF


def test_pdf_text_layer_with_paragraphs_and_metadata(tmp_path: Path) -> None:
    source = load_sources([str(make_pdf(tmp_path / "talks.pdf"))])[0]

    assert_article(source.text)
    # The headline is its own paragraph, not glued to the first sentence.
    assert source.text.startswith(f"{HEADLINE}\n\nForeign Minister Anna Berg")
    assert (source.title, source.date) == ("Arctic talks in Oslo", "2024-03-05")


def test_pdf_without_a_title_takes_its_heading(tmp_path: Path) -> None:
    source = load_sources([str(make_pdf(tmp_path / "talks.pdf", title=None))])[0]
    assert source.title == HEADLINE


def test_cli_pdf_brief_names_the_people_and_cites_the_pdf(tmp_path: Path) -> None:
    brief = brief_json(str(make_pdf(tmp_path / "talks.pdf")))
    assert brief["sources"][0]["title"] == "Arctic talks in Oslo"
    assert_people_and_grounded(brief)


def test_cli_pdf_without_text_layer_is_one_error_line(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "scan.pdf", text=False)
    one_error_line(run_brief(str(path)), str(path), "has no text layer")


# ---------------------------------------------------------------- DOCX


def test_docx_paragraphs_tables_and_core_properties(tmp_path: Path) -> None:
    source = load_sources([str(make_docx(tmp_path / "talks.docx"))])[0]

    assert_article(source.text)
    assert source.text.endswith("\n\nAnna Berg | Foreign Minister\n\nJonas Dahl | Prime Minister\n")
    assert (source.title, source.date) == ("Arctic talks in Oslo", "2024-03-05")


def test_docx_without_a_title_takes_its_heading(tmp_path: Path) -> None:
    source = load_sources([str(make_docx(tmp_path / "talks.docx", title=None))])[0]
    assert source.title == HEADLINE


def test_cli_docx_brief_names_the_people_and_cites_the_document(tmp_path: Path) -> None:
    brief = brief_json(str(make_docx(tmp_path / "talks.docx")))
    assert brief["sources"][0]["title"] == "Arctic talks in Oslo"
    assert_people_and_grounded(brief)


# ---------------------------------------------------------------- damaged and unsupported files


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog", "is not a readable PDF"),
        ("broken.docx", b"PK\x03\x04 truncated zip", "is not a readable Word document"),
        ("empty.pdf", b"", "is empty"),
        ("sheet.xlsx", None, f"unsupported file type .xlsx {UNSUPPORTED_HINT}"),
        (
            "photo.png",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            f"unsupported file type .png {UNSUPPORTED_HINT}",
        ),
        ("letter.rtf", b"{\\rtf1\\ansi Dear minister}", "unsupported file type .rtf"),
    ],
)
def test_cli_damaged_or_unsupported_file_is_one_error_line(
    tmp_path: Path, name: str, data: bytes | None, problem: str
) -> None:
    path = tmp_path / name
    if data is None:  # a real zip, as an .xlsx is
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("xl/workbook.xml", "<workbook/>")
    else:
        path.write_bytes(data)
    one_error_line(run_brief(str(path)), f"{path}: {problem}")


def test_other_suffixes_are_read_by_their_content(tmp_path: Path) -> None:
    notes = tmp_path / "notes.rst"
    notes.write_text("Anna Berg met Jonas Dahl.\n")
    page = tmp_path / "saved-page"
    page.write_text(article_html())
    report = make_pdf(tmp_path / "report.bin")

    texts = [s.text for s in load_sources([str(notes), str(page), str(report)])]

    assert texts[0] == "Anna Berg met Jonas Dahl.\n"
    assert_article(texts[1])
    assert_article(texts[2])


@pytest.mark.parametrize("kind", ["pdf", "html"])
def test_stdin_may_be_a_pdf_or_html(tmp_path: Path, kind: str) -> None:
    data = make_pdf(tmp_path / "piped.pdf").read_bytes() if kind == "pdf" else article_html().encode()
    source = load_sources(["-"], stdin=io.BytesIO(data))[0]
    assert source.path == "-"
    assert_article(source.text)


def test_directory_reads_every_supported_format_in_sorted_order(tmp_path: Path) -> None:
    folder = tmp_path / "dossier"
    folder.mkdir()
    (folder / "a-page.html").write_text(article_html())
    make_pdf(folder / "b-report.pdf")
    make_docx(folder / "c-memo.docx")
    (folder / "d-notes.md").write_text("# Notes\n\nAnna Berg called.\n")
    (folder / "e-sheet.xlsx").write_bytes(b"PK\x03\x04")  # unsupported: left out, not an error

    sources = load_sources([str(folder)])

    assert [Path(s.path).name for s in sources] == [
        "a-page.html",
        "b-report.pdf",
        "c-memo.docx",
        "d-notes.md",
    ]


# ---------------------------------------------------------------- Markdown front matter


def test_markdown_front_matter_gives_title_and_date_and_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text(
        '---\ntitle: "Riyadh talks: day one"\ndate: 2025-02-18\ntags:\n  - diplomacy\n---\n# Heading\n\nBody.\n'
    )

    source = load_sources([str(path)])[0]

    assert (source.title, source.date) == ("Riyadh talks: day one", "2025-02-18")
    assert source.text == "# Heading\n\nBody.\n"


def test_a_leading_horizontal_rule_is_not_front_matter(tmp_path: Path) -> None:
    text = "---\nThe talks began on Tuesday.\n---\nBody.\n"
    path = tmp_path / "rules.md"
    path.write_text(text)
    source = load_sources([str(path)])[0]
    assert (source.text, source.date) == (text, None)


# ---------------------------------------------------------------- URLs, served on 127.0.0.1

SLOW_SECONDS = 3
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class _Handler(BaseHTTPRequestHandler):
    """Routes for the URL tests; /big streams without Content-Length to test the streaming limit."""

    def do_GET(self) -> None:
        if self.path == "/article.html":
            self._send(200, "text/html; charset=utf-8", article_html().encode())
        elif self.path == "/report":
            self._send(200, "application/pdf", self.server.pdf)  # type: ignore[attr-defined]
        elif self.path == "/notes.txt":
            self._send(
                200, "text/plain; charset=windows-1252", "Anna Berg visited Tromsø.\n".encode("cp1252")
            )
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/article.html")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/memo":
            self._send(200, DOCX_TYPE, self.server.docx)  # type: ignore[attr-defined]
        elif self.path == "/accept":
            self._send(200, "text/plain", self.headers.get("Accept", "").encode())
        elif self.path == "/loud":
            self._send(200, "application/x-shout", b"SHOUT\nDahl called Berg.\n")
        elif self.path == "/image.png":
            self._send(200, "image/png", b"\x89PNG\r\n\x1a\n\x00\x00")
        elif self.path == "/slow":
            time.sleep(SLOW_SECONDS)
            self._send(200, "text/plain", b"Too late.\n")
        elif self.path == "/big-declared":
            self._send(200, "text/plain", b"Long text. " * 1000)
        elif self.path == "/big":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()  # no length: the body ends when the connection closes
            try:
                for _ in range(1000):
                    self.wfile.write(b"Endless text. " * 1000)
            except OSError:
                pass  # the client hung up, as it should
            self.close_connection = True
        else:
            self._send(404, "text/html", b"<h1>Not here</h1>")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 in a thread; yields its base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    served = tmp_path_factory.mktemp("served")
    httpd.pdf = make_pdf(served / "report.pdf").read_bytes()  # type: ignore[attr-defined]
    httpd.docx = make_docx(served / "memo.docx").read_bytes()  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_cli_url_brief_names_the_people_and_cites_the_page(server: str) -> None:
    url = f"{server}/article.html"

    brief = brief_json(url)

    assert [(s["path"], s["title"]) for s in brief["sources"]] == [(url, HEADLINE)]
    assert_people_and_grounded(brief)  # re-fetches the page: same text, same sentences


def test_url_content_type_picks_the_reader(server: str, caplog: pytest.LogCaptureFixture) -> None:
    page, report, notes, moved = load_sources(
        [f"{server}/article.html", f"{server}/report", f"{server}/notes.txt", f"{server}/moved"]
    )

    assert_article(page.text)
    assert (page.date, report.title, report.date) == ("2024-03-05", "Arctic talks in Oslo", "2024-03-05")
    assert_article(report.text)
    assert notes.text == "Anna Berg visited Tromsø.\n"  # the header's charset, so no warning
    assert [r for r in caplog.records if r.name == "briefer"] == []
    assert (moved.path, moved.text) == (f"{server}/moved", page.text)  # keeps the URL it was given


def test_same_url_twice_is_read_once(server: str) -> None:
    url = f"{server}/notes.txt"
    assert [s.path for s in load_sources([url, url])] == [url]


def test_cli_url_404_is_one_error_line(server: str) -> None:
    url = f"{server}/gone.html"
    one_error_line(run_brief(url), f"{url}: HTTP 404 Not Found")


def test_cli_url_timeout_is_one_error_line(server: str) -> None:
    url = f"{server}/slow"
    started = time.monotonic()
    result = run_brief(url, env={"BRIEF_FETCH_TIMEOUT": "1"})
    one_error_line(result, f"{url}: timed out after 1 s (set BRIEF_FETCH_TIMEOUT to wait longer)")
    assert time.monotonic() - started < SLOW_SECONDS + 10


@pytest.mark.parametrize("route", ["big-declared", "big"])
def test_cli_oversized_page_is_one_error_line(server: str, route: str) -> None:
    url = f"{server}/{route}"
    result = run_brief(url, env={"BRIEF_FETCH_MAX_BYTES": "5000"})
    one_error_line(
        result, f"{url}: larger than the 5,000 bytes limit (set BRIEF_FETCH_MAX_BYTES to raise it)"
    )


def test_unsupported_content_type_is_an_error(server: str) -> None:
    with pytest.raises(SourceError, match=r"image\.png: unsupported content type image/png"):
        load_sources([f"{server}/image.png"])


def test_refused_connection_is_an_error() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/article.html"
    with pytest.raises(SourceError, match=rf"^{url}: cannot connect \("):
        load_sources([url])


def test_other_url_schemes_are_refused() -> None:
    with pytest.raises(SourceError, match=r"^ftp://example\.org/a\.txt: unsupported URL scheme ftp:"):
        load_sources(["ftp://example.org/a.txt"])


@pytest.mark.parametrize("value", ["soon", "0", "-3"])
def test_bad_fetch_settings_are_usage_errors(
    server: str, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("BRIEF_FETCH_TIMEOUT", value)
    with pytest.raises(
        UsageError, match=rf"BRIEF_FETCH_TIMEOUT must be a number of seconds above 0, not '{value}'"
    ):
        load_sources([f"{server}/notes.txt"])


# ---------------------------------------------------------------- the table of readers: one row per format

SAMPLES: dict[str, Callable[[Path], bytes]] = {
    "text": lambda folder: "\n\n".join([HEADLINE, *PARAGRAPHS]).encode() + b"\n",
    "html": lambda folder: article_html().encode(),
    "pdf": lambda folder: make_pdf(folder / "sample.pdf").read_bytes(),
    "docx": lambda folder: make_docx(folder / "sample.docx").read_bytes(),
}


def test_every_suffix_in_the_table_is_scanned_sniffed_and_read(tmp_path: Path) -> None:
    assert sorted(r.kind for r in READERS) == sorted(SAMPLES), "give each reader a sample document here"
    made, folder = tmp_path / "made", tmp_path / "dossier"
    made.mkdir()
    folder.mkdir()
    expected = []
    for reader in READERS:
        data = SAMPLES[reader.kind](made)
        assert sniff(data) == reader.kind
        for suffix in reader.suffixes:
            expected.append(f"{reader.kind}{suffix}")
            (folder / expected[-1]).write_bytes(data)
    (folder / "letter.rtf").write_text("Dear minister")  # no reader takes these: left out
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")

    sources = load_sources([str(folder)])

    assert [Path(s.path).name for s in sources] == sorted(expected)
    for source in sources:
        assert_article(source.text)


def test_help_and_errors_name_every_suffix_in_the_table(tmp_path: Path) -> None:
    from briefer.cli import brief_command

    help_text = brief_command.get_help(click.Context(brief_command, info_name="brief"))
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(SourceError) as unsupported:
        load_sources([str(photo)])
    scans = tmp_path / "scans"
    scans.mkdir()
    (scans / "page1.tiff").write_bytes(b"II*\x00")
    with pytest.raises(SourceError) as no_files:
        load_sources([str(scans)])

    for reader in READERS:
        for suffix in reader.suffixes:
            named = re.compile(re.escape(suffix) + r"(?!\w)")
            for text in (help_text, str(unsupported.value), str(no_files.value)):
                assert named.search(text), (suffix, text)


def test_urls_ask_for_and_read_every_content_type_in_the_table(server: str) -> None:
    accept, memo = load_sources([f"{server}/accept", f"{server}/memo"])
    for reader in READERS:
        for media_type in reader.media_types:
            assert media_type in accept.text
    assert_article(memo.text)  # read as Word by its content type
    assert memo.title == "Arctic talks in Oslo"


def read_shout(data: bytes, shown: str, charset: str | None = None) -> Document:
    """A made-up format: a SHOUT line, then text to read in capitals."""
    return Document(text=data.decode(charset or "utf-8").removeprefix("SHOUT\n").upper())


def test_a_new_format_is_one_read_function_and_one_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: str
) -> None:
    shout = Reader(
        kind="shout",
        suffixes=(".shout",),
        media_types=("application/x-shout",),
        read=f"{__name__}:read_shout",
        signature=lambda data: data.startswith(b"SHOUT\n"),
    )
    monkeypatch.setattr(formats, "READERS", (*formats.READERS, shout))
    folder = tmp_path / "dossier"
    folder.mkdir()
    (folder / "call.shout").write_bytes(b"SHOUT\nBerg called Dahl.\n")  # picked up by its suffix
    (tmp_path / "unnamed").write_bytes(b"SHOUT\nLund called Berg.\n")  # read by its signature

    sources = load_sources([str(folder), str(tmp_path / "unnamed"), f"{server}/loud"])

    assert [s.text for s in sources] == ["BERG CALLED DAHL.\n", "LUND CALLED BERG.\n", "DAHL CALLED BERG.\n"]
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(SourceError, match=r"\(briefer reads \.txt, .*, \.docx, \.shout and http\(s\) URLs\)"):
        load_sources([str(photo)])


def test_the_table_of_readers_loads_no_parser() -> None:
    """`brief --help` lists the formats from the table: that must not import a parsing library."""
    # A bare `briefer` package, so that only what the table module itself imports is loaded.
    code = (
        "import sys, types\n"
        "package = types.ModuleType('briefer')\n"
        "package.__path__ = [sys.argv[1]]\n"
        "sys.modules['briefer'] = package\n"
        "import briefer.formats\n"
        "assert briefer.formats.supported_suffixes()\n"
        "heavy = {'pypdf', 'docx', 'trafilatura', 'spacy', 'pydantic', 'httpx', 'lxml',\n"
        "         'charset_normalizer'}\n"
        "print(sorted(heavy & {name.split('.')[0] for name in sys.modules}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "briefer")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"
