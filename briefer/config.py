"""Settings for a run: flags over environment over the config file over defaults.

The config file is `config.toml` in the user's config folder
(`platformdirs.user_config_dir("briefer")`), for example:

    engine = "openai"
    model = "gpt-4o-mini"
    base_url = "http://localhost:11434/v1"
    timeout = 120        # the longest silence from the server, in seconds
    deadline = 1800      # all model calls of a run together, in seconds (default: no limit)
    concurrency = 4
    max_tokens = 2048    # default: each call's own, from the template
    jobs = 2

The API key is read from `OPENAI_API_KEY` only, never from a file, and never shown.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from briefer.engines import engine_class
from briefer.errors import ConfigError, UsageError, describe_validation_error
from briefer.sentences import MAX_JOBS, default_jobs
from briefer.settings import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MODEL,
    DEFAULT_TIMEOUT,
    NO_KEY_PLACEHOLDER,
    Settings,
    cache_dir,
)

if TYPE_CHECKING:
    from briefer.engines.base import Engine

OFFLINE_ENGINE = "extractive"
"""The engine when no key or server is known."""
KEYED_ENGINE = "openai"
"""The engine when a key or a server address is known (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, `--base-url`)."""


class ConfigFile(BaseModel):
    """The fields `config.toml` may set; an unknown field is an error naming it."""

    model_config = ConfigDict(extra="forbid")

    engine: str | None = None
    model: str | None = Field(default=None, min_length=1)
    base_url: str | None = Field(default=None, min_length=1)
    timeout: float | None = Field(default=None, gt=0)
    deadline: float | None = Field(default=None, gt=0)
    concurrency: int | None = Field(default=None, ge=1, le=64)
    max_tokens: int | None = Field(default=None, ge=16)
    cache: bool | None = None
    jobs: int | None = Field(default=None, ge=1, le=MAX_JOBS)


def config_path() -> Path:
    """Where the config file lives."""
    return Path(platformdirs.user_config_dir("briefer")) / "config.toml"


def load_config(path: Path | None = None) -> ConfigFile:
    """The config file's settings; a missing file is no settings, a broken one is a `ConfigError`."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ConfigFile()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read ({exc})") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML ({exc})") from exc
    try:
        return ConfigFile.model_validate(data)
    except ValidationError as exc:
        # Name the field and the rule, never the value: it could be a secret pasted in the wrong place.
        raise ConfigError(str(path), describe_validation_error(exc, data)) from None


def get_engine(name: str, settings: Settings | None = None) -> Engine:
    """A new engine by name, configured by `settings` (default: from the environment and config
    file); an unknown name is a usage error listing the choices."""
    return engine_class(name).from_settings(settings or resolve_settings(engine=name))


def resolve_settings(
    *,
    engine: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    timeout: float | None = None,
    deadline: float | None = None,
    concurrency: int | None = None,
    max_tokens: int | None = None,
    no_cache: bool = False,
    jobs: int | None = None,
    need_key: bool = True,
    env: Mapping[str, str] | None = None,
    config: ConfigFile | None = None,
) -> Settings:
    """Settings from flags (the arguments; None when not given), then environment, config file, defaults.

    The engine, unless given, is `openai` when a key or a server address is known
    (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, `--base-url` or the config's `base_url`),
    else the config's `engine`, else `extractive`. With `need_key` False (a dry
    run) the openai engine may have neither.
    """
    env = os.environ if env is None else env
    config = load_config() if config is None else config
    key = env.get("OPENAI_API_KEY") or None
    url = base_url or env.get("OPENAI_BASE_URL") or config.base_url or None
    chosen = engine or config.engine or (KEYED_ENGINE if key or url else OFFLINE_ENGINE)
    kind = engine_class(chosen)
    chosen_model = model or env.get("BRIEF_MODEL") or config.model or DEFAULT_MODEL
    if kind.needs_key and not key and not url and need_key:
        raise UsageError(
            "no key found: set OPENAI_API_KEY, give --base-url for an OpenAI-compatible server, "
            f"or pass --engine {OFFLINE_ENGINE}"
        )
    if kind.takes_model_path:
        if not model and not env.get("BRIEF_MODEL") and not config.model:
            raise UsageError(f"--engine {chosen} needs --model path/to/model.gguf")
        url = None  # the engine serves its own endpoint
    if url and not key:
        key = NO_KEY_PLACEHOLDER
    return Settings(
        engine=chosen,
        model=chosen_model,
        base_url=url,
        api_key=key,
        timeout=timeout or config.timeout or DEFAULT_TIMEOUT,
        deadline=deadline or config.deadline,
        concurrency=concurrency or config.concurrency or DEFAULT_CONCURRENCY,
        max_tokens=max_tokens or config.max_tokens,
        cache=not no_cache and (config.cache if config.cache is not None else True),
        cache_dir=cache_dir(env),
        jobs=jobs or _env_jobs(env) or config.jobs or default_jobs(),
    )


def _env_jobs(env: Mapping[str, str]) -> int | None:
    """`BRIEF_JOBS`, when set."""
    value = env.get("BRIEF_JOBS", "").strip()
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_JOBS:
        raise UsageError(f"BRIEF_JOBS must be a whole number from 1 to {MAX_JOBS}, not {value!r}")
    return int(value)


__all__ = [
    "ConfigFile",
    "Settings",
    "cache_dir",
    "config_path",
    "get_engine",
    "load_config",
    "resolve_settings",
]
