"""The `local` engine: a GGUF model run by llama.cpp in this process, used through the `openai` engine.

`--engine local --model path/to/model.gguf` starts llama.cpp's OpenAI-compatible
server (xllamacpp, the optional extra `briefer[local]`) on 127.0.0.1 with one
parallel slot per `--concurrency`, sends it the same requests as any server,
and stops it when the run ends, also on error or Ctrl-C.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from briefer.chunking import DEFAULT_CHUNK_TOKENS
from briefer.engines.base import Engine
from briefer.engines.openai_engine import OpenAIEngine
from briefer.errors import UsageError
from briefer.llm.budget import differences_budget, output_limit, sections_budget
from briefer.llm.local_server import LocalServer
from briefer.settings import NO_KEY_PLACEHOLDER, Settings
from briefer.sources import Source
from briefer.template_files import DEFAULT_TEMPLATE
from briefer.templates import Template, load_template
from briefer.tokens import count_tokens

if TYPE_CHECKING:
    from briefer.llm.client import ChatClient

_PROMPT_TOKENS = 1024
"""Room in a slot for the instructions and sections, besides the chunk itself."""
_JOIN_SLACK = 1.05
"""Sentences joined in a call may take a few more tokens than the text they came from."""
_TOKENIZER_SLACK = 1.3
"""A model's own tokenizer may need more tokens than tiktoken counts for the same text."""


class LocalEngine(OpenAIEngine):
    """The `openai` engine against a llama.cpp server it starts and stops itself."""

    name = "local"
    needs_key = False
    takes_model_path = True

    def __init__(self, settings: Settings) -> None:
        path = Path(settings.model).expanduser()
        if not path.is_file():
            raise UsageError(f"{path}: no such model file (give --model path/to/model.gguf)")
        super().__init__(replace(settings, api_key=NO_KEY_PLACEHOLDER, base_url=None))
        self.model = path.name
        self.server = LocalServer(path, settings.concurrency, self._slot_tokens(DEFAULT_CHUNK_TOKENS, None))
        self._starting = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Engine:
        return cls(settings)

    @property
    def base_url(self) -> str | None:
        return self.server.url

    def prepare(self, template: Template, sources: Sequence[Source], chunk_tokens: int) -> None:
        # No call carries more than the chunk budget, nor more than all the sources' text
        # (counted as one text, with room for the spaces that join sentences in a call).
        text_tokens = sum(count_tokens(source.text) for source in sources)
        largest = min(chunk_tokens, int(text_tokens * _JOIN_SLACK) + len(sources))
        if self.server.url is None:
            self.server.slot_tokens = self._slot_tokens(largest, template)
        super().prepare(template, sources, chunk_tokens)

    def server_shown(self) -> str | None:
        return None  # started by the run itself

    def cache_server(self) -> str | None:
        return "local"  # its port changes from run to run; the model file names it

    def priced(self) -> bool:
        return False

    def client(self) -> ChatClient:
        self.check_open()
        with self._starting:
            if self.server.url is None:
                self.server.start()
        return super().client()

    def close(self) -> None:
        try:
            self.server.disconnect()  # calls in flight end now, before the client closes their sockets
            super().close()
        finally:
            self.server.stop()

    def _slot_tokens(self, chunk_tokens: int, template: Template | None) -> int:
        """Context per slot: the chunk, the prompt, and the answer at its raised output limit (the
        template's sections, or the default template's before the run's is known)."""
        budget = sections_budget(template or load_template(DEFAULT_TEMPLATE))
        answer = max(output_limit(self.settings.max_tokens, budget), differences_budget())
        return int(chunk_tokens * _TOKENIZER_SLACK) + _PROMPT_TOKENS + 2 * answer
