"""A local cache of model answers: an identical request is answered without calling the model.

One SQLite file, `responses.sqlite3`, in `BRIEF_CACHE_DIR` or the user's cache
folder, readable by the user only (the folder 0700 when briefer makes it, the
file 0600): it holds text from the user's documents. The key is the SHA-256 of
the canonical JSON of the request (server address without credentials, model,
messages, schema and parameters), never of the API key.

The cache never fails a run. It is in WAL mode, so readers never wait for a
writer. A cache another process holds locked is waited for `BUSY_WAIT` seconds,
then this run goes on without it and says so; the file is left alone. Only a
file SQLite finds corrupt ("file is not a database", "malformed") is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger("briefer")

CACHE_FILE = "responses.sqlite3"
BUSY_WAIT = 2.0
"""Seconds to wait for a cache another process holds locked before running without it."""
_CORRUPT = ("not a database", "malformed", "corrupt")
_SCHEMA = "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, answer TEXT NOT NULL)"


def request_key(request: dict[str, Any]) -> str:
    """The cache key of a request: SHA-256 of its canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class AnswerCache:
    """Answers by request key, safe to share between threads."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / CACHE_FILE
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        try:
            self._db = self._open()
        except (sqlite3.DatabaseError, OSError) as exc:
            if _corrupt(exc):
                self._rebuild(exc)
            else:
                self._disable(exc)

    def get(self, key: str) -> dict[str, Any] | None:
        """The answer stored for `key`, or None."""
        with self._lock:
            if self._db is None:
                return None
            try:
                row = self._db.execute("SELECT answer FROM answers WHERE key = ?", (key,)).fetchone()
                return json.loads(row[0]) if row else None
            except (sqlite3.DatabaseError, json.JSONDecodeError) as exc:
                self._disable(exc)  # never deleted here: a busy or damaged file is left for later runs
                return None

    def put(self, key: str, answer: dict[str, Any]) -> None:
        """Store `answer` under `key`, replacing any earlier one."""
        with self._lock:
            if self._db is None:
                return
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO answers (key, answer) VALUES (?, ?)",
                    (key, json.dumps(answer)),  # ASCII: a stray surrogate cannot fail it
                )
                self._db.commit()
            except sqlite3.DatabaseError as exc:
                self._disable(exc)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _open(self) -> sqlite3.Connection:
        folder = self.path.parent
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o700)  # mkdir's mode is cut by the umask; the folder is ours, make sure
        # Created 0600 before SQLite opens it; an older file is narrowed too. SQLite gives its
        # -wal and -shm files the database file's mode.
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        if self.path.stat().st_mode & 0o077:
            self.path.chmod(0o600)
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=BUSY_WAIT)
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # a corrupt file fails here
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _rebuild(self, problem: Exception) -> None:
        log.warning("cache %s is unusable (%s); starting a new one", self.path, problem)
        try:
            for suffix in ("", "-wal", "-shm"):
                self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
            self._db = self._open()
        except (sqlite3.DatabaseError, OSError) as exc:
            log.warning("cache %s cannot be rebuilt (%s); running without a cache", self.path, exc)
            self._db = None

    def _disable(self, problem: Exception) -> None:
        if _busy(problem):
            log.warning(
                "cache %s is in use by another process (still locked after %g s); "
                "running this time without the cache",
                self.path,
                BUSY_WAIT,
            )
        else:
            log.warning("cache %s failed (%s); running without a cache", self.path, problem)
        if self._db is not None:
            self._db.close()
        self._db = None


def _busy(problem: Exception) -> bool:
    """Whether SQLite says another connection holds the file ("database is locked", "busy")."""
    return isinstance(problem, sqlite3.OperationalError) and any(
        word in str(problem).lower() for word in ("locked", "busy")
    )


def _corrupt(problem: Exception) -> bool:
    """Whether SQLite says the file is damaged or is not a database at all (never a busy file)."""
    return isinstance(problem, sqlite3.DatabaseError) and any(
        word in str(problem).lower() for word in _CORRUPT
    )
