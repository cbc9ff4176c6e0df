"""llama.cpp inside this process (xllamacpp), serving the OpenAI API on 127.0.0.1 for the run.

`LocalServer` is a context manager: the server starts on a free port when
entered and stops when left, also on an error or Ctrl-C. xllamacpp stops its
server when the `Server` object is deleted; we wait for `/health` before
handing it out, because a server deleted before its main loop runs never stops.
"""

from __future__ import annotations

import gc
import os
import socket
import stat
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from briefer.errors import ModelError, UsageError

_START_TIMEOUT = 120.0
_QUIET = 0  # llama.cpp log verbosity: errors only
SEED = 1


class LocalServer:
    """A llama.cpp server for the GGUF model at `model_path`, with `parallel` slots of `slot_tokens` each."""

    def __init__(self, model_path: Path, parallel: int, slot_tokens: int) -> None:
        self.model_path = model_path
        self.parallel = max(1, parallel)
        self.slot_tokens = slot_tokens
        self.url: str | None = None
        self._server: Any = None

    def start(self) -> str:
        """Start the server; returns its OpenAI base URL (`http://127.0.0.1:PORT/v1`)."""
        if self._server is not None and self.url is not None:
            return self.url
        xllamacpp = _import_xllamacpp()
        if not self.model_path.is_file():
            raise UsageError(f"{self.model_path}: no such model file (give --model path/to/model.gguf)")
        params = xllamacpp.CommonParams()
        params.model.path = str(self.model_path)
        params.hostnames = ["127.0.0.1"]
        params.port = 0  # a free port, chosen by the system
        params.n_parallel = self.parallel
        params.n_ctx = self.slot_tokens * self.parallel
        params.verbosity = _QUIET
        params.sampling.seed = SEED  # the same input gives the same brief
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:  # xllamacpp raises plain RuntimeErrors
            raise ModelError(f"cannot start llama.cpp with {self.model_path}: {exc}") from exc
        address = str(self._server.listening_address).rstrip("/")
        self._wait_healthy(address)
        self.url = f"{address}/v1"
        return self.url

    def stop(self) -> None:
        """Stop the server (deleting xllamacpp's `Server` stops it) and free the model.

        llama.cpp finishes the requests it serves before it stops, holding the GIL, and
        calls still in flight (an error elsewhere, Ctrl-C) could take minutes: they are
        cut first (`disconnect`), as llama.cpp drops a request whose client has gone.
        """
        self.disconnect()
        server, self._server, self.url = self._server, None, None
        if server is not None:
            del server
            gc.collect()

    def disconnect(self) -> int:
        """Cut this process's connections to the server, waking the threads that wait on them.

        Call it before the HTTP client is closed: closing a socket takes it out of
        the process's open files, while a thread reading it still keeps it open.
        """
        return cut_connections(urllib.parse.urlsplit(self.url).port) if self.url else 0

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _wait_healthy(self, address: str) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(f"{address}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise ModelError(f"llama.cpp did not become ready within {_START_TIMEOUT:g} s")
            time.sleep(0.1)


def cut_connections(port: int | None) -> int:
    """Shut down this process's TCP connections to 127.0.0.1:`port`; returns how many.

    A thread blocked reading a response wakes at once (closing the socket from another
    thread would not wake it, nor tell the server). Finds the sockets among the
    process's open files (`/dev/fd`); where that does not exist it cuts nothing.
    """
    if port is None or not os.path.isdir("/dev/fd"):
        return 0
    cut = 0
    for name in os.listdir("/dev/fd"):
        try:
            fd = int(name)
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            sock = socket.socket(fileno=fd)  # the same socket, not a copy: detached below
        except (ValueError, OSError):
            continue
        try:
            if sock.family == socket.AF_INET and sock.getpeername() == ("127.0.0.1", port):
                sock.shutdown(socket.SHUT_RDWR)
                cut += 1
        except OSError:
            pass  # not connected, or already closed
        finally:
            sock.detach()
    return cut


def _import_xllamacpp() -> Any:
    try:
        import xllamacpp
    except ImportError:
        raise UsageError(
            "--engine local needs xllamacpp: pip install 'briefer[local]' (or pip install xllamacpp)"
        ) from None
    return xllamacpp
