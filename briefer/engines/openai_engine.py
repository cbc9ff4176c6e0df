"""The `openai` engine: any OpenAI-compatible server, asked for grounded sections as JSON.

Per chunk: the model sees the template's sections and the chunk's numbered
sentences, and answers JSON under a schema derived from the template. The
answer is checked locally; a broken one is asked again (at most twice, each
time the original messages plus only the last bad answer and what is wrong
with it). An answer cut off at the output limit is asked once more with twice
the limit, then the chunk is split in halves. Citations are resolved against
the sentences shown and each item is checked for support (`briefer.llm.ground`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from pydantic import BaseModel

from briefer.chunking import Chunk
from briefer.config import Settings, resolve_settings
from briefer.engines.base import Engine
from briefer.errors import ModelError, RefusalError
from briefer.findings import Finding, Findings
from briefer.llm.ground import ground
from briefer.llm.prompt import Message, extract_messages, reask_messages, sentence_ids
from briefer.llm.request import ChatRequest
from briefer.llm.schema import SCHEMA_NAME, AnswerError, answer_model, parse_answer, sections_schema
from briefer.sentences import Sentence
from briefer.sources import Source
from briefer.templates import Template

if TYPE_CHECKING:
    from briefer.llm.client import Answer, ChatClient

MAX_REASKS = 2
"""Times a broken answer (not JSON, or not the schema) is asked again."""
MAX_SPLITS = 4
"""Times a chunk may be halved because the answer did not fit the output limit (down to 1/16)."""


class OpenAIEngine(Engine):
    """Extracts findings with a chat model behind the OpenAI API (OpenAI, vLLM, Ollama, llama.cpp …)."""

    name = "openai"
    needs_key = True
    exclusive_sentences = False

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or resolve_settings(engine="openai")
        self.model = self.settings.model
        self.concurrency = self.settings.concurrency
        self.overlaps = True
        self.reduce_budget = REDUCE_BUDGET
        self._client: ChatClient | None = None
        self._models: dict[str, tuple[Template, type[BaseModel]]] = {}
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Engine:
        return cls(settings)

    @property
    def base_url(self) -> str | None:
        return self.settings.base_url

    def pack(self, chunks: Iterable[Chunk], max_tokens: int) -> Iterator[Chunk]:
        """Consecutive chunks packed into calls of up to `max_tokens` tokens: short sources share a call.

        A unit is yielded once the next chunk does not fit, so calls start while later
        sources are still being split.
        """
        unit: Chunk | None = None
        count = 0
        for chunk in chunks:
            if unit is not None and unit.tokens + chunk.tokens <= max_tokens:
                unit = replace(
                    unit, sentences=unit.sentences + chunk.sentences, tokens=unit.tokens + chunk.tokens
                )
                continue
            if unit is not None:
                yield unit
                count += 1
            unit = replace(chunk, index=count)
        if unit is not None:
            yield unit

    def prepare(self, template: Template, sources: Sequence[Source], chunk_tokens: int) -> None:
        self._closed = False
        self.client()

    def client(self) -> ChatClient:
        """The chat client, made on first use (importing openai takes a second or two)."""
        self.check_open()
        with self._lock:
            if self._client is None:
                from briefer.cache import AnswerCache
                from briefer.llm.client import ChatClient

                cache = AnswerCache(self.settings.cache_dir) if self.settings.cache else None
                self._client = ChatClient(
                    self.settings.model, self.base_url, self.settings.api_key, self.settings.timeout, cache
                )
            return self._client

    def check_open(self) -> None:
        """Calls still running when the run was closed (an error elsewhere, Ctrl-C) end here."""
        if self._closed:
            raise ModelError("the run was stopped")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._client is not None:
                self._client.close()
                if self._client.cache is not None:
                    self._client.cache.close()
                self._client = None

    def extract(self, chunk: Chunk, template: Template) -> Findings:
        return self._extract(chunk.sentences, template, splits=0)

    def reduce(
        self,
        findings: Sequence[Finding],
        template: Template,
        sentences: Mapping[str, Sequence[Sentence]],
        source_order: Sequence[str],
    ) -> Findings:
        from briefer.llm.reduce import reduce_findings

        return reduce_findings(self, findings, template, sentences, source_order, self.reduce_budget)

    def differences(self, sentences: Mapping[str, Sequence[Sentence]]) -> Findings:
        """Where sources differ, asked of the model about pairs of sentences that could disagree."""
        from briefer.llm.differ import ask_differences

        return ask_differences(self, sentences)

    def answer_model(self, template: Template) -> type[BaseModel]:
        """The pydantic model that checks answers for `template` (built once per template)."""
        with self._lock:
            known = self._models.get(template.name)
            if known is None or known[0] != template:
                known = self._models[template.name] = (template, answer_model(template))
            return known[1]

    def ask(
        self,
        messages: list[Message],
        schema: dict[str, object],
        schema_name: str,
        model: type[BaseModel],
        spent: Findings,
    ) -> BaseModel | None:
        """The model's checked answer to `messages`; None when it does not fit the output limit.

        Adds what each call cost to `spent`. A broken answer is asked again at most
        `MAX_REASKS` times; a cut-off one once more with twice the output limit.
        """
        client = self.client()
        max_tokens = self.settings.max_tokens
        first_key = client.key(ChatRequest(messages, schema, schema_name, max_tokens))
        attempt = messages
        reasks = 0
        raised = False
        while True:
            answer = client.complete(ChatRequest(attempt, schema, schema_name, max_tokens))
            _count(spent, answer)
            if answer.cached and answer.raw.get("split"):
                return None
            if answer.refusal:
                raise RefusalError(client.redact(answer.refusal))
            if answer.finish_reason == "length":
                if not raised:
                    raised, max_tokens = True, max_tokens * 2
                    continue
                client.remember(first_key, {"split": True})
                return None
            try:
                parsed = parse_answer(answer.content, model)
            except AnswerError as exc:
                if reasks >= MAX_REASKS:
                    raise ModelError(
                        f"the model's answer {exc} ({reasks + 1} tries): try another --model"
                    ) from None
                reasks += 1
                attempt = reask_messages(messages, answer.content or "", str(exc))
                continue
            if not answer.cached:
                client.remember(first_key, {"content": answer.content})
            return parsed

    def _extract(self, sentences: Sequence[Sentence], template: Template, splits: int) -> Findings:
        schema = sections_schema(template, sentence_ids(sentences))
        spent = Findings()
        messages = extract_messages(template, sentences)
        answer = self.ask(messages, schema, SCHEMA_NAME, self.answer_model(template), spent)
        if answer is not None:
            return _add(spent, ground(answer, template, sentences))
        if len(sentences) < 2 or splits >= MAX_SPLITS:
            raise ModelError(
                f"the model's answer did not fit in {self.settings.max_tokens * 2} tokens even for "
                f"{len(sentences)} sentence(s): raise --max-tokens or use smaller --chunk-tokens"
            )
        half = len(sentences) // 2
        for part in (sentences[:half], sentences[half:]):
            _add(spent, self._extract(part, template, splits + 1))
        return spent


REDUCE_BUDGET = 32
"""Candidates of one section that fit one reduce call; more than this and the model condenses them."""


def _count(spent: Findings, answer: Answer) -> None:
    if answer.cached:
        spent.cached_calls += 1
    else:
        spent.llm_calls += 1
        spent.prompt_tokens += answer.prompt_tokens
        spent.completion_tokens += answer.completion_tokens


def _add(total: Findings, part: Findings) -> Findings:
    """`total` with `part`'s items and costs added."""
    total.items.extend(part.items)
    total.llm_calls += part.llm_calls
    total.cached_calls += part.cached_calls
    total.prompt_tokens += part.prompt_tokens
    total.completion_tokens += part.completion_tokens
    total.dropped += part.dropped
    return total
