"""An article spinner for tests and benchmarks: swaps words for synonyms briefer's lists do not know.

Held-out swaps come from the tortured-phrases list in ../shared/eval (MIT, see its SOURCE.md):
each pair of a spun phrase and its original that differ in one word of the same position gives
a word swap (original → spun). Swaps that `briefer/data/spinner_synonyms.txt` lists are left
out, so what the detector finds in a spun text it finds by its general rule, not by its table.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from briefer.paraphrase import lexicon

_QUOTED = re.compile(r'"([^"]+)"')
_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")


def held_out_swaps(tortured_csv: Path) -> dict[str, list[str]]:
    """original word → spun words, from the tortured-phrases list, without briefer's own swaps."""
    known = {(standard, spun) for pairs in lexicon().swaps.values() for spun, standard in pairs}
    swaps: dict[str, set[str]] = {}
    with tortured_csv.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            quoted = _QUOTED.findall(row["tortured_phrase"])
            if not quoted:
                continue
            spun = quoted[0].lower().split()
            original = re.sub(r"\(.*?\)", "", row["expected_phrase"]).lower().split()
            if len(spun) != len(original) or len(spun) < 2:
                continue
            for word, replacement in zip(original, spun, strict=True):
                if word != replacement and word.isalpha() and replacement.isalpha():
                    if ((word,), (replacement,)) not in known:
                        swaps.setdefault(word, set()).add(replacement)
    return {word: sorted(options) for word, options in sorted(swaps.items())}


@dataclass(frozen=True)
class Swap:
    """A word the spinner replaced: its offsets in the original text, the original and the spun word."""

    start: int
    end: int
    original: str
    spun: str


def spin(
    text: str, swaps: Mapping[str, Sequence[str]], rate: float = 0.7, seed: int = 0
) -> tuple[str, list[Swap]]:
    """`text` with each word that has a swap replaced at `rate` (a fixed random choice per `seed`),
    keeping its capital; and the swaps made."""
    chooser = random.Random(seed)
    done: list[Swap] = []
    out: list[str] = []
    at = 0
    for match in _WORD.finditer(text):
        word = match.group()
        options = swaps.get(word.lower())
        if not options or chooser.random() >= rate:
            continue
        replacement = chooser.choice(list(options))
        if word[0].isupper():
            replacement = replacement[0].upper() + replacement[1:]
        out += [text[at : match.start()], replacement]
        at = match.end()
        done.append(Swap(match.start(), match.end(), word, replacement))
    out.append(text[at:])
    return "".join(out), done
