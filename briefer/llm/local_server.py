"""llama.cpp inside this process (xllamacpp), serving the OpenAI API on 127.0.0.1 for the run.

`LocalServer` is a context manager: the server starts on a free port when
entered and stops when left, also on an error or Ctrl-C. xllamacpp stops its
server when the `Server` object is deleted; we wait for `/health` before
handing it out, because a server deleted before its main loop runs never stops.
"""

from __future__ import annotations

import gc
import time
import urllib.error
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
        """Stop the server (deleting xllamacpp's `Server` stops it) and free the model."""
        server, self._server, self.url = self._server, None, None
        if server is not None:
            del server
            gc.collect()

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


def _import_xllamacpp() -> Any:
    try:
        import xllamacpp
    except ImportError:
        raise UsageError(
            "--engine local needs xllamacpp: pip install 'briefer[local]' (or pip install xllamacpp)"
        ) from None
    return xllamacpp
