"""One chat request to an OpenAI-compatible server: cache, streaming, structured output, and error mapping.

Answers are asked for as a stream (`stream=True`, with the usage in the last
event), so `--timeout` bounds the wait for each piece, not for the whole answer:
a slow model that keeps writing is never cut off. A server that refuses
streaming (HTTP 400/422 naming it) is asked again without, and one that ignores
it sends a plain answer, which is read as it is; either way the run goes on
without streaming. The answer is the same either way.

429, 5xx, 408/409, timeouts and broken connections are tried again here, at most
`MAX_RETRIES` times, with exponential backoff and jitter, honouring `Retry-After`
and `retry-after-ms` within the run's deadline (`briefer.llm.transport`). Every
openai exception becomes a `ModelError` here and nowhere else, with a one-line
message that never contains the API key.

Structured output is asked for as a strict JSON schema with length bounds. A
server that rejects that (HTTP 400/422 naming the response format or schema)
is asked again with the bounds left out, then in JSON mode with the schema
spelled out in the prompt, then with no response format at all; the answer is
checked locally either way. The first format a server takes is kept for the run.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from briefer.cache import AnswerCache
from briefer.errors import ModelError
from briefer.llm.limit import call_slot
from briefer.llm.prompt import message_chars, with_schema
from briefer.llm.request import ChatRequest, cache_key
from briefer.llm.schema import unbounded
from briefer.llm.transport import Deadline, TokenMeter, retry_after, wait_before_retry
from briefer.redact import mask_url, redact, remember_secret
from briefer.settings import NO_KEY_PLACEHOLDER
from briefer.tokens import count_tokens

log = logging.getLogger("briefer")

MAX_RETRIES = 3
"""Retries of one request after 429, 5xx, a timeout or a broken connection (so at most four attempts)."""
_MODES = ("bounded_schema", "strict_schema", "json_object", "prompt")
_FORMAT_WORDS = ("response_format", "json_schema", "schema", "strict", "json_object")
_STREAMING = ("stream_with_usage", "stream", "plain")
"""How answers are asked for, from the first a server may refuse to the last."""
_RETRIED_STATUS = frozenset({408, 409, 429})
_MAX_MESSAGE = 300


@dataclass
class _Reply:
    """An answer as it came back, streamed or not."""

    content: str | None
    finish_reason: str | None
    refusal: str | None
    usage: Any


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


def http_client() -> Any:
    """A new HTTP client with the SDK's defaults, sharing this process's TLS context.

    httpx loads the certificate store for each client it makes (~25 ms of CPU); a batch
    worker makes a client per job, so it loads the store once instead."""
    context = tls_context()
    return openai.DefaultHttpxClient(verify=context) if context is not None else None


@functools.cache
def tls_context() -> ssl.SSLContext | None:
    """The TLS context the SDK's HTTP library would make for a client (None if it cannot say)."""
    library = openai.DefaultHttpxClient.__mro__[1].__module__.partition(".")[0]  # httpx or its successor
    create = getattr(importlib.import_module(library), "create_ssl_context", None)
    return create() if create is not None else None


class ChatClient:
    """Sends chat requests to one server and model, through the answer cache when there is one."""

    def __init__(
        self,
        model: str,
        base_url: str | None,
        api_key: str | None,
        timeout: float,
        cache: AnswerCache | None = None,
        deadline: float | None = None,
        meter: TokenMeter | None = None,
        cache_server: str | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self.cache_server = cache_server if cache_server is not None else base_url
        """The server as cache keys name it (`base_url` unless the engine says otherwise)."""
        self.timeout = timeout
        """The longest wait for the first or next piece of an answer (`--timeout`)."""
        self.cache = cache
        self.deadline = Deadline(deadline)
        self.meter = meter or TokenMeter()
        self._secret = api_key or ""
        # Retries are ours (`_send`), so that waits between tries keep to the run's deadline.
        if self._secret != NO_KEY_PLACEHOLDER:
            remember_secret(self._secret)
        self._client = openai.OpenAI(
            api_key=api_key or "not-needed",
            base_url=base_url,
            timeout=timeout,
            max_retries=0,
            http_client=http_client(),
        )
        self._mode = 0
        self._streaming = 0
        self._streams: set[Any] = set()
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
                with call_slot():
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
        """Close the connections, also those of answers still arriving (an error elsewhere, Ctrl-C)."""
        with self._lock:
            streams, self._streams = list(self._streams), set()
        for stream in streams:
            try:
                stream.close()
            except Exception:  # another thread may be closing it too
                continue
        self._client.close()

    @property
    def sdk(self) -> openai.OpenAI:
        """The openai client itself, for endpoints other than chat (batch files)."""
        return self._client

    def errors(self) -> AbstractContextManager[None]:
        """Turns openai's exceptions raised inside into `ModelError`s, as for chat requests."""
        return self._errors()

    def _send(self, request: ChatRequest, mode: str) -> _Reply:
        params = self.request_body(request, mode)
        with self._errors():
            reply = self._tries(params)
        with self._lock:
            self.chars_sent += message_chars(params["messages"])
        return reply

    def request_body(self, request: ChatRequest, mode: str = _MODES[0]) -> dict[str, Any]:
        """The chat completions body for `request` in response-format `mode` (also for batch files)."""
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
        return params

    def _tries(self, params: dict[str, Any]) -> _Reply:
        """The answer to `params`, tried again after failures that may pass, within the deadline."""
        self.deadline.start()
        where = self.base_url or "the OpenAI API"
        tries = 0
        while True:
            self.deadline.check()
            try:
                return self._once(params)
            except openai.APIStatusError as exc:
                if exc.status_code not in _RETRIED_STATUS and exc.status_code < 500:
                    raise
                failure: openai.OpenAIError = exc
                asked = retry_after(exc.response.headers)
            except openai.APIConnectionError as exc:  # timeouts too
                self.deadline.check()  # a wait the deadline cut short says so
                failure, asked = exc, None
            tries += 1
            if tries > MAX_RETRIES:
                raise failure
            wait = wait_before_retry(asked, tries - 1, self.deadline, where)
            log.debug("trying again in %.1f s after %s", wait, type(failure).__name__)
            time.sleep(wait)

    def _once(self, params: dict[str, Any]) -> _Reply:
        """One try: streamed unless the server cannot stream (then plain from now on)."""
        timeout = self.deadline.bound(self.timeout)
        while True:
            streaming = self._streaming
            if _STREAMING[streaming] == "plain":
                response = self._client.chat.completions.create(**params, timeout=timeout)
                return _plain_reply(response)
            extra: dict[str, Any] = {"stream": True}
            if _STREAMING[streaming] == "stream_with_usage":
                extra["stream_options"] = {"include_usage": True}
            try:
                stream = self._client.chat.completions.create(**params, **extra, timeout=timeout)
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                message = _error_message(exc).lower()
                if "stream" not in message:
                    raise
                # A server that only refuses `stream_options` still streams; others get whole answers.
                usage_only = "stream_options" in message or "include_usage" in message
                self._stop_streaming(streaming, exc, streaming + 1 if usage_only else len(_STREAMING) - 1)
                continue
            return self._read(stream, streaming)

    def _read(self, stream: Any, streaming: int) -> _Reply:
        """Put a streamed answer together as it arrives; a plain answer (the server ignored
        `stream`) is read as it is."""
        with self._lock:
            self._streams.add(stream)
        try:
            if "json" in stream.response.headers.get("content-type", ""):
                self._stop_streaming(streaming, None, len(_STREAMING) - 1)
                data = json.loads(stream.response.read())
                return _plain_reply(ChatCompletion.model_validate(data))
            content: list[str] = []
            refusal: list[str] = []
            finish_reason = usage = None
            for chunk in stream:
                self.deadline.check()
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices:
                    if choice.index != 0:
                        continue
                    piece = choice.delta.content
                    if piece:
                        content.append(piece)
                        self.meter.add(count_tokens(piece))
                    if getattr(choice.delta, "refusal", None):
                        refusal.append(choice.delta.refusal)
                    finish_reason = choice.finish_reason or finish_reason
            text = "".join(content)
            return _Reply(
                text if text or not refusal else None, finish_reason, "".join(refusal) or None, usage
            )
        finally:
            stream.close()
            with self._lock:
                self._streams.discard(stream)

    def _stop_streaming(self, streaming: int, exc: openai.APIStatusError | None, to: int) -> None:
        """Ask the rest of the run's questions the `to` way: the server refused (or ignored) this one."""
        with self._lock:
            if self._streaming != streaming:
                return
            self._streaming = to
        if _STREAMING[to] != "plain":
            return  # usage is counted here instead: nothing the user need know
        reason = self.redact(_error_message(exc)) if exc is not None else "it sent a plain answer"
        log.info("the model server does not stream answers (%s); asking for whole answers", reason)

    def _answer(self, reply: _Reply, request: ChatRequest, key: str) -> Answer:
        content = reply.content
        usage = reply.usage
        if usage is not None:
            prompt_tokens, completion_tokens = usage.prompt_tokens or 0, usage.completion_tokens or 0
        else:  # some servers leave usage out: count it ourselves
            prompt_tokens = count_tokens("\n".join(m["content"] for m in request.messages))
            completion_tokens = count_tokens(content or "")
        return Answer(
            content,
            reply.finish_reason,
            reply.refusal,
            prompt_tokens,
            completion_tokens,
            cached=False,
            key=key,
        )

    def _fall_back(self, mode: int, exc: openai.APIStatusError) -> None:
        """Use a plainer response format after the server rejected this one; other rejections fail."""
        message = self.redact(_error_message(exc))
        about_format = any(word in message.lower() for word in _FORMAT_WORDS)
        if about_format and mode + 1 >= len(_MODES):
            raise ModelError(
                f"the model server at {self.base_url or 'the OpenAI API'} cannot produce structured output "
                f"(it refused a JSON schema, JSON mode and a schema in the prompt: {message}): use a server "
                "and model with JSON-schema or grammar support (see 'Local models and servers' in the README)"
            )
        if not about_format:
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
                f"the model server at {where} sent nothing for {self.timeout:g} s ({attempts} attempts): "
                "raise --timeout (the longest wait for the first or next piece of an answer) "
                "or check the server"
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


def _plain_reply(response: Any) -> _Reply:
    """An answer sent whole."""
    if not response.choices:
        raise ModelError("the model server sent an answer with no choices")
    choice = response.choices[0]
    return _Reply(
        choice.message.content, choice.finish_reason, getattr(choice.message, "refusal", None), response.usage
    )
