"""One chat request to an OpenAI-compatible server: cache, structured output, and error mapping.

The openai SDK retries 429, 5xx, 408/409 and timeouts itself, with exponential
backoff and jitter, honouring `Retry-After` and `retry-after-ms`; we bound it
with `max_retries`. Every openai exception becomes a `ModelError` here and
nowhere else, with a one-line message that never contains the API key.

Structured output is asked for as a strict JSON schema with length bounds. A
server that rejects that (HTTP 400/422 naming the response format or schema)
is asked again with the bounds left out, then in JSON mode with the schema
spelled out in the prompt, then with no response format at all; the answer is
checked locally either way. The first format a server takes is kept for the run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import openai

from briefer.cache import AnswerCache
from briefer.errors import ModelError
from briefer.llm.prompt import message_chars, with_schema
from briefer.llm.request import ChatRequest, cache_key
from briefer.llm.schema import unbounded
from briefer.redact import mask_url, redact, remember_secret
from briefer.settings import NO_KEY_PLACEHOLDER
from briefer.tokens import count_tokens

log = logging.getLogger("briefer")

MAX_RETRIES = 3
"""Retries of one request after 429, 5xx or a timeout (so at most four attempts)."""
_MODES = ("bounded_schema", "strict_schema", "json_object", "prompt")
_FORMAT_WORDS = ("response_format", "json_schema", "schema", "strict", "json_object")
_MAX_MESSAGE = 300


@dataclass
class Answer:
    """What came back, and what it cost. `key` names the request in the cache."""

    content: str | None
    finish_reason: str | None
    refusal: str | None
    prompt_tokens: int
    completion_tokens: int
    cached: bool
    key: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


class ChatClient:
    """Sends chat requests to one server and model, through the answer cache when there is one."""

    def __init__(
        self,
        model: str,
        base_url: str | None,
        api_key: str | None,
        timeout: float,
        cache: AnswerCache | None = None,
        cache_server: str | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self.cache_server = cache_server if cache_server is not None else base_url
        """The server as cache keys name it (`base_url` unless the engine says otherwise)."""
        self.timeout = timeout
        self.cache = cache
        self._secret = api_key or ""
        if self._secret != NO_KEY_PLACEHOLDER:
            remember_secret(self._secret)
        self._client = openai.OpenAI(
            api_key=api_key or "not-needed", base_url=base_url, timeout=timeout, max_retries=MAX_RETRIES
        )
        self._mode = 0
        self._lock = threading.Lock()
        self.chars_sent = 0
        """Characters of message text sent to the server (cached answers send none)."""

    def key(self, request: ChatRequest) -> str:
        """The cache key of `request`: the server, model, messages, schema and parameters (never the key)."""
        return cache_key(self.model, request, self.cache_server)

    def complete(self, request: ChatRequest) -> Answer:
        """The model's answer to `request`, from the cache if it has it."""
        key = self.key(request)
        if self.cache is not None:
            stored = self.cache.get(key)
            if stored is not None:
                return Answer(stored.get("content"), "stop", None, 0, 0, cached=True, key=key, raw=stored)
        while True:
            mode = self._mode
            try:
                response = self._send(request, _MODES[mode])
            except openai.BadRequestError as exc:
                self._fall_back(mode, exc)
                continue
            except openai.UnprocessableEntityError as exc:
                self._fall_back(mode, exc)
                continue
            return self._answer(response, request, key)

    def remember(self, key: str, outcome: dict[str, Any]) -> None:
        """Cache what request `key` came to, once it has been checked (bad answers are never cached).

        `{"content": …}` is a checked answer; the engine may store other outcomes,
        such as `{"split": true}` for a chunk whose answer did not fit.
        """
        if self.cache is not None:
            self.cache.put(key, outcome)

    def close(self) -> None:
        self._client.close()

    def _send(self, request: ChatRequest, mode: str) -> Any:
        schema = request.schema if mode == "bounded_schema" else unbounded(request.schema)
        messages = request.messages if mode.endswith("_schema") else with_schema(request.messages, schema)
        params: dict[str, Any] = {"model": self.model, "messages": messages}
        # OpenAI's own API wants the newer name; compatible servers know the older one best.
        params["max_completion_tokens" if self.base_url is None else "max_tokens"] = request.max_tokens
        if mode.endswith("_schema"):
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": request.schema_name, "schema": schema, "strict": True},
            }
        elif mode == "json_object":
            params["response_format"] = {"type": "json_object"}
        with self._errors():
            response = self._client.chat.completions.create(**params)
        with self._lock:
            self.chars_sent += message_chars(messages)
        return response

    def _answer(self, response: Any, request: ChatRequest, key: str) -> Answer:
        if not response.choices:
            raise ModelError("the model server sent an answer with no choices")
        choice = response.choices[0]
        content = choice.message.content
        usage = response.usage
        if usage is not None:
            prompt_tokens, completion_tokens = usage.prompt_tokens or 0, usage.completion_tokens or 0
        else:  # some servers leave usage out: count it ourselves
            prompt_tokens = count_tokens("\n".join(m["content"] for m in request.messages))
            completion_tokens = count_tokens(content or "")
        return Answer(
            content,
            choice.finish_reason,
            getattr(choice.message, "refusal", None),
            prompt_tokens,
            completion_tokens,
            cached=False,
            key=key,
        )

    def _fall_back(self, mode: int, exc: openai.APIStatusError) -> None:
        """Use a plainer response format after the server rejected this one; other rejections fail."""
        message = self.redact(_error_message(exc))
        if mode + 1 >= len(_MODES) or not any(word in message.lower() for word in _FORMAT_WORDS):
            raise ModelError(f"the model server rejected the request (HTTP {exc.status_code}): {message}")
        with self._lock:
            if self._mode == mode:
                self._mode = mode + 1
                # Dropping the bounds is routine (OpenAI's strict mode refuses maxLength): no warning.
                log.log(
                    logging.INFO if mode == 0 else logging.WARNING,
                    "the model server does not take a %s (%s); now asking for %s, checked locally",
                    _MODES[mode].replace("_", " "),
                    message,
                    _MODES[mode + 1].replace("_", " ").replace("prompt", "JSON described in the prompt"),
                )

    def redact(self, text: str) -> str:
        """`text` on one line, at most 300 characters, with the API key and other secrets blanked out."""
        text = " ".join(text.split())
        if len(self._secret) >= 4:
            text = text.replace(self._secret, "[key]")
        text = redact(text)
        return text[:_MAX_MESSAGE] + ("…" if len(text) > _MAX_MESSAGE else "")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn openai's exceptions into `ModelError`s that say what happened and what to do."""
        attempts = MAX_RETRIES + 1
        where = mask_url(self.base_url) if self.base_url else "the OpenAI API"
        try:
            yield
        except openai.APITimeoutError:
            raise ModelError(
                f"the model server at {where} did not answer within {self.timeout:g} s "
                f"({attempts} attempts): raise --timeout or check the server"
            ) from None
        except openai.APIConnectionError as exc:
            raise ModelError(
                f"cannot reach the model server at {where} ({attempts} attempts): "
                f"{self.redact(str(exc.__cause__ or exc))}"
            ) from None
        except openai.AuthenticationError as exc:
            raise ModelError(
                f"the model server rejected the API key (HTTP {exc.status_code}): check OPENAI_API_KEY"
            ) from None
        except openai.PermissionDeniedError as exc:
            raise ModelError(
                f"the model server refused access (HTTP {exc.status_code}): {self.redact(_error_message(exc))}"
            ) from None
        except openai.NotFoundError:
            raise ModelError(
                f"the model server has no model {self.model!r} or no chat endpoint (HTTP 404): "
                "check --model and --base-url"
            ) from None
        except openai.RateLimitError as exc:
            raise ModelError(
                f"the model server is rate limiting (HTTP 429) after {attempts} attempts: "
                f"try again later or lower --concurrency ({self.redact(_error_message(exc))})"
            ) from None
        except openai.InternalServerError as exc:
            raise ModelError(
                f"the model server failed (HTTP {exc.status_code}) after {attempts} attempts: "
                f"{self.redact(_error_message(exc))}"
            ) from None
        except (openai.BadRequestError, openai.UnprocessableEntityError):
            raise  # complete() decides: a plainer response format, or a ModelError
        except openai.APIStatusError as exc:
            raise ModelError(
                f"the model server answered HTTP {exc.status_code}: {self.redact(_error_message(exc))}"
            ) from None
        except openai.OpenAIError as exc:
            raise ModelError(f"the model request failed: {self.redact(str(exc))}") from None


def _error_message(exc: openai.APIStatusError) -> str:
    """The server's own error message when its body has one, else the status line."""
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return str(exc.message or f"HTTP {exc.status_code}")
