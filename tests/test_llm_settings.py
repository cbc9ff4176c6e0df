"""Settings (flags > environment > config file > defaults), engine choice, and --dry-run."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
import pytest

from briefer.config import ConfigFile, Settings, config_path, load_config, resolve_settings
from briefer.errors import ConfigError, UsageError
from briefer.llm.budget import differences_budget, sections_budget
from briefer.llm.prices import price_of
from briefer.templates import load_template
from tests.conftest import SEED, run_brief
from tests.scripted_server import ScriptedServer


def test_flags_beat_environment_beats_config_beats_defaults() -> None:
    config = ConfigFile(
        model="from-config", timeout=30, concurrency=2, max_tokens=500, base_url="http://c/v1"
    )
    env = {"BRIEF_MODEL": "from-env", "OPENAI_BASE_URL": "http://e/v1"}
    assert resolve_settings(env={}, config=ConfigFile()).model == "gpt-4o-mini"
    assert resolve_settings(env={}, config=config).model == "from-config"
    assert resolve_settings(env=env, config=config).model == "from-env"
    assert resolve_settings(model="from-flag", env=env, config=config).model == "from-flag"
    assert resolve_settings(env=env, config=config).base_url == "http://e/v1"
    assert resolve_settings(base_url="http://f/v1", env=env, config=config).base_url == "http://f/v1"
    chosen = resolve_settings(timeout=5, concurrency=8, env=env, config=config)
    assert (chosen.timeout, chosen.concurrency, chosen.max_tokens) == (5, 8, 500)
    assert resolve_settings(env=env, config=ConfigFile(deadline=600)).deadline == 600
    assert resolve_settings(deadline=60, env=env, config=ConfigFile(deadline=600)).deadline == 60
    defaults = resolve_settings(env={"OPENAI_API_KEY": "k"}, config=ConfigFile())
    # No overall deadline, and no flat output limit: each call's own budget (briefer.llm.budget).
    assert (
        defaults.timeout,
        defaults.deadline,
        defaults.concurrency,
        defaults.max_tokens,
        defaults.cache,
    ) == (
        120,
        None,
        4,
        None,
        True,
    )
    assert not resolve_settings(no_cache=True, env={"OPENAI_API_KEY": "k"}, config=ConfigFile()).cache


def test_the_engine_is_openai_when_a_key_or_server_is_known() -> None:
    nothing = ConfigFile()
    assert resolve_settings(env={}, config=nothing).engine == "extractive"
    assert resolve_settings(env={"OPENAI_API_KEY": "k"}, config=nothing).engine == "openai"
    assert resolve_settings(env={"OPENAI_BASE_URL": "http://x/v1"}, config=nothing).engine == "openai"
    assert resolve_settings(base_url="http://x/v1", env={}, config=nothing).engine == "openai"
    assert resolve_settings(env={}, config=ConfigFile(base_url="http://x/v1")).engine == "openai"
    assert (
        resolve_settings(engine="extractive", env={"OPENAI_API_KEY": "k"}, config=nothing).engine
        == "extractive"
    )
    assert (
        resolve_settings(env={"OPENAI_API_KEY": "k"}, config=ConfigFile(engine="extractive")).engine
        == "extractive"
    )


def test_a_server_without_a_key_gets_a_placeholder_and_keys_stay_out_of_repr() -> None:
    local = resolve_settings(base_url="http://localhost:8080/v1", env={}, config=ConfigFile())
    assert local.api_key == "not-needed"
    keyed = resolve_settings(env={"OPENAI_API_KEY": "sk-secret-123"}, config=ConfigFile())
    assert keyed.api_key == "sk-secret-123"
    assert "sk-secret-123" not in repr(keyed) and "sk-secret-123" not in str(keyed)


def test_openai_without_key_or_server_says_what_to_do() -> None:
    with pytest.raises(UsageError, match="no key found: set OPENAI_API_KEY, give --base-url"):
        resolve_settings(engine="openai", env={}, config=ConfigFile())
    result = run_brief(str(SEED), "--engine", "openai", "--dry-run")  # costs can be estimated without a key
    assert result.returncode == 0 and "Estimated cost: $" in result.stdout
    result = run_brief(str(SEED), "--engine", "openai")
    assert result.returncode == 2
    assert result.stderr == (
        "brief: error: no key found: set OPENAI_API_KEY, give --base-url for an OpenAI-compatible "
        "server, or pass --engine extractive\n"
    )


def test_local_needs_a_model_file(tmp_path: Path) -> None:
    result = run_brief(str(SEED), "--engine", "local")
    assert (result.returncode, result.stderr) == (
        2,
        "brief: error: --engine local needs --model path/to/model.gguf\n",
    )
    missing = tmp_path / "nope.gguf"
    result = run_brief(str(SEED), "--engine", "local", "--model", str(missing))
    assert result.returncode == 2
    assert result.stderr == f"brief: error: {missing}: no such model file (give --model path/to/model.gguf)\n"


def test_the_config_file_lives_in_the_user_config_folder_and_is_checked(tmp_path: Path) -> None:
    assert config_path() == Path(platformdirs.user_config_dir("briefer")) / "config.toml"
    assert str(config_path()).startswith(os.environ["XDG_CONFIG_HOME"])
    bad = tmp_path / "config.toml"
    bad.write_text('modle = "gpt-4o"\ntimeout = -1\napi_key = "sk-should-not-echo"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    message = str(caught.value)
    assert message.startswith(f"config {bad}: ")
    assert "field modle: unknown field (check its spelling)" in message
    assert "field timeout: Input should be greater than 0" in message
    assert "field api_key: unknown field" in message
    assert "sk-should-not-echo" not in message
    bad.write_text("model = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    assert load_config(tmp_path / "absent.toml") == ConfigFile()


def test_config_file_settings_reach_the_cli() -> None:
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text('model = "gpt-4.1-mini"\nmax_tokens = 1000\n')
    env = {"OPENAI_API_KEY": "sk-test"}
    result = run_brief(str(SEED), "--dry-run", env=env)
    assert result.returncode == 0, result.stderr
    assert "Engine: openai, model gpt-4.1-mini, server https://api.openai.com/v1 (OpenAI)" in result.stdout
    assert "at most 1,000 output tokens each" in result.stdout
    result = run_brief(str(SEED), "--dry-run", env={**env, "BRIEF_MODEL": "gpt-4o"})
    assert "model gpt-4o," in result.stdout
    result = run_brief(str(SEED), "--dry-run", "--model", "gpt-5-nano", env={**env, "BRIEF_MODEL": "gpt-4o"})
    assert "model gpt-5-nano," in result.stdout
    config_path().write_text("concurrency = 0\n")
    result = run_brief(str(SEED), "--dry-run", env=env)
    assert result.returncode == 2
    assert "field concurrency: Input should be greater than or equal to 1" in result.stderr


def test_dry_run_shows_calls_and_cost_and_sends_nothing(tmp_path: Path) -> None:
    result = run_brief(str(SEED), "--dry-run", env={"OPENAI_API_KEY": "sk-test"})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Dry run: nothing is sent to any model.\n")
    assert f"S1  us russia riyadh talks  ({SEED}; 4,517 characters, 28 sentences)" in out
    assert "Calls (1 chunk packed into 1 call):" in out
    assert "  1  S1:1-28  871 tokens of text" in out
    assert "Would send 1 of 1 call:" in out
    budget = sections_budget(load_template("policy"))  # the one call's output limit
    assert f"at most {budget:,} output tokens each" in out
    # The seed is machine-paraphrased: its prompt also names its spun phrases (about 450 tokens).
    assert (
        f"Estimated cost: $0.0003 input + at most ${budget * 0.6 / 1e6:.4f} output "
        "(at $0.15 / $0.6 per million tokens)." in out
    )
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("Anna Berg met Jonas Dahl in Geneva on Monday. They discussed trade.\n")
    b.write_text("The talks ended without agreement. Both sides will meet again.\n")
    with ScriptedServer() as server:
        result = run_brief(str(a), str(b), "--base-url", server.url, "--model", "llama3", "--dry-run")
        assert "Calls (2 chunks packed into 1 call):" in result.stdout
        assert "  1  S1:1-2, S2:1-2  " in result.stdout
        assert "Estimated cost: unknown (no price for this model or server)." in result.stdout
        assert server.requests == []
        assert run_brief(str(a), str(b), "--base-url", server.url, "--model", "llama3").returncode == 0
        assert len(server.requests) == 1
        result = run_brief(str(a), str(b), "--base-url", server.url, "--model", "llama3", "--dry-run")
        assert "(answered from the cache)" in result.stdout
        assert "Would send 0 of 1 call:" in result.stdout
        assert len(server.requests) == 1


def test_dry_run_counts_the_call_about_where_sources_differ(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("Police said the explosion on the Piccadilly line killed 26 people on Thursday.\n")
    b.write_text("Police said the explosion on the Piccadilly line killed 27 people on Thursday.\n")
    args = (str(a), str(b), "--model", "llama3")
    with ScriptedServer() as server:
        result = run_brief(*args, "--base-url", server.url, "--dry-run")
        out = result.stdout
        assert "Calls (2 chunks packed into 1 call, and one asking where sources differ):" in out
        assert "  2  where sources differ: 1 pair of sentences  " in out
        assert "Would send 2 of 2 calls:" in out
        # Each call has its own output limit: the sections of the template, or the differences.
        assert (
            f"at most {differences_budget():,} to {sections_budget(load_template('policy')):,} output" in out
        )
        assert server.requests == []
        assert run_brief(*args, "--base-url", server.url).returncode == 0
        assert len(server.requests) == 2  # as planned
        result = run_brief(*args, "--base-url", server.url, "--dry-run")
        assert result.stdout.count("(answered from the cache)") == 2
        assert "Would send 0 of 2 calls:" in result.stdout


def test_extractive_dry_run_says_it_calls_nothing() -> None:
    result = run_brief(str(SEED), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "1 chunk; the extractive engine runs offline: no model calls." in result.stdout


def test_prices_of_snapshots_follow_their_base_model() -> None:
    assert price_of("gpt-4o-mini") == (0.15, 0.60)
    assert price_of("gpt-4o-mini-2024-07-18") == (0.15, 0.60)
    assert price_of("gpt-4o-2024-08-06") == (2.50, 10.00)
    assert price_of("llama3.2") is None
    assert Settings().engine == "extractive"
