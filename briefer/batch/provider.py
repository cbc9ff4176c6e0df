"""Provider batch APIs: a batch's first model requests sent as OpenAI Batch files, at half the price.

With `--batch-api`, the requests every job would send first (each chunk's
extraction call and, with several sources, the call asking where they differ;
only extraction with `--batch-api extract-only`) are built exactly as a live run
builds them, and the cache does not have yet, are written as Batch API lines
(`custom_id` = the request's cache key, `method`, `url`, `body`), split into files
of at most 50,000 requests and 200 MB, uploaded (`/v1/files`), and run as batches
(`/v1/batches`), polled until they end. Each answer is checked against the
request's schema like a live answer, and kept in the answer cache under the same
key. The jobs then run as usual: those answers come from the cache, and whatever
is missing (a request that failed or expired, a bad answer, reduce calls) is
asked live. `DIR/batch-state.json` names the batches sent, so a rerun after the
process ends polls them instead of sending again. `--batch-api export` writes the
request files and stops; `--batch-api import --batch-file RESULTS.jsonl` reads
results made elsewhere (`vllm run-batch` writes the same format).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from briefer.batch.jobs import Job
from briefer.batch.worker import BatchOptions, JobRunner
from briefer.errors import BriefError, UsageError
from briefer.output import write_output

if TYPE_CHECKING:
    from pydantic import BaseModel

    from briefer.llm.client import ChatClient

log = logging.getLogger("briefer")

STATE = "batch-state.json"
MAX_REQUESTS = 50_000
MAX_BYTES = 200 * 1024 * 1024
ENDPOINT: Literal["/v1/chat/completions"] = "/v1/chat/completions"
BATCH_DISCOUNT = 0.5
"""What a batch request costs, as a share of the live price (OpenAI's Batch API: half)."""
_DONE = ("completed", "failed", "expired", "cancelled")


@dataclass
class Collected:
    """The requests of a batch's jobs that the cache cannot answer, with how to check each answer."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    checks: dict[str, type[BaseModel]] = field(default_factory=dict)
    prompt_tokens: int = 0
    cached: int = 0


@dataclass
class Imported:
    """What came back: answers kept in the cache, requests that failed or answered badly, tokens used."""

    kept: int = 0
    failed: int = 0
    bad: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


def collect(jobs: Sequence[Job], options: BatchOptions, client: ChatClient, differences: bool) -> Collected:
    """The first requests of `jobs` as Batch API lines, leaving out those the cache answers."""
    from briefer.config import get_engine
    from briefer.llm.planning import planned_requests
    from briefer.llm.schema import DifferencesAnswer, answer_model
    from briefer.pipeline import prepare
    from briefer.sources import load_sources
    from briefer.tokens import count_tokens

    settings = options.settings
    runner = JobRunner(options)
    engine = get_engine(settings.engine, settings)
    mode = "strict_schema" if settings.base_url is None else "bounded_schema"  # OpenAI refuses bounds
    found = Collected()
    for job in jobs:
        try:
            sources = load_sources(list(job.sources))
        except BriefError:
            continue  # the job fails when it runs, with this error
        template = runner.template(job)
        sentences, chunks = prepare(sources, options.chunk_tokens)
        units = engine.plan(chunks, options.chunk_tokens)
        for is_differences, _, _, request in planned_requests(
            template, units, sentences, settings.max_tokens
        ):
            if is_differences and not differences:
                continue
            key = client.key(request)
            if key in found.checks:
                continue
            if client.cache is not None and client.cache.get(key) is not None:
                found.cached += 1
                continue
            found.checks[key] = DifferencesAnswer if is_differences else answer_model(template)
            found.prompt_tokens += sum(count_tokens(m["content"]) for m in request.messages)
            body = client.request_body(request, mode)
            found.lines.append({"custom_id": key, "method": "POST", "url": ENDPOINT, "body": body})
    return found


def split_files(
    lines: Sequence[dict[str, Any]], max_requests: int = MAX_REQUESTS, max_bytes: int = MAX_BYTES
) -> list[str]:
    """`lines` as JSONL files of at most `max_requests` lines and `max_bytes` bytes each."""
    files: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        text = json.dumps(line, ensure_ascii=False) + "\n"
        length = len(text.encode("utf-8"))
        if length > max_bytes:
            raise UsageError(
                f"request {line['custom_id'][:12]}… alone is over {max_bytes:,} bytes: lower --chunk-tokens"
            )
        if current and (len(current) >= max_requests or size + length > max_bytes):
            files.append("".join(current))
            current, size = [], 0
        current.append(text)
        size += length
    if current:
        files.append("".join(current))
    return files


def store_results(text: str, checks: dict[str, type[BaseModel]], client: ChatClient, found: Imported) -> None:
    """Check each result line of a Batch API output (or error) file and cache the good answers."""
    from briefer.llm.schema import AnswerError, parse_answer

    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            key = record["custom_id"]
        except (json.JSONDecodeError, KeyError, TypeError):
            found.bad += 1
            continue
        check = checks.get(key)
        response = record.get("response") or {}
        body = response.get("body") if isinstance(response, dict) else None
        if check is None:
            continue  # not a request of these jobs
        if record.get("error") or not isinstance(body, dict) or response.get("status_code", 200) != 200:
            found.failed += 1
            continue
        try:
            choice = body["choices"][0]
            content = choice["message"].get("content")
            usage = body.get("usage") or {}
            found.prompt_tokens += int(usage.get("prompt_tokens") or 0)
            found.completion_tokens += int(usage.get("completion_tokens") or 0)
            if choice.get("finish_reason") == "length":
                raise AnswerError("was cut off at the output limit")
            parse_answer(content, check)
        except (AnswerError, KeyError, IndexError, TypeError, AttributeError, ValueError):
            found.bad += 1  # asked again live when its job runs
            continue
        client.remember(key, {"content": content})
        found.kept += 1


class BatchAPI:
    """Sends, polls and reads Batch API jobs through the openai SDK; state in `DIR/batch-state.json`."""

    def __init__(
        self, out: Path, client: ChatClient, poll_seconds: float, say: Callable[[str], None]
    ) -> None:
        self.state_path = out / STATE
        self.client = client
        self.sdk = client.sdk
        self.poll_seconds = poll_seconds
        self.say = say

    def state(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(
                f"{self.state_path}: unreadable ({exc}): remove it to send the batch again"
            ) from None
        return data if isinstance(data, dict) and isinstance(data.get("batches"), list) else None

    def send(self, files: Sequence[str]) -> dict[str, Any]:
        """Upload each file and start a batch on it; the state is saved after each, so none is sent twice."""
        state: dict[str, Any] = {"batches": []}
        with self.client.errors():
            for number, text in enumerate(files, start=1):
                upload = self.sdk.files.create(
                    file=(f"brief-batch-{number}.jsonl", text.encode("utf-8")), purpose="batch"
                )
                batch = self.sdk.batches.create(
                    input_file_id=upload.id, endpoint=ENDPOINT, completion_window="24h"
                )
                state["batches"].append(
                    {"id": batch.id, "input_file_id": upload.id, "requests": text.count("\n")}
                )
                write_output(self.state_path, json.dumps(state, indent=1) + "\n")
                self.say(f"sent batch {batch.id} ({text.count(chr(10)):,} requests)")
        return state

    def wait(self, state: dict[str, Any]) -> list[Any]:
        """Poll every batch of `state` until each has ended; their final states."""
        ended: dict[str, Any] = {}
        while True:
            with self.client.errors():
                for entry in state["batches"]:
                    if entry["id"] not in ended:
                        batch = self.sdk.batches.retrieve(entry["id"])
                        if batch.status in _DONE:
                            ended[entry["id"]] = batch
            if len(ended) == len(state["batches"]):
                return [ended[e["id"]] for e in state["batches"]]
            self.say(
                f"{len(ended)} of {len(state['batches'])} batches ended; polling every {self.poll_seconds:g} s"
            )
            time.sleep(self.poll_seconds)

    def read(self, batches: Sequence[Any], checks: dict[str, type[BaseModel]]) -> Imported:
        """Read the output and error files of ended batches into the cache."""
        found = Imported()
        with self.client.errors():
            for batch in batches:
                for file_id in (batch.output_file_id, batch.error_file_id):
                    if file_id:
                        store_results(self.sdk.files.content(file_id).text, checks, self.client, found)
                if batch.status != "completed":
                    self.say(f"batch {batch.id} {batch.status}: its missing answers are asked live")
        return found


def poll_seconds(env: dict[str, str] | None = None) -> float:
    """Seconds between polls of a running batch: `BRIEF_BATCH_POLL`, default 30."""
    value = (env if env is not None else os.environ).get("BRIEF_BATCH_POLL", "").strip()
    try:
        return max(0.05, float(value)) if value else 30.0
    except ValueError:
        raise UsageError(f"BRIEF_BATCH_POLL must be a number of seconds, not {value!r}") from None


def make_client(options: BatchOptions) -> ChatClient:
    """The chat client of the batch's settings, with the answer cache the jobs will read."""
    from briefer.cache import AnswerCache
    from briefer.llm.client import ChatClient

    settings = options.settings
    if not settings.cache:
        raise UsageError("--batch-api keeps its answers in the cache: leave out --no-cache")
    if settings.engine != "openai":
        raise UsageError("--batch-api needs --engine openai (or --base-url / OPENAI_API_KEY)")
    return ChatClient(
        settings.model, settings.base_url, settings.api_key, settings.timeout, AnswerCache(settings.cache_dir)
    )


def prefetch(
    jobs: Sequence[Job],
    options: BatchOptions,
    out: Path,
    mode: str,
    batch_file: Path | None,
    say: Callable[[str], None],
) -> str:
    """Get the jobs' first answers into the cache through the Batch API (`mode`: send, extract-only,
    import) or write the request files (export); a one-line account of what happened."""
    from briefer.batch.state import FolderLock

    client = make_client(options)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with FolderLock(out):
            if mode == "import":
                if batch_file is None:
                    raise UsageError("--batch-api import needs --batch-file RESULTS.jsonl")
                try:
                    text = batch_file.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise UsageError(f"{batch_file}: cannot read the results ({exc})") from None
                found = collect(jobs, options, client, differences=True)
                imported = Imported()
                store_results(text, found.checks, client, imported)
                return _account(f"read {batch_file}", imported)
            api = BatchAPI(out, client, poll_seconds(), say)
            state = api.state()
            found = collect(jobs, options, client, differences=mode != "extract-only")
            if state is None:
                files = split_files(found.lines)
                if mode == "export":
                    return _export(files, out, batch_file, found)
                if not files:
                    return f"all {found.cached} first requests are answered by the cache: nothing to send"
                state = api.send(files)
            batches = api.wait(state)
            imported = api.read(batches, found.checks)
            api.state_path.unlink(missing_ok=True)
            return _account(f"{len(batches)} batch" + ("" if len(batches) == 1 else "es"), imported)
    finally:
        client.close()
        if client.cache is not None:
            client.cache.close()


def _export(files: Sequence[str], out: Path, batch_file: Path | None, found: Collected) -> str:
    if not files:
        return f"all {found.cached} first requests are answered by the cache: nothing to export"
    base = batch_file or out / "batch-requests.jsonl"
    paths = (
        [base]
        if len(files) == 1
        else [base.with_name(f"{base.stem}-{n}{base.suffix}") for n in range(1, len(files) + 1)]
    )
    for path, text in zip(paths, files, strict=True):
        write_output(path, text)
    return (
        f"wrote {len(found.lines):,} requests ({found.prompt_tokens:,} prompt tokens) to "
        f"{', '.join(str(p) for p in paths)}; send them, then rerun with --batch-api import --batch-file RESULTS.jsonl"
    )


def _account(what: str, imported: Imported) -> str:
    missing = imported.failed + imported.bad
    live = f"; {missing} failed or unusable, asked live" if missing else ""
    return (
        f"batch API: {what}: {imported.kept} answers cached ({imported.prompt_tokens:,} prompt + "
        f"{imported.completion_tokens:,} completion tokens){live}"
    )


def describe_dry_run(jobs: Sequence[Job], options: BatchOptions) -> str:
    """What `--batch-api` would send for `jobs`, and its estimated cost live and through the Batch API."""
    from briefer.llm.prices import price_of

    if options.settings.engine != "openai":
        return (
            f"Dry run: nothing is sent to any model.\n{len(jobs)} jobs; the {options.settings.engine} engine "
            "makes no calls to a provider: nothing to send.\n"
        )
    client = make_client(options)
    try:
        found = collect(jobs, options, client, differences=True)
    finally:
        client.close()
        if client.cache is not None:
            client.cache.close()
    settings = options.settings
    # Each request's output limit (the template's budget, or --max-tokens): the most it can cost.
    output_tokens = sum(
        line["body"].get("max_completion_tokens") or line["body"].get("max_tokens") or 0
        for line in found.lines
    )
    lines = [
        "Dry run: nothing is sent to any model.",
        f"{len(jobs)} jobs: {len(found.lines):,} first requests to send ({found.cached} answered by the cache), "
        f"{found.prompt_tokens:,} prompt tokens, at most {output_tokens:,} output tokens in all; "
        "reduce calls and answers to ask again are extra.",
    ]
    price = price_of(settings.model)
    if price is None:
        lines.append(f"Estimated cost: unknown (no price for {settings.model}).")
    else:
        live = found.prompt_tokens * price[0] / 1e6 + output_tokens * price[1] / 1e6
        lines.append(
            f"Estimated cost: at most ${live:.4f} live, ${live * BATCH_DISCOUNT:.4f} through the Batch API "
            f"(at ${price[0]:g} / ${price[1]:g} per million tokens, batch at {BATCH_DISCOUNT:.0%})."
        )
    return "\n".join(lines) + "\n"
