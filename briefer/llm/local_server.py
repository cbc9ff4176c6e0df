"""llama.cpp inside this process (xllamacpp), serving the OpenAI API on 127.0.0.1 for the run.

`LocalServer` is a context manager: the server starts on a free port when
entered and stops when left, also on an error or Ctrl-C.

xllamacpp stops its server when the `Server` object is deleted: it tells the
server's main loop to end and waits for it. That loop starts only after the
constructor has returned, and an end asked for before it starts is lost, so the
wait never ends. A Ctrl-C while the model loads did just that (the new object
was dropped as the constructor returned, and the run hung in `~Server`). So a
helper thread makes the server and holds it until the loop has answered a
request (`GET /slots` is answered by the loop); only then is it handed out.
When the start is interrupted, the thread keeps the server and stops it once
its loop runs, so Ctrl-C is not held up by the model load.
"""

from __future__ import annotations

import gc
import os
import socket
import stat
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from briefer.errors import ModelError, UsageError

_START_TIMEOUT = 120.0
_STEP_TOKENS = 256
"""Prompt tokens llama.cpp reads in one step (its default: 2048). Its main loop sees a stop only
between steps, and `stop` waits for it holding the GIL: with 2048-token steps a Ctrl-C waited
27-34 s on a loaded machine, with 256 1-5 s."""
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
        params.endpoint_slots = True  # how the start checks that the main loop runs
        params.n_batch = params.n_ubatch = _STEP_TOKENS
        starter = _Starter(lambda: xllamacpp.Server(params), self.model_path)
        try:
            starter.start()
            self._server, address = starter.take()
        except BaseException:
            starter.abandon()
            raise
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


class _Starter(threading.Thread):
    """Makes a server in this thread and holds it until its main loop runs; then hands it to
    `take`, or, when the start was abandoned (Ctrl-C, an error), stops it."""

    def __init__(self, make: Callable[[], Any], model_path: Path) -> None:
        super().__init__(name="llama.cpp start", daemon=True)
        self._make = make
        self._model_path = model_path
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._server: Any = None
        self._address = ""
        self._error: BaseException | None = None
        self._abandoned = False

    def run(self) -> None:
        try:
            server = self._make()
        except Exception as exc:  # xllamacpp raises plain RuntimeErrors
            self._error = ModelError(f"cannot start llama.cpp with {self._model_path}: {exc}")
            self._done.set()
            return
        address = str(server.listening_address).rstrip("/")
        if not _loop_runs(address, _START_TIMEOUT):
            self._error = ModelError(f"llama.cpp did not become ready within {_START_TIMEOUT:g} s")
            self._done.set()
            while not _loop_runs(address, _START_TIMEOUT):
                pass  # deleting it before its loop runs would hang this thread for good
            del server
            return
        with self._lock:
            if not self._abandoned:
                self._server, self._address, server = server, address, None
        self._done.set()
        del server  # abandoned: its loop runs, so this stops it

    def take(self) -> tuple[Any, str]:
        """The server, once its loop runs, and its address. Waits in short steps: Ctrl-C may reach
        one of llama.cpp's threads, which does not wake a wait of the main thread."""
        while not self._done.wait(0.1):
            pass
        if self._error is not None:
            raise self._error
        with self._lock:
            server, self._server = self._server, None
        return server, self._address

    def abandon(self) -> None:
        """Leave the server to this thread, which stops it once its loop runs."""
        with self._lock:
            self._abandoned = True
            server, self._server = self._server, None
        del server  # one already handed over runs its loop: it stops at once


def _loop_runs(address: str, patience: float) -> bool:
    """Whether the server's main loop answers `GET /slots` within `patience` seconds (llama.cpp
    answers it from the loop; `/health` is answered before the loop starts)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    ends = time.monotonic() + patience
    while True:
        try:
            with opener.open(f"{address}/slots", timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > ends:
            return False
        time.sleep(0.05)


def _import_xllamacpp() -> Any:
    try:
        import xllamacpp
    except ImportError:
        raise UsageError(
            "--engine local needs xllamacpp: pip install 'briefer[local]' (or pip install xllamacpp)"
        ) from None
    return xllamacpp
