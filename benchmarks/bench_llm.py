"""The openai engine against a scripted server with 0.5 s latency: concurrency speed-up and prompt size.

Run from the project root, in the project's virtualenv:

    python benchmarks/bench_llm.py                 # WikiNews cluster M002 (ten articles)
    python benchmarks/bench_llm.py --cluster M000  # another cluster (M000, M001, M002)
    python benchmarks/bench_llm.py --slow-servers  # also: a slow streaming server, a silent one

The input is the ten WikiNews articles of one cluster of
``../shared/eval/multiling2011_sacrerouge/documents.jsonl``, written at run time to
a temporary folder (one ``.txt`` per article; nothing is copied into the
repository). The server is ``tests/scripted_server.py``: it answers every request
after 0.5 s with a valid answer computed from the request.

1. Wall time at ``--concurrency 1`` and ``4``, with ``--chunk-tokens`` picked so the
   run makes about 12 calls. Two figures each: the model stage alone (from the first
   call sent to the last one answered, from the pipeline's progress callback; later
   sources are still being split into sentences when the first calls go out) and the
   whole brief in process (sentences, chunks, calls, where sources differ, merge),
   best of ``--repeat`` runs after one untimed warm-up run (loading spaCy and
   openai). Target: at least 2.5x faster at 4.
2. Characters sent to the model per source character at the default chunking
   (3000 tokens): the messages' text, and the messages plus the JSON schema sent in
   ``response_format``; for the extraction calls alone and for all calls (with
   several sources the engine also asks where they differ, one more call that shows
   candidate pairs of sentences again). Target: at most 1.5.
3. With ``--slow-servers``, on the seed article: a server that streams each answer
   over 45 s in small pieces, with ``--timeout 15`` (target: the brief succeeds, one
   request per planned call), and a server that never answers, with ``--timeout 10``
   (target: the run fails within about 4 x 10 s plus backoff).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from briefer.chunking import DEFAULT_CHUNK_TOKENS  # noqa: E402
from briefer.config import resolve_settings  # noqa: E402
from briefer.engines.openai_engine import OpenAIEngine  # noqa: E402
from briefer.errors import ModelError  # noqa: E402
from briefer.llm.schema import SCHEMA_NAME  # noqa: E402
from briefer.pipeline import Progress, make_brief, prepare  # noqa: E402
from briefer.sources import Source, load_sources  # noqa: E402
from briefer.templates import load_template  # noqa: E402
from tests.scripted_server import Reply, ScriptedServer, completion, grounded_answer  # noqa: E402

SEED = ROOT / "seeds" / "us-russia-riyadh-talks.txt"
WIKINEWS = ROOT.parent / "shared" / "eval" / "multiling2011_sacrerouge" / "documents.jsonl"
LATENCY = 0.5
TARGET_CALLS = 12


def write_cluster(cluster: str, folder: Path) -> list[Source]:
    """The cluster's ten articles as .txt files in `folder`, loaded as sources."""
    with WIKINEWS.open(encoding="utf-8") as handle:
        rows = {row["instance_id"]: row for row in map(json.loads, handle)}
    paths = []
    for doc in rows[cluster]["documents"]:
        path = folder / f"{doc['filename']}.txt"
        path.write_text("\n\n".join(doc["text"]) + "\n", encoding="utf-8")
        paths.append(str(path))
    return load_sources(paths)


def engine(url: str, concurrency: int, timeout: float | None = None) -> OpenAIEngine:
    return OpenAIEngine(
        resolve_settings(base_url=url, concurrency=concurrency, timeout=timeout, no_cache=True, env={})
    )


def slow_servers() -> None:
    """The seed brief against a server streaming each answer over 45 s (--timeout 15), and one
    that never answers (--timeout 10)."""
    sources = load_sources([str(SEED)])
    planned = calls_for(sources, DEFAULT_CHUNK_TOKENS)

    def streaming(n: int, request: dict[str, object]) -> Reply:
        return Reply(body=completion(json.dumps(grounded_answer(request))), pieces=30, spread=45)

    with ScriptedServer(streaming) as server:
        started = time.perf_counter()
        make_brief(sources, "policy", engine(server.url, 4, timeout=15), DEFAULT_CHUNK_TOKENS)
        took = time.perf_counter() - started
    print(
        f"answers streamed over 45 s, --timeout 15: brief in {took:.1f} s, {len(server.requests)} "
        f"request(s) for {planned} planned call(s) (target: one request per call)"
    )
    with ScriptedServer(lambda n, r: Reply(body=completion("{}"), delay=120)) as server:
        started = time.perf_counter()
        try:
            make_brief(sources, "policy", engine(server.url, 4, timeout=10), DEFAULT_CHUNK_TOKENS)
            outcome = "succeeded (unexpected)"
        except ModelError as exc:
            outcome = f"failed: {exc}"
        took = time.perf_counter() - started
    print(
        f"a server that never answers, --timeout 10: {outcome}\n  after {took:.1f} s, "
        f"{len(server.requests)} requests (target: about 4 x 10 s plus backoff)"
    )


def calls_for(sources: list[Source], chunk_tokens: int) -> int:
    _, chunks = prepare(sources, chunk_tokens)
    return len(engine("http://unused/v1", 1).plan(chunks, chunk_tokens))


def pick_chunk_tokens(sources: list[Source]) -> int:
    """The chunk budget whose run makes the number of calls closest to 12 (the larger budget on ties)."""
    best = min(range(2000, 150, -50), key=lambda n: abs(calls_for(sources, n) - TARGET_CALLS))
    return best


def timed_run(sources: list[Source], chunk_tokens: int, concurrency: int) -> tuple[float, float, int, int]:
    """(model stage seconds, whole brief seconds, extraction requests, all requests) for one brief."""
    marks: dict[str, float] = {}

    def progress(step: Progress) -> None:
        if step.stage == "chunks":  # the first call is sent, ..., the last one answers
            marks.setdefault("first", time.perf_counter())
            marks["last"] = time.perf_counter()

    template = load_template("policy")
    with ScriptedServer(latency=LATENCY) as server:
        started = time.perf_counter()
        make_brief(sources, template, engine(server.url, concurrency), chunk_tokens, on_progress=progress)
        whole = time.perf_counter() - started
    extraction = [
        r for r in server.requests if r.body["response_format"]["json_schema"]["name"] == SCHEMA_NAME
    ]
    return marks["last"] - marks["first"], whole, len(extraction), len(server.requests)


def chars_sent(sources: list[Source]) -> dict[str, tuple[float, float, int]]:
    """Per kind of call ("extraction", "all"): (message chars per source char, with schema, calls),
    at the default chunking."""
    with ScriptedServer() as server:
        make_brief(sources, load_template("policy"), engine(server.url, 4), DEFAULT_CHUNK_TOKENS)
    source_chars = sum(len(s.text) for s in sources)
    kinds = {
        "extraction": [
            r for r in server.requests if r.body["response_format"]["json_schema"]["name"] == SCHEMA_NAME
        ],
        "all": server.requests,
    }
    result = {}
    for kind, requests in kinds.items():
        messages = sum(len(m["content"]) for r in requests for m in r.messages)
        schemas = sum(len(json.dumps(r.body.get("response_format", {}))) for r in requests)
        result[kind] = (messages / source_chars, (messages + schemas) / source_chars, len(requests))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cluster", default="M002", choices=["M000", "M001", "M002"])
    parser.add_argument("--repeat", type=int, default=2, help="runs per setting; the best is kept")
    parser.add_argument("--slow-servers", action="store_true", help="also time a slow and a silent server")
    args = parser.parse_args()
    if args.slow_servers:
        slow_servers()
    if not WIKINEWS.is_file():
        print(f"skipped: {WIKINEWS} is absent (the shared evaluation data is not on this machine)")
        return 0
    with tempfile.TemporaryDirectory(prefix="briefer-bench-llm-") as tmp:
        sources = write_cluster(args.cluster, Path(tmp))
        chars = sum(len(s.text) for s in sources)
        chunk_tokens = pick_chunk_tokens(sources)
        _, chunks = prepare(sources, chunk_tokens)
        print(f"input: WikiNews cluster {args.cluster}, {len(sources)} articles, {chars:,} characters")
        print(
            f"scripted server latency {LATENCY} s; --chunk-tokens {chunk_tokens}: {len(chunks)} chunks, "
            f"{calls_for(sources, chunk_tokens)} calls"
        )
        timed_run(sources, chunk_tokens, 4)  # warm-up: spaCy and openai load once, outside the timings
        results = {}
        for concurrency in (1, 4):
            runs = [timed_run(sources, chunk_tokens, concurrency) for _ in range(args.repeat)]
            stage, whole, extraction, requests = min(runs)
            results[concurrency] = (stage, whole)
            print(
                f"--concurrency {concurrency}: model stage {stage:.2f} s, whole brief {whole:.2f} s "
                f"({extraction} extraction requests, {requests - extraction} other)"
            )
        print(
            f"speed-up at 4: model stage {results[1][0] / results[4][0]:.2f}x, "
            f"whole brief {results[1][1] / results[4][1]:.2f}x (target: at least 2.5x)"
        )
        print(
            f"default chunking ({DEFAULT_CHUNK_TOKENS} tokens), characters sent per source character (target: at most 1.5):"
        )
        for kind, (ratio, with_schema, requests) in chars_sent(sources).items():
            calls = f"{requests} call" + ("" if requests == 1 else "s")
            print(f"  {kind} ({calls}): {ratio:.2f} in messages, {with_schema:.2f} with the JSON schema")
    return 0


if __name__ == "__main__":
    sys.exit(main())
