"""Provider batch APIs: a batch's model requests sent as OpenAI Batch files, at half the price, in rounds.

With `--batch-api`, the requests every job would send first (each chunk's
extraction call and, with several sources, the call asking where they differ;
only extraction with `--batch-api extract-only`) are built exactly as a live run
builds them, and the cache does not have yet, are written as Batch API lines
(`custom_id` = the request's cache key, `method`, `url`, `body`), split into files
of at most 50,000 requests and 200 MB, uploaded (`/v1/files`), and run as batches
(`/v1/batches`), polled until they end. Each answer is checked against the
request's schema like a live answer, and kept in the answer cache under the same
key: that is round 1.

The later step, merging the points of a section that has more candidates than
one call takes (`briefer.llm.reduce`), needs round 1's answers. With plain
`--batch-api` it is a second round: each job is run from the cache with an asker
that sends nothing (`_Recorder`) and writes down the merge questions the cache
cannot answer, which go out as batches like round 1's. A merge whose own result is
still too long needs one more round, up to `1 + reduce.MAX_ROUNDS` in all. A job
whose round-1 answers are not all in (a request failed or expired) is left out of
the later rounds: it asks what it misses live. With `extract-only` the later steps
are all asked live.

The jobs then run as usual: every answer comes from the cache, and whatever is
missing (a request that failed or expired, a bad answer) is asked live, or the
job fails with its error. `DIR/batch-state.json` names the round and the batches
sent, so a rerun after the process ends polls them instead of sending again and
goes on from that round. `--batch-api export` writes the requests of the round
that is due (round 1's the cache cannot answer, else the next merge round's) and
stops; `--batch-api import --batch-file RESULTS.jsonl` reads results made
elsewhere (`vllm run-batch` writes the same format), then runs the jobs, unless
another round is due, which it says, to export next.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from briefer.batch.jobs import Job
from briefer.batch.worker import BatchOptions, JobRunner
from briefer.errors import BriefError, UsageError
from briefer.findings import Usage
from briefer.llm.ask import Asker
from briefer.llm.reduce import MAX_ROUNDS as REDUCE_ROUNDS
from briefer.llm.reduce import REDUCE_BUDGET
from briefer.output import write_output

if TYPE_CHECKING:
    from pydantic import BaseModel

    from briefer.llm.client import ChatClient
    from briefer.llm.prompt import Message
    from briefer.templates import Template

log = logging.getLogger("briefer")

STATE = "batch-state.json"
MAX_REQUESTS = 50_000
MAX_BYTES = 200 * 1024 * 1024
ENDPOINT: Literal["/v1/chat/completions"] = "/v1/chat/completions"
BATCH_DISCOUNT = 0.5
"""What a batch request costs, as a share of the live price (OpenAI's Batch API: half)."""
_DONE = ("completed", "failed", "expired", "cancelled")
ROUNDS = 1 + REDUCE_ROUNDS
"""Batch rounds at most: the first requests, then one per round of merging."""


@dataclass
class Collected:
    """The requests of a batch's jobs that the cache cannot answer, with how to check each answer."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    checks: dict[str, type[BaseModel]] = field(default_factory=dict)
    prompt_tokens: int = 0
    cached: int = 0
    merges_at_most: int = 0
    """Merge requests the second round can have at most (for the dry run): those of each point section
    whose candidates, at most `max_items` per unit, could be more than one call takes."""
    may_merge: list[str] = field(default_factory=list)
    """Ids of the jobs that can have merges at all: the only ones later rounds need to look at."""

    def add(self, key: str, check: type[BaseModel], body: dict[str, Any], prompt_tokens: int) -> None:
        self.checks[key] = check
        self.prompt_tokens += prompt_tokens
        self.lines.append({"custom_id": key, "method": "POST", "url": ENDPOINT, "body": body})


@dataclass
class Imported:
    """What came back: answers kept in the cache, requests that failed or answered badly, tokens used."""

    kept: int = 0
    failed: int = 0
    bad: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, other: Imported) -> None:
        self.kept += other.kept
        self.failed += other.failed
        self.bad += other.bad
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens


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
    found = Collected()
    for job in jobs:
        try:
            sources = load_sources(list(job.sources))
        except BriefError:
            continue  # the job fails when it runs, with this error
        template = runner.template(job)
        sentences, chunks = prepare(sources, options.chunk_tokens)
        units = engine.plan(chunks, options.chunk_tokens)
        merges = merges_at_most(template, len(units))
        if merges:
            found.merges_at_most += merges
            found.may_merge.append(job.id)
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
            found.add(
                key,
                DifferencesAnswer if is_differences else answer_model(template),
                client.request_body(request, _mode(settings.base_url)),
                sum(count_tokens(m["content"]) for m in request.messages),
            )
    return found


def _mode(base_url: str | None) -> str:
    """The response format of batch requests: OpenAI's strict mode refuses length bounds."""
    return "strict_schema" if base_url is None else "bounded_schema"


def merges_at_most(template: Template, units: int) -> int:
    """The most merge requests a job of `units` extraction calls can make in its first merge round."""
    calls = 0
    for spec in template.sections:
        candidates = units * spec.max_items
        if spec.items != "people" and candidates > REDUCE_BUDGET:
            calls += -(-candidates // REDUCE_BUDGET)
    return calls


class _NotBatched(Exception):
    """A job asked for something the cache does not have and a later round cannot send: it runs live."""


class _Recorder(Asker):
    """An asker that sends nothing: answers come from the cache, and a merge question the cache cannot
    answer is written down for the next round while its points are kept as they are (so the job
    goes on, and asks no more merges this round)."""

    def __init__(self, client: ChatClient, max_tokens: int | None, found: Collected, sent: Set[str]) -> None:
        super().__init__(client, max_tokens)
        self.found = found
        self.sent = sent
        """Requests sent in earlier rounds: one not answered failed there, and its job asks live."""
        self._lock = threading.Lock()

    def ask(
        self,
        messages: list[Message],
        schema: dict[str, object],
        schema_name: str,
        model: type[BaseModel],
        budget: int,
    ) -> tuple[BaseModel | None, Usage]:
        from briefer.llm.budget import output_limit
        from briefer.llm.request import ChatRequest
        from briefer.llm.schema import REDUCE_SCHEMA_NAME, AnswerError, parse_answer

        client = self.client
        request = ChatRequest(messages, schema, schema_name, output_limit(self.max_tokens, budget))
        key = client.key(request)
        stored = client.cache.get(key) if client.cache is not None else None
        if stored is not None:
            if stored.get("split"):
                return None, Usage(cached_calls=1)
            try:
                return parse_answer(stored.get("content"), model), Usage(cached_calls=1)
            except AnswerError:
                raise _NotBatched from None
        if schema_name != REDUCE_SCHEMA_NAME or key in self.sent:
            raise _NotBatched  # a request that failed in a batch: asked live when the job runs
        with self._lock:
            if key not in self.found.checks:
                self.found.add(key, model, client.request_body(request, _mode(client.base_url)), 0)
        return None, Usage()


def collect_later(
    jobs: Sequence[Job], options: BatchOptions, may_merge: Set[str] | None, sent: Set[str] = frozenset()
) -> Collected:
    """The merge requests the jobs in `may_merge` (None: all) would send next, run from the cache
    without sending anything; jobs missing an answer to a request sent before (`sent`, and the
    first requests) are left out: they ask what they miss live."""
    from briefer.engines.openai_engine import OpenAIEngine
    from briefer.pipeline import make_brief
    from briefer.sources import load_sources
    from briefer.tokens import count_tokens

    runner = JobRunner(options)
    found = Collected()
    for job in jobs:
        if may_merge is not None and job.id not in may_merge:
            continue  # too few points to merge: a full run would be wasted on it
        mine = Collected()
        engine = OpenAIEngine(options.settings)
        engine.make_asker = lambda client, max_tokens: _Recorder(client, max_tokens, mine, sent)  # noqa: B023
        try:
            make_brief(
                load_sources(list(job.sources)),
                runner.template(job),
                engine,
                chunk_tokens=options.chunk_tokens,
                strict=options.strict,
            )
        except (_NotBatched, BriefError):
            continue
        for line in mine.lines:
            key = line["custom_id"]
            if key not in found.checks:  # jobs with the same points ask the same merge once
                tokens = sum(count_tokens(m["content"]) for m in line["body"]["messages"])
                found.add(key, mine.checks[key], line["body"], tokens)
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


def store_results(
    text: str,
    checks: dict[str, type[BaseModel]],
    client: ChatClient,
    found: Imported,
    count_unreadable: bool = True,
) -> None:
    """Check each result line of a Batch API output (or error) file and cache the good answers
    (lines that are not results are counted as bad unless `count_unreadable` is False)."""
    from briefer.llm.schema import AnswerError, parse_answer

    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            key = record["custom_id"]
        except (json.JSONDecodeError, KeyError, TypeError):
            found.bad += count_unreadable
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
        if not isinstance(data, dict) or not isinstance(data.get("batches"), list):
            return None
        round_number = data.get("round", 1)  # a state saved before rounds were numbered is round 1
        data["round"] = round_number if isinstance(round_number, int) and 1 <= round_number <= ROUNDS else 1
        sent = data.get("sent")
        data["sent"] = [k for k in sent if isinstance(k, str)] if isinstance(sent, list) else []
        merging = data.get("may_merge")  # None (or unreadable): every job is looked at
        data["may_merge"] = [k for k in merging if isinstance(k, str)] if isinstance(merging, list) else None
        return data

    def send(
        self, files: Sequence[str], round_number: int, sent: Set[str], may_merge: Set[str] | None
    ) -> dict[str, Any]:
        """Upload each file and start a batch on it; the state (with the round, the requests of
        earlier rounds, `sent`, and the jobs that can merge) is saved after each, so none is sent twice."""
        state: dict[str, Any] = {
            "round": round_number,
            "batches": [],
            "sent": sorted(sent),
            "may_merge": _listed(may_merge),
        }
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
                self.say(f"round {round_number}: sent batch {batch.id} ({text.count(chr(10)):,} requests)")
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


@dataclass
class Prefetched:
    """What `prefetch` did: a one-line account, and whether the jobs are to run now."""

    account: str
    run_jobs: bool = True


def prefetch(
    jobs: Sequence[Job],
    options: BatchOptions,
    out: Path,
    mode: str,
    batch_file: Path | None,
    say: Callable[[str], None],
) -> Prefetched:
    """Get the jobs' answers into the cache through the Batch API, round after round (`mode`: send;
    extract-only, round 1 only; import, from `batch_file`), or write the requests of the round
    that is due (export)."""
    from briefer.batch.state import FolderLock

    client = make_client(options)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with FolderLock(out):
            if mode == "import":
                return _import(jobs, options, client, batch_file)
            if mode == "export":
                return Prefetched(_export(jobs, options, client, out, batch_file), run_jobs=False)
            api = BatchAPI(out, client, poll_seconds(), say)
            return Prefetched(
                _rounds(jobs, options, client, api, last=1 if mode == "extract-only" else ROUNDS)
            )
    finally:
        client.close()
        if client.cache is not None:
            client.cache.close()


def _rounds(jobs: Sequence[Job], options: BatchOptions, client: ChatClient, api: BatchAPI, last: int) -> str:
    """Send, wait for and read each round up to `last` (from the round a saved state is in), until one
    has nothing to send; a one-line account of them all. Between rounds the state names the next,
    so a run that ends there goes on from it."""
    state = api.state()
    number = state["round"] if state is not None else 1
    sent: set[str] = set(state["sent"]) if state is not None else set()
    may_merge: set[str] | None = set(state["may_merge"]) if state and state["may_merge"] is not None else None
    last = max(last, number) if state is not None and state["batches"] else last  # a sent round is read
    total, rounds, batches_sent, cached_first = Imported(), 0, 0, 0
    while number <= last:
        if number == 1:
            found = collect(jobs, options, client, differences=last > 1)
            cached_first, may_merge = found.cached, set(found.may_merge)
        else:
            found = collect_later(jobs, options, may_merge, sent)
        if state is None or not state["batches"]:
            files = split_files(found.lines)
            if not files:
                if number > 1 or not may_merge:
                    break  # nothing left to merge: no later round either
                number += 1
                continue
            state = api.send(files, number, sent, may_merge)
        batches = api.wait(state)
        imported = api.read(batches, found.checks)
        sent.update(found.checks)
        number += 1
        state = {"round": number, "batches": [], "sent": sorted(sent), "may_merge": _listed(may_merge)}
        if number <= last:
            write_output(api.state_path, json.dumps(state, indent=1) + "\n")
        api.say(_account(f"round {number - 1}: {_batches(len(batches))}", imported))
        total.add(imported)
        rounds, batches_sent = rounds + 1, batches_sent + len(batches)
    api.state_path.unlink(missing_ok=True)
    if not rounds:
        return f"all {cached_first} first requests are answered by the cache: nothing to send"
    return _account(f"batch API: {rounds} round{'s' if rounds > 1 else ''}, {_batches(batches_sent)}", total)


def _listed(ids: Set[str] | None) -> list[str] | None:
    return sorted(ids) if ids is not None else None


def _batches(count: int) -> str:
    return f"{count} batch" + ("" if count == 1 else "es")


def _import(
    jobs: Sequence[Job], options: BatchOptions, client: ChatClient, batch_file: Path | None
) -> Prefetched:
    """Keep the answers of a results file made elsewhere (either round's); the jobs run unless a
    further round of merges is due."""
    if batch_file is None:
        raise UsageError("--batch-api import needs --batch-file RESULTS.jsonl")
    try:
        text = batch_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{batch_file}: cannot read the results ({exc})") from None
    imported = Imported()
    first = collect(jobs, options, client, differences=True)
    store_results(text, first.checks, client, imported)
    may_merge = set(first.may_merge)
    later = collect_later(jobs, options, may_merge) if may_merge else Collected()
    if not later.lines:
        return Prefetched(_account(f"batch API: read {batch_file}", imported))
    store_results(text, later.checks, client, imported, count_unreadable=False)
    account = _account(f"batch API: read {batch_file}", imported)
    due = collect_later(jobs, options, may_merge)
    if not due.lines:
        return Prefetched(account)
    return Prefetched(
        f"{account}; {len(due.lines):,} requests merging points are due as the next round: write them "
        "with --batch-api export and import their results, or run without --batch-api to ask them live",
        run_jobs=False,
    )


def _export(
    jobs: Sequence[Job], options: BatchOptions, client: ChatClient, out: Path, batch_file: Path | None
) -> str:
    """Write the requests of the round that is due: round 1's the cache cannot answer, else the
    next round of merges."""
    found = collect(jobs, options, client, differences=True)
    what = "round 1 (first requests)"
    if not found.lines:
        found = collect_later(jobs, options, set(found.may_merge)) if found.may_merge else Collected()
        what = "the next round (merging points)"
        if not found.lines:
            return "nothing to export: the cache answers every request a batch would send"
    files = split_files(found.lines)
    base = batch_file or out / "batch-requests.jsonl"
    paths = (
        [base]
        if len(files) == 1
        else [base.with_name(f"{base.stem}-{n}{base.suffix}") for n in range(1, len(files) + 1)]
    )
    for path, text in zip(paths, files, strict=True):
        write_output(path, text)
    return (
        f"wrote {len(found.lines):,} requests of {what} ({found.prompt_tokens:,} prompt tokens) to "
        f"{', '.join(str(p) for p in paths)}; send them, then rerun with --batch-api import --batch-file RESULTS.jsonl"
    )


def _account(what: str, imported: Imported) -> str:
    missing = imported.failed + imported.bad
    live = f"; {missing} failed or unusable, asked live" if missing else ""
    return (
        f"{what}: {imported.kept} answers cached ({imported.prompt_tokens:,} prompt + "
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
    if found.lines:
        merges = (
            f"Round 2 (merging the points of sections with more than {REDUCE_BUDGET} candidates, known once "
            f"round 1 is answered): at most {found.merges_at_most:,} requests"
        )
    else:  # round 1 is all in the cache: the merges are known
        later = collect_later(jobs, options, set(found.may_merge)) if found.may_merge else Collected()
        merges = (
            f"Round 2 (merging points): {len(later.lines):,} requests, {later.prompt_tokens:,} prompt tokens"
        )
    lines = [
        "Dry run: nothing is sent to any model.",
        f"{len(jobs)} jobs: {len(found.lines):,} first requests to send ({found.cached} answered by the cache), "
        f"{found.prompt_tokens:,} prompt tokens, at most {output_tokens:,} output tokens in all.",
        f"{merges}; a further round if merged points are still too many; answers to ask again are extra.",
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
