"""The scripted server with OpenAI's files and batches endpoints, for `brief batch --batch-api`.

`BatchServer` answers chat requests as `ScriptedServer` does and also serves
`POST /v1/files` (multipart upload), `GET /v1/files/{id}/content`, `POST /v1/batches`
and `GET /v1/batches/{id}`. A batch answers each line of its input file with the
script, like a chat request, and ends after `polls` status checks (`polls` may also be a
function of the batch id, such as "batch-2"): `completed`, or
`expired` when `expire` is set, in which case the lines `fails(n)` picks (n from 0,
in file order) end in the error file with `batch_expired` instead of an answer.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.scripted_server import Reply, ScriptedServer, error, grounded_reply


class BatchServer(ScriptedServer):
    """A scripted chat server that also runs Batch API files."""

    def __init__(
        self,
        polls: int | Callable[[str], int] = 1,
        expire: bool = False,
        fails: Callable[[int], bool] = lambda n: False,
        answer: Callable[[int, dict[str, Any]], Reply] = grounded_reply,
    ) -> None:
        super().__init__()
        self.polls = polls
        self.expire = expire
        self.fails = fails
        self.answer = answer
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_lines: list[dict[str, Any]] = []
        """Every request line of every batch, as received."""
        self._checks: dict[str, int] = {}
        self._batch_lock = threading.Lock()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        chat = super()._handler()
        server = self

        class Handler(chat):  # type: ignore[valid-type,misc]
            def do_POST(self) -> None:
                if self.path.endswith("/files"):
                    self._send(server._upload(self))
                elif self.path.endswith("/batches"):
                    length = int(self.headers.get("Content-Length", 0))
                    self._send(server._create(json.loads(self.rfile.read(length))))
                else:
                    super().do_POST()

            def do_GET(self) -> None:
                parts = self.path.rstrip("/").split("/")
                if len(parts) >= 4 and parts[-3] == "files" and parts[-1] == "content":
                    data = server.files.get(parts[-2])
                    self._send(
                        Reply(body=data.decode("utf-8")) if data is not None else error(404, "no file")
                    )
                elif len(parts) >= 3 and parts[-2] == "batches":
                    self._send(server._status(parts[-1]))
                else:
                    super().do_GET()

        return Handler

    def _upload(self, handler: BaseHTTPRequestHandler) -> Reply:
        length = int(handler.headers.get("Content-Length", 0))
        raw = handler.rfile.read(length)
        head = f"Content-Type: {handler.headers['Content-Type']}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
        data = b""
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                data = part.get_payload(decode=True) or b""
        with self._batch_lock:
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = data
        return Reply(body=_file(file_id, len(data), "batch"))

    def _create(self, body: dict[str, Any]) -> Reply:
        lines = [json.loads(line) for line in self.files[body["input_file_id"]].decode().splitlines() if line]
        outputs, errors = [], []
        with self._batch_lock:
            batch_id = f"batch-{len(self.batches) + 1}"
            for line in lines:
                n = len(self.batch_lines)
                self.batch_lines.append(line)
                if self.expire and self.fails(n):
                    errors.append(
                        {"id": f"r{n}", "custom_id": line["custom_id"], "response": None,
                         "error": {"code": "batch_expired", "message": "This request expired."}}
                    )  # fmt: skip
                    continue
                reply = self.answer(n, line["body"])
                outputs.append(
                    {"id": f"r{n}", "custom_id": line["custom_id"], "error": None,
                     "response": {"status_code": reply.status, "request_id": f"q{n}", "body": reply.body}}
                )  # fmt: skip
            out_id, err_id = f"file-{batch_id}-out", f"file-{batch_id}-err"
            self.files[out_id] = "".join(json.dumps(o) + "\n" for o in outputs).encode()
            if errors:
                self.files[err_id] = "".join(json.dumps(e) + "\n" for e in errors).encode()
            self.batches[batch_id] = {
                "id": batch_id,
                "object": "batch",
                "endpoint": body["endpoint"],
                "input_file_id": body["input_file_id"],
                "completion_window": body["completion_window"],
                "created_at": int(time.time()),
                "status": "in_progress",
                "request_counts": {"total": len(lines), "completed": len(outputs), "failed": len(errors)},
                "_output": out_id,
                "_errors": err_id if errors else None,
            }
            self._checks[batch_id] = 0
        return Reply(body=self._public(batch_id))

    def _status(self, batch_id: str) -> Reply:
        with self._batch_lock:
            if batch_id not in self.batches:
                return error(404, f"no batch {batch_id}")
            self._checks[batch_id] += 1
            batch = self.batches[batch_id]
            needed = self.polls(batch_id) if callable(self.polls) else self.polls
            if self._checks[batch_id] >= needed:
                batch["status"] = "expired" if self.expire else "completed"
                batch["output_file_id"] = batch["_output"]
                batch["error_file_id"] = batch["_errors"]
            return Reply(body=self._public(batch_id))

    def _public(self, batch_id: str) -> dict[str, Any]:
        return {k: v for k, v in self.batches[batch_id].items() if not k.startswith("_")}


def _file(file_id: str, size: int, purpose: str) -> dict[str, Any]:
    return {
        "id": file_id,
        "object": "file",
        "bytes": size,
        "created_at": int(time.time()),
        "filename": f"{file_id}.jsonl",
        "purpose": purpose,
        "status": "processed",
    }
