"""An OpenAI-compatible chat server on 127.0.0.1 whose answers each test scripts.

`ScriptedServer(script)` serves `POST /v1/chat/completions`; `script(n, request)`
returns the `Reply` to the n-th request (from 0). By default every request gets
`grounded_reply(request)`: a valid answer computed from the request itself (the
`[S1:n]` lines it carries and the schema it asks for), citing real sentences.
Every request is recorded with its arrival and departure times.

A request asking for a streamed answer (`"stream": true`) gets it as server-sent
events, as OpenAI sends them: the content in pieces (`Reply.pieces`, spread over
`Reply.spread` seconds), the finish reason, then the usage when
`stream_options.include_usage` asks for it. `ScriptedServer(streaming=...)` plays
servers that cannot stream: "refuse" answers such requests with HTTP 400, "ignore"
sends a plain answer.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_LINE = re.compile(r"^\[(S\d+:\d+)\] (.*)$", re.MULTILINE)
_CANDIDATE = re.compile(r"^\[(P\d+)\] (.*)$", re.MULTILINE)
_PAIR = re.compile(r"^\d+\. (S\d+:\d+) and (S\d+:\d+)$", re.MULTILINE)
_NAME = re.compile(r"\b([A-Z][a-z]+ [A-Z][a-z]+)\b")
_SCHEMA_IN_PROMPT = re.compile(r"The JSON must match this schema: (\{.*\})", re.DOTALL)


@dataclass
class Reply:
    """A response: HTTP status, JSON body (or raw text), headers, and a delay before sending it."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    pieces: int = 4
    """Pieces a streamed answer's content is sent in."""
    spread: float = 0.0
    """Seconds over which the pieces of a streamed answer are spread (after `delay`)."""
    events: Iterable[Any] | None = None
    """The events of a streamed answer as another server sends them (`forward_to`), passed on as
    they come."""


@dataclass
class Received:
    """A request as the server saw it, with when it arrived and when its answer left."""

    n: int
    body: dict[str, Any]
    headers: dict[str, str]
    """Header names in lower case."""
    start: float
    end: float | None = None
    streamed: bool = False
    """Whether the answer went out as a stream."""
    cut_off: float | None = None
    """When the client closed the connection before the answer was all sent."""

    @property
    def messages(self) -> list[dict[str, str]]:
        return list(self.body.get("messages", []))

    @property
    def user_text(self) -> str:
        return next(m["content"] for m in self.messages if m["role"] == "user")

    @property
    def sentence_ids(self) -> list[str]:
        return [m.group(1) for m in _LINE.finditer(self.user_text)]


Script = Callable[[int, dict[str, Any]], Reply]


def completion(
    content: str | None,
    finish_reason: str = "stop",
    refusal: str | None = None,
    prompt_tokens: int = 100,
    completion_tokens: int = 20,
) -> dict[str, Any]:
    """A chat completion body with one choice."""
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "scripted",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    """An OpenAI-style error response."""
    body = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    return Reply(status=status, body=body, headers=headers or {})


def request_schema(request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The schema name and schema a request asks for, from `response_format` or the prompt."""
    fmt = request.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return fmt["json_schema"]["name"], fmt["json_schema"]["schema"]
    system = request["messages"][0]["content"]
    match = _SCHEMA_IN_PROMPT.search(system)
    schema = json.loads(match.group(1)) if match else {}
    name = "merged_points" if "points" in schema.get("properties", {}) else "brief_sections"
    return name, schema


def grounded_answer(request: dict[str, Any]) -> dict[str, Any]:
    """A valid answer to `request`: real people and points taken from the sentences it carries."""
    name, schema = request_schema(request)
    user = next(m["content"] for m in request["messages"] if m["role"] == "user")
    if name == "source_differences":
        return {"differences": differing_pairs(user)}
    if name == "merged_points":
        ids = [m.group(1) for m in _CANDIDATE.finditer(user)]
        texts = {m.group(1): m.group(2) for m in _CANDIDATE.finditer(user)}
        pairs = [ids[i : i + 2] for i in range(0, len(ids), 2)][:2]
        return {"points": [{"text": texts[pair[0]], "merges": pair} for pair in pairs]}
    lines = [(m.group(1), m.group(2)) for m in _LINE.finditer(user)]
    answer: dict[str, Any] = {}
    point_keys = []
    for key, spec in schema.get("properties", {}).items():
        if spec.get("items", {}).get("$ref", "").endswith("/person"):
            people: list[dict[str, Any]] = []
            for ref, text in lines:
                for found in _NAME.findall(text):
                    if len(people) < 2 and all(p["name"] != found for p in people):
                        people.append({"name": found, "role": "", "citations": [ref]})
            answer[key] = people
        else:
            point_keys.append(key)
            answer[key] = []
    for i, (ref, text) in enumerate(lines[: 2 * len(point_keys)]):
        words = text.split()[:12]
        answer[point_keys[i % len(point_keys)]].append({"text": " ".join(words), "citations": [ref]})
    return answer


def differing_pairs(user: str) -> list[dict[str, Any]]:
    """What a careful model says of the pairs shown: the ones whose numbers differ, citing both sides."""
    texts = {m.group(1): m.group(2) for m in _LINE.finditer(user)}
    found = []
    for ref_a, ref_b in _PAIR.findall(user):
        numbers_a, numbers_b = set(re.findall(r"\d+", texts[ref_a])), set(re.findall(r"\d+", texts[ref_b]))
        if numbers_a and numbers_b and numbers_a != numbers_b:
            what = f"{'/'.join(sorted(numbers_a))} in {ref_a.split(':')[0]}, {'/'.join(sorted(numbers_b))} in {ref_b.split(':')[0]}"
            found.append({"text": f"The figures differ: {what}", "citations": [ref_a, ref_b]})
    return found


def distort(text: str, negate: bool = True, renumber: bool = True) -> str:
    """A sentence made to say something else: "not" after its first auxiliary verb (or "It is not
    true that" before it), and every number changed by appending a 7 ("2" → "27", "Feb. 17" → "Feb. 177")."""
    if renumber:
        text = re.sub(r"\d+", lambda m: m.group(0) + "7", text)
    if negate:
        negated = re.sub(r"\b(is|are|was|were|will|would|has|have|had|can|could)\b", r"\1 not", text, count=1)
        text = negated if negated != text else f"It is not true that {text[0].lower()}{text[1:]}"
    return text


def distorting(negate: bool = True, renumber: bool = True) -> Script:
    """A script whose points each quote their cited sentence whole, distorted by `distort`."""

    def script(n: int, request: dict[str, Any]) -> Reply:
        answer = grounded_answer(request)
        user = next(m["content"] for m in request["messages"] if m["role"] == "user")
        texts = {m.group(1): m.group(2) for m in _LINE.finditer(user)}
        for items in answer.values():
            for item in items:
                if "text" in item and item.get("citations", [None])[0] in texts:
                    item["text"] = distort(texts[item["citations"][0]], negate, renumber)
        return Reply(body=completion(json.dumps(answer)))

    return script


def grounded_reply(n: int, request: dict[str, Any]) -> Reply:
    """The default script: a valid, grounded answer to every request."""
    return Reply(body=completion(json.dumps(grounded_answer(request))))


def forward_to(base_url: str, answers: list[dict[str, Any]] | None = None) -> Script:
    """A script that passes each request on to another server (to count calls to a real one);
    the answers it gets back are appended to `answers` (a streamed answer as the completion its
    events add up to, with the usage of its last event). A streamed answer is passed on event
    by event as it arrives, so the client's idle timeout sees the real server's pace."""

    def forward(n: int, request: dict[str, Any]) -> Reply:
        post = urllib.request.Request(
            f"{base_url.rstrip('/')}/chat/completions",
            data=json.dumps(request).encode("utf-8"),
            headers={"Content-Type": "application/json"},
        )
        try:
            response = urllib.request.urlopen(post, timeout=600)
        except urllib.error.HTTPError as exc:
            return Reply(status=exc.code, body=exc.read().decode("utf-8", "replace"))
        if response.headers.get_content_type() != "text/event-stream":
            with response:
                body = json.loads(response.read())
            if answers is not None:
                answers.append(body)
            return Reply(body=body)
        return Reply(events=_relay(response, answers))

    return forward


Page = Callable[[BaseHTTPRequestHandler, threading.Event], None]
"""Writes the whole raw response to a GET of its path; the event is set when the server stops."""


def text_page(body: bytes, content_type: str = "text/plain; charset=utf-8") -> Page:
    """A plain page: `body` as it is."""

    def page(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return page


def gzip_bomb_page(inflated_bytes: int) -> Page:
    """A text page of `inflated_bytes` spaces sent gzip-compressed (about a thousandth of that on the wire)."""
    import gzip

    packed = gzip.compress(b"A" + b" " * (inflated_bytes - 1), compresslevel=9)

    def page(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain; charset=utf-8")
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(packed)))
        handler.end_headers()
        handler.wfile.write(packed)

    return page


def dripping_headers_page(interval: float = 0.5) -> Page:
    """A status line, then one more header line every `interval` seconds, never ending the headers."""

    def page(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        try:
            handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
            handler.wfile.flush()
            n = 0
            while not stop.wait(interval):
                handler.wfile.write(f"X-Drip-{n}: {n}\r\n".encode())
                handler.wfile.flush()
                n += 1
        except (BrokenPipeError, ConnectionResetError):
            pass
        handler.close_connection = True

    return page


def _relay(response: Any, answers: list[dict[str, Any]] | None) -> Iterator[Any]:
    """The events of a streamed answer as they arrive; the answer is recorded once it is complete."""
    events: list[Any] = []
    with response:
        for raw in response:
            line = raw.decode("utf-8").rstrip("\r\n")
            if not line.startswith("data: "):
                continue
            data = line[6:]
            event = data if data.startswith("[DONE]") else json.loads(data)
            events.append(event)
            yield event
    if answers is not None:
        answers.append(collect_stream(events))


def collect_stream(events: list[Any]) -> dict[str, Any]:
    """The completion that the events of a streamed answer add up to: content, finish reason, usage."""
    chunks = [e for e in events if isinstance(e, dict)]
    deltas = [c["choices"][0] for c in chunks if c.get("choices")]
    content = "".join(d["delta"].get("content") or "" for d in deltas)
    finish = next((d["finish_reason"] for d in reversed(deltas) if d.get("finish_reason")), None)
    usage = next((c["usage"] for c in reversed(chunks) if c.get("usage")), None)
    return {
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}
        ],
        "usage": usage,
    }


class ScriptedServer:
    """The server; use as a context manager. `url` is the base URL to give as `--base-url`.

    `pages` serves GETs of their paths (`page_url(path)`), for sources fetched by URL.
    `streaming`: "yes" streams when asked, "refuse" answers a streamed request with a 400,
    "ignore" sends a whole answer anyway.
    """

    def __init__(
        self,
        script: Script = grounded_reply,
        latency: float = 0.0,
        pages: dict[str, Page] | None = None,
        streaming: str = "yes",
    ) -> None:
        assert streaming in ("yes", "refuse", "ignore")
        self.script = script
        self.latency = latency
        self.pages = pages or {}
        self.streaming = streaming
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def page_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def max_in_flight(self) -> int:
        """The most requests the server was answering at the same moment."""
        events = []
        for r in self.requests:
            events += [(r.start, 1), (r.end if r.end is not None else float("inf"), -1)]
        running = peak = 0
        for _, step in sorted(events, key=lambda e: (e[0], e[1])):
            running += step
            peak = max(peak, running)
        return peak

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = -1  # headers and body leave in one write: no Nagle/delayed-ACK stall per request

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def handle(self) -> None:
                try:
                    super().handle()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client went away (a timeout, Ctrl-C): nothing to tell it

            def finish(self) -> None:
                try:
                    super().finish()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.endswith("/chat/completions"):
                    self._send(error(404, f"no route {self.path}"))
                    return
                with server._lock:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    received = Received(len(server.requests), body, headers, time.monotonic())
                    server.requests.append(received)
                wants_stream = body.get("stream") is True
                if wants_stream and server.streaming == "refuse":
                    reply = error(400, "stream: streaming is not supported by this server")
                else:
                    reply = server.script(received.n, body)
                server._stop.wait(reply.delay + server.latency)
                try:
                    if wants_stream and server.streaming == "yes" and _streamable(reply):
                        received.streamed = True
                        self._send_stream(reply, body, received)
                    else:
                        self._send(reply, received)
                except (BrokenPipeError, ConnectionResetError):
                    received.cut_off = time.monotonic()
                if received.end is None:
                    received.end = time.monotonic()

            def do_GET(self) -> None:
                if self.path in server.pages:
                    server.pages[self.path](self, server._stop)
                    return
                self._send(error(404, f"no route {self.path}"))

            def _send(self, reply: Reply, received: Received | None = None) -> None:
                raw = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                data = raw.encode("utf-8")
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                _answered(received)
                self.wfile.write(data)

            def _send_stream(self, reply: Reply, request: dict[str, Any], received: Received) -> None:
                self.send_response(reply.status)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.flush()
                if reply.events is not None:
                    events: Iterable[Any] = reply.events
                    pause = 0.0
                else:
                    events = stream_events(reply.body, reply.pieces, request)
                    pause = reply.spread / max(1, len(events) - 1)
                for i, event in enumerate(events):
                    if i and pause:
                        server._stop.wait(pause)
                    data = f"data: {event if isinstance(event, str) else json.dumps(event)}\n\n".encode()
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
                _answered(received)
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        return Handler


def _answered(received: Received | None) -> None:
    """Stamp the end of an answer just before its last bytes go out: once they have, the client
    (a thread of this same process) may send its next request before this thread runs again, and
    a later stamp would show two requests answered at once where there was one."""
    if received is not None:
        received.end = time.monotonic()


def _streamable(reply: Reply) -> bool:
    """A successful chat completion (errors and raw text go out as they are, like a real server's)."""
    if reply.events is not None:
        return True
    return reply.status == 200 and isinstance(reply.body, dict) and "choices" in reply.body


def stream_events(body: dict[str, Any], pieces: int, request: dict[str, Any]) -> list[Any]:
    """`body`, a chat completion, as the events of a streamed answer: content in `pieces`, then the
    finish reason, then the usage if the request asked for it, then `[DONE]`."""
    choice = body["choices"][0]
    message = choice["message"]
    head = {key: body[key] for key in ("id", "created", "model")} | {"object": "chat.completion.chunk"}

    def event(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return head | {"choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}

    events: list[Any] = [event({"role": "assistant", "content": ""})]
    content = message.get("content") or ""
    if content:
        size = -(-len(content) // max(1, pieces))
        events += [event({"content": content[i : i + size]}) for i in range(0, len(content), size)]
    if message.get("refusal"):
        events.append(event({"refusal": message["refusal"]}))
    events.append(event({}, choice["finish_reason"]))
    if (request.get("stream_options") or {}).get("include_usage") and body.get("usage"):
        events.append(head | {"choices": [], "usage": body["usage"]})
    events.append("[DONE]")
    return events


# ---------------------------------------------------------------- hostile answers: one mode per case


def _points_rewritten(request: dict[str, Any], rewrite: Callable[[str], str]) -> dict[str, Any]:
    """The grounded answer with the text of every point passed through `rewrite`."""
    answer = grounded_answer(request)
    for items in answer.values():
        for item in items:
            if "text" in item:
                item["text"] = rewrite(item["text"])
    return answer


def lone_surrogates(n: int, request: dict[str, Any]) -> Reply:
    """Points carrying half an emoji (a lone UTF-16 surrogate, as `\\ud83d` in the JSON)."""
    answer = _points_rewritten(request, lambda text: f"{text} \ud83d")
    return Reply(body=completion(json.dumps(answer, ensure_ascii=False)))


def terminal_escapes(n: int, request: dict[str, Any]) -> Reply:
    """Points carrying a colour code, an OSC 8 hyperlink, a bell and a bidi override."""
    hostile = "\x1b[31mRED\x1b[0m \x1b]8;;http://evil.example/\x07link\x1b]8;;\x07 \x07\u202e"
    answer = _points_rewritten(request, lambda text: f"{text} {hostile}")
    return Reply(body=completion(json.dumps(answer)))


def deeply_nested(depth: int = 200_000) -> Script:
    """The first answer is a JSON array nested `depth` levels deep; later answers are grounded."""

    def script(n: int, request: dict[str, Any]) -> Reply:
        if n == 0:
            return Reply(body=completion("[" * depth + "]" * depth))
        return grounded_reply(n, request)

    return script


def oversized_item(chars: int = 2_000_000) -> Script:
    """The first answer has a point of `chars` characters (the schema allows 300); later ones are grounded."""

    def script(n: int, request: dict[str, Any]) -> Reply:
        if n == 0:
            answer = _points_rewritten(request, lambda text: text + " more" * (chars // 5))
            return Reply(body=completion(json.dumps(answer)))
        return grounded_reply(n, request)

    return script


def empty_merges(n: int, request: dict[str, Any]) -> Reply:
    """Grounded extraction answers; every reduce (merge) answer is `{"points": []}`."""
    if request_schema(request)[0] == "merged_points":
        return Reply(body=completion(json.dumps({"points": []})))
    return grounded_reply(n, request)


def rejecting(n: int, request: dict[str, Any]) -> Reply:
    """A server that rejects every request (HTTP 400, not about the response format)."""
    return error(400, "this server accepts no requests")


def echoing_authorization(requests: list[Received]) -> Script:
    """A server that rejects every request with a 400 quoting its Authorization header back.
    Give it the server's `requests` list (the script reads the headers of the request it answers)."""

    def script(n: int, request: dict[str, Any]) -> Reply:
        return error(400, f"bad header: Authorization: {requests[n].headers.get('authorization', '')}")

    return script


def repeating_key(requests: list[Received]) -> Script:
    """Grounded answers whose points repeat the bearer token the request came with."""

    def script(n: int, request: dict[str, Any]) -> Reply:
        token = requests[n].headers.get("authorization", "").removeprefix("Bearer ")
        answer = _points_rewritten(request, lambda text: f"{text} (key {token})")
        return Reply(body=completion(json.dumps(answer)))

    return script


def repeated_across_sections(n: int, request: dict[str, Any]) -> Reply:
    """Grounded answers where every point section also lists, after its own points, the points of
    every other point section (as the openai engine's models do)."""
    answer = grounded_answer(request)
    own = {key: list(items) for key, items in answer.items() if items and "text" in items[0]}
    for key in own:
        answer[key] = own[key] + [item for other, items in own.items() if other != key for item in items]
    return Reply(body=completion(json.dumps(answer)))


def malformed_merges(n: int, request: dict[str, Any]) -> Reply:
    """Grounded extraction answers; every reduce (merge) answer is not JSON, however often asked."""
    if request_schema(request)[0] == "merged_points":
        return Reply(body=completion('{"points": [{"text": "unfinished'))
    return grounded_reply(n, request)
