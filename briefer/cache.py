"""A local cache of model answers: an identical request is answered without calling the model.

One SQLite file, `responses.sqlite3`, in `BRIEF_CACHE_DIR` or the user's cache
folder. The key is the SHA-256 of the canonical JSON of the request (model,
messages, schema and parameters), never of the key or the server address. A
cache that cannot be opened or read is reported once and rebuilt or skipped:
it never fails a run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger("briefer")

CACHE_FILE = "responses.sqlite3"
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
            self._rebuild(exc)

    def get(self, key: str) -> dict[str, Any] | None:
        """The answer stored for `key`, or None."""
        with self._lock:
            if self._db is None:
                return None
            try:
                row = self._db.execute("SELECT answer FROM answers WHERE key = ?", (key,)).fetchone()
                return json.loads(row[0]) if row else None
            except (sqlite3.DatabaseError, json.JSONDecodeError) as exc:
                self._disable(exc)
                return None

    def put(self, key: str, answer: dict[str, Any]) -> None:
        """Store `answer` under `key`, replacing any earlier one."""
        with self._lock:
            if self._db is None:
                return
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO answers (key, answer) VALUES (?, ?)",
                    (key, json.dumps(answer, ensure_ascii=False)),
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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
        try:
            db.execute(_SCHEMA)
            db.execute("SELECT count(*) FROM answers").fetchone()  # a corrupt file fails here
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _rebuild(self, problem: Exception) -> None:
        log.warning("cache %s is unusable (%s); starting a new one", self.path, problem)
        try:
            self.path.unlink(missing_ok=True)
            self._db = self._open()
        except (sqlite3.DatabaseError, OSError) as exc:
            log.warning("cache %s cannot be rebuilt (%s); running without a cache", self.path, exc)
            self._db = None

    def _disable(self, problem: Exception) -> None:
        log.warning("cache %s failed (%s); running without a cache", self.path, problem)
        if self._db is not None:
            self._db.close()
        self._db = None
