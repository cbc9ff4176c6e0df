"""The `openai` engine: any OpenAI-compatible server, asked for grounded sections as JSON.

Per chunk: the model sees the template's sections and the chunk's numbered
sentences, and answers JSON under a schema derived from the template. Asking
(checking answers, asking again, counting the cost) is `briefer.llm.ask`; an
answer that does not fit the output limit even when raised splits the chunk
in halves. Citations are resolved against the sentences shown
(`briefer.llm.ground`); support is checked with every engine's findings in
`briefer.verify`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from briefer.chunking import Chunk
from briefer.engines.base import Engine
from briefer.errors import ModelError
from briefer.findings import Finding, Findings
from briefer.llm.ask import Asker
from briefer.llm.budget import output_limit, sections_budget
from briefer.llm.ground import ground
from briefer.llm.prompt import extract_messages, sentence_ids
from briefer.llm.reduce import REDUCE_BUDGET
from briefer.llm.schema import SCHEMA_NAME, answer_model, sections_schema
from briefer.llm.transport import TokenMeter
from briefer.paraphrase import SpunPhrase
from briefer.redact import mask_url
from briefer.sentences import Sentence
from briefer.settings import Settings
from briefer.sources import Source
from briefer.templates import Template

if TYPE_CHECKING:
    from pydantic import BaseModel

    from briefer.llm.client import ChatClient
    from briefer.llm.planning import CallPlan

MAX_SPLITS = 4
"""Times a chunk may be halved because the answer did not fit the output limit (down to 1/16)."""


class OpenAIEngine(Engine):
    """Extracts findings with a chat model behind the OpenAI API (OpenAI, vLLM, Ollama, llama.cpp …)."""

    name = "openai"
    needs_key = True
    overlaps = True
    reads_entities = False  # the model finds people and facts; pairs and checks read words only

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.model = self.settings.model
        self.concurrency = self.settings.concurrency
        self.reduce_budget = REDUCE_BUDGET
        self.meter = TokenMeter()
        """Tokens of answers received so far, for progress displays."""
        self._client: ChatClient | None = None
        self._asker: Asker | None = None
        self.make_asker: Callable[[ChatClient, int | None], Asker] = Asker
        """Makes the asker of each client (a batch's later rounds put one in that asks nothing)."""
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
                    unit,
                    sentences=unit.sentences + chunk.sentences,
                    tokens=unit.tokens + chunk.tokens,
                    spun=unit.spun + chunk.spun,
                )
                continue
            if unit is not None:
                yield unit
                count += 1
            unit = replace(chunk, index=count)
        if unit is not None:
            yield unit

    @classmethod
    def warm_up(cls) -> None:
        """The openai SDK imported and the TLS context loaded (~1 s of CPU, once per batch, not per worker)."""
        from briefer.llm.client import tls_context

        tls_context()

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
                    self.settings.model,
                    self.base_url,
                    self.settings.api_key,
                    self.settings.timeout,
                    cache,
                    deadline=self.settings.deadline,
                    meter=self.meter,
                    cache_server=self.cache_server(),
                )
            return self._client

    def asker(self) -> Asker:
        """Asks this engine's model, counting what each question cost."""
        client = self.client()
        with self._lock:
            if self._asker is None or self._asker.client is not client:
                self._asker = self.make_asker(client, self.settings.max_tokens)
            return self._asker

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
                self._asker = None

    def extract(self, chunk: Chunk, template: Template) -> Findings:
        return self._extract(chunk.sentences, template, splits=0, spun=chunk.spun)

    def reduce(
        self,
        findings: Sequence[Finding],
        template: Template,
        sentences: Mapping[str, Sequence[Sentence]],
        source_order: Sequence[str],
    ) -> Findings:
        from briefer.llm.reduce import reduce_findings

        return reduce_findings(
            self.asker(), findings, template, source_order, self.reduce_budget, self.concurrency
        )

    def differences(self, sentences: Mapping[str, Sequence[Sentence]]) -> Findings:
        """Where sources differ, asked of the model about pairs of sentences that could disagree."""
        from briefer.llm.pairs import ask_differences

        return ask_differences(self.asker(), sentences)

    def plan_calls(
        self, template: Template, units: Sequence[Chunk], sentences: Mapping[str, Sequence[Sentence]]
    ) -> CallPlan:
        from briefer.llm.planning import plan_calls

        return plan_calls(
            self.settings, self.server_shown(), self.priced(), template, units, sentences, self.cache_server()
        )

    def server_shown(self) -> str | None:
        """The server as the dry run names it (credentials in the URL masked)."""
        return mask_url(self.base_url) if self.base_url else "https://api.openai.com/v1 (OpenAI)"

    def cache_server(self) -> str | None:
        """The server as cache keys name it: answers from one server never stand in for another's."""
        return self.settings.base_url

    def priced(self) -> bool:
        """Whether the price table applies: calls go to OpenAI itself."""
        return self.settings.base_url is None

    def answer_model(self, template: Template) -> type[BaseModel]:
        """The pydantic model that checks answers for `template` (built once per template)."""
        with self._lock:
            known = self._models.get(template.name)
            if known is None or known[0] != template:
                known = self._models[template.name] = (template, answer_model(template))
            return known[1]

    def _extract(
        self, sentences: Sequence[Sentence], template: Template, splits: int, spun: Sequence[SpunPhrase] = ()
    ) -> Findings:
        schema = sections_schema(template, sentence_ids(sentences))
        messages = extract_messages(template, sentences, spun)
        budget = sections_budget(template)
        answer, usage = self.asker().ask(messages, schema, SCHEMA_NAME, self.answer_model(template), budget)
        spent = Findings(usage=usage)
        if answer is not None:
            return spent.add(ground(answer, template, sentences))
        if len(sentences) < 2 or splits >= MAX_SPLITS:
            raise ModelError(
                f"the model's answer did not fit in {output_limit(self.settings.max_tokens, budget) * 2} "
                f"tokens even for "
                f"{len(sentences)} sentence(s): raise --max-tokens or use smaller --chunk-tokens"
            )
        half = len(sentences) // 2
        for part in (sentences[:half], sentences[half:]):
            spent.add(self._extract(part, template, splits + 1, spun))
        return spent
