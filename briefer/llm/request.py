"""A chat request as briefer sends it, and its cache key (no openai import needed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from briefer.cache import request_key
from briefer.llm.prompt import Message


@dataclass(frozen=True)
class ChatRequest:
    """What to ask: messages, the JSON schema the answer must follow, and an output limit."""

    messages: list[Message]
    schema: dict[str, Any]
    schema_name: str
    max_tokens: int


def cache_key(model: str, request: ChatRequest) -> str:
    """The cache key of `request` to `model`: the model, messages, schema and parameters, nothing else."""
    return request_key(
        {
            "model": model,
            "messages": request.messages,
            "schema": {request.schema_name: request.schema},
            "params": {"max_tokens": request.max_tokens},
        }
    )
