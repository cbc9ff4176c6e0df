"""What a batch's output folder remembers: which job made which outputs from what, and who runs there.

`DIR/index.jsonl` holds one line per job: id, status (ok / failed / skipped), error,
seconds, llm_calls, tokens, and `hash`, the SHA-256 of the job's inputs (the bytes
of every source file), its template and the settings that change a brief. A job
whose outputs exist and whose hash matches is skipped on a rerun. While a batch
runs, a line is appended as each job ends (so a killed run keeps its record); at
the end the file is rewritten with one line per job. `DIR/.brief-batch.lock` is
held (flock) by the run writing there.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from briefer.errors import UsageError
from briefer.output import write_output

INDEX = "index.jsonl"
LOCK = ".brief-batch.lock"
_CHUNK = 1 << 20


@dataclass
class JobRecord:
    """A job's line in the index."""

    id: str
    status: str
    error: str | None = None
    seconds: float = 0.0
    llm_calls: int = 0
    tokens: int = 0
    hash: str | None = None

    def line(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False) + "\n"


def job_hash(sources: Iterable[str], settings: Mapping[str, Any]) -> str:
    """SHA-256 of the job's sources (file bytes; folders file by file; URLs as written) and `settings`."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for source in sources:
        digest.update(b"\0source\0" + source.encode("utf-8", "surrogateescape"))
        path = Path(source)
        if source.startswith(("http://", "https://")):
            continue
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            for file in files:
                digest.update(b"\0file\0" + str(file.relative_to(path)).encode("utf-8", "surrogateescape"))
                _add_file(digest, file)
        elif path.is_file():
            _add_file(digest, path)
        else:
            digest.update(b"\0missing")
    return digest.hexdigest()


def input_bytes(sources: Iterable[str]) -> int:
    """Bytes of a job's source files (folders file by file; URLs and missing files count nothing)."""
    size = 0
    for source in sources:
        if source.startswith(("http://", "https://")):
            continue
        path = Path(source)
        try:
            files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
            size += sum(file.stat().st_size for file in files)
        except OSError:
            continue
    return size


def _add_file(digest: Any, path: Path) -> None:
    try:
        with path.open("rb") as handle:
            while block := handle.read(_CHUNK):
                digest.update(block)
    except OSError:
        digest.update(b"\0unreadable")


def read_index(folder: Path) -> dict[str, JobRecord]:
    """The last record of each job in `folder`'s index; lines that do not parse are ignored."""
    records: dict[str, JobRecord] = {}
    try:
        text = (folder / INDEX).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return records
    for line in text.splitlines():
        try:
            data = json.loads(line)
            record = JobRecord(**{k: data.get(k) for k in JobRecord.__dataclass_fields__})
        except (json.JSONDecodeError, TypeError, AttributeError):
            continue  # a line cut short by a killed run
        if isinstance(record.id, str) and isinstance(record.status, str):
            records[record.id] = record
    return records


class Index:
    """The index of a running batch: earlier records, appended to as jobs end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.records = read_index(folder)
        self._log: IO[str] | None = None

    def add(self, record: JobRecord) -> None:
        """Record `record` now, durably (appended and flushed to disk)."""
        self.records[record.id] = record
        if self._log is None:
            self._log = (self.folder / INDEX).open("a", encoding="utf-8")
        self._log.write(record.line())
        self._log.flush()
        os.fsync(self._log.fileno())

    def rewrite(self, order: Iterable[str]) -> None:
        """Rewrite the index with one line per job, in `order` (jobs with no record are left out)."""
        if self._log is not None:
            self._log.close()
            self._log = None
        lines = [self.records[i].line() for i in order if i in self.records]
        write_output(self.folder / INDEX, "".join(lines))


class FolderLock:
    """An exclusive lock on an output folder, refused at once (exit 2) when another batch holds it."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK
        self._handle: IO[str] | None = None

    def __enter__(self) -> FolderLock:
        import fcntl

        try:
            handle = self.path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write in {self.path.parent}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise UsageError(
                f"{self.path.parent} is in use by another brief batch (pid {holder}): "
                "wait for it to finish, or give another --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()  # closing releases the lock
            self._handle = None
