"""A chat request as briefer sends it, and its cache key (no openai import needed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from briefer.cache import request_key
from briefer.llm.prompt import Message
from briefer.redact import mask_url

OPENAI_SERVER = "https://api.openai.com/v1"


@dataclass(frozen=True)
class ChatRequest:
    """What to ask: messages, the JSON schema the answer must follow, and an output limit."""

    messages: list[Message]
    schema: dict[str, Any]
    schema_name: str
    max_tokens: int


def cache_key(model: str, request: ChatRequest, server: str | None) -> str:
    """The cache key of `request` to `model` on `server` (None: OpenAI's API): the server's address
    with its credentials masked, the model, messages, schema and parameters; never the key."""
    return request_key(
        {
            "server": mask_url(server.rstrip("/")) if server else OPENAI_SERVER,
            "model": model,
            "messages": request.messages,
            "schema": {request.schema_name: request.schema},
            "params": {"max_tokens": request.max_tokens},
        }
    )
