"""What OpenAI models cost, from the price table in `briefer/data/prices.toml`, for `--dry-run`."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def price_table() -> dict[str, tuple[float, float]]:
    text = resources.files("briefer").joinpath("data", "prices.toml").read_text(encoding="utf-8")
    models = tomllib.loads(text)["models"]
    return {name: (float(p["input"]), float(p["output"])) for name, p in models.items()}


def price_of(model: str) -> tuple[float, float] | None:
    """Input and output price per million tokens of `model` (or of its base name, for a dated snapshot)."""
    table = price_table()
    name = model.rsplit("/", 1)[-1]
    while name:
        if name in table:
            return table[name]
        if "-" not in name:
            return None
        name = name.rsplit("-", 1)[0]
    return None
