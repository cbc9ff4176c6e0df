"""What a run is set to: the `Settings` every engine reads, and their defaults.

`briefer.config` works them out from flags, the environment and the config file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from briefer.sentences import default_jobs

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TIMEOUT = 120.0
DEFAULT_CONCURRENCY = 4
NO_KEY_PLACEHOLDER = "not-needed"
"""Sent as the key to a server given by base URL that needs none (the SDK insists on one)."""


@dataclass(frozen=True)
class Settings:
    """Everything an engine needs to know; `api_key` is kept out of `repr`."""

    engine: str = "extractive"
    model: str = DEFAULT_MODEL
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    """The longest wait for the first or next piece of an answer, in seconds."""
    deadline: float | None = None
    """The longest all of a run's model calls may take together, in seconds (None: no limit)."""
    concurrency: int = DEFAULT_CONCURRENCY
    max_tokens: int | None = None
    """The output limit of every call (None: each call's own, from what it asks for)."""
    cache: bool = True
    cache_dir: Path = field(default_factory=lambda: cache_dir())
    jobs: int = field(default_factory=default_jobs)
    """Worker processes that split a large input into sentences."""


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where cached model answers live: `BRIEF_CACHE_DIR`, else the user's cache folder."""
    env = os.environ if env is None else env
    return Path(env.get("BRIEF_CACHE_DIR") or platformdirs.user_cache_dir("briefer"))
