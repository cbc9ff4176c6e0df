"""Does a model's item say what its cited sentences say? A cheap, local check.

A point is supported when at least half of its content words (folded, stemmed
and cut to five letters, stop words left out) occur in the sentences it cites. A
person is supported when their surname occurs in a cited sentence and their
role, if any, passes the same test as a point. Unsupported items stay in the
brief, flagged, and are counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from briefer.people import fold

MIN_SHARED = 0.5
_STEM = 5
_SUFFIXES = ("ing", "ed", "es", "s")
_WORD = re.compile(r"\w+")
_STOP = frozenset(
    """a an and are as at be been being but by can could did do does for from had has have he her his
    i if in into is it its itself may might more most must no not of on or our she should so such than
    that the their them then there these they this those to under up was we were what when where which
    while who whom why will with would you your also about after again against all any because before
    both during each few further here how just only other over own same some very said says say""".split()
)


def content_stems(text: str) -> set[str]:
    """The content words of `text`, folded and stemmed ("talks", "talked", "talking" → "talk")."""
    return {_stem(w) for w in _WORD.findall(fold(text)) if w not in _STOP and (len(w) > 1 or w.isdigit())}


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:_STEM]


def point_supported(text: str, cited: Iterable[str]) -> bool:
    """Whether at least half of `text`'s content words occur in the cited sentences."""
    words = content_stems(text)
    if not words:
        return False
    found = set().union(*(content_stems(sentence) for sentence in cited))
    return len(words & found) / len(words) >= MIN_SHARED


def person_supported(name: str, role: str | None, cited: Iterable[str]) -> bool:
    """Whether the person's surname occurs in a cited sentence, and their role is supported too."""
    sentences = list(cited)
    words = _WORD.findall(fold(name))
    if not words:
        return False
    surname = words[-1]
    if not any(surname in _WORD.findall(fold(sentence)) for sentence in sentences):
        return False
    return not role or point_supported(role, sentences)
