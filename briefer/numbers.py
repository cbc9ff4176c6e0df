"""Numbers and dates in text: "fifty-two", "1,200", "$3 billion", "3bn", "12%", "Feb. 17", "17 February".

One place knows the word numbers, scales and month names. The offline
differences finder parses the values spaCy tagged (`parse_number`,
`parse_day`); the support check reads every value in free text
(`quantities`), so a line saying "27" cannot cite a sentence saying "2".
"""

from __future__ import annotations

import re

_UNITS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
]  # fmt: skip
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
WORD_NUMBERS: dict[str, int] = {word: value for value, word in enumerate(_UNITS)} | _TENS
SCALES = {
    "hundred": 100,
    "thousand": 1_000,
    "million": 1_000_000,
    "billion": 1_000_000_000,
    "trillion": 1_000_000_000_000,
}
_SHORT_SCALES = {"k": "thousand", "m": "million", "mn": "million", "bn": "billion", "tn": "trillion"}
MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_NAMES})\b\.?", re.IGNORECASE)
_MONTH_DAY = re.compile(rf"\b({_MONTH_NAMES})\b\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", re.IGNORECASE)
_ANY_DAY_MONTH = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([A-Za-z]{3,9})\.?\b")
_ANY_MONTH_DAY = re.compile(r"\b([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b")
# "one" and "a" count as numbers only inside a longer number ("one hundred"): alone they are
# words ("one of the talks"), and a line saying "one" needs no "1" in its sentence.
_NUMBER_WORDS = "|".join(sorted([w for w in WORD_NUMBERS if w not in {"one", "zero"}], key=len, reverse=True))
_SCALE_WORDS = "|".join(SCALES)
_QUANTITY = re.compile(
    rf"""
    (?P<digits>\d[\d,]*(?:\.\d+)?)(?![\d/])
      (?:\s*(?P<short>k|mn|m|bn|tn)\b)?
      (?:\s*(?P<scale>(?:{_SCALE_WORDS})(?:\s+(?:{_SCALE_WORDS}))*)\b)?
    | \b(?P<words>(?:{_NUMBER_WORDS}|one)(?:[\s-]+(?:and\s+)?(?:{_NUMBER_WORDS}|{_SCALE_WORDS}|one))*)\b
    """,
    re.IGNORECASE | re.VERBOSE,
)


def parse_number(text: str) -> float | None:
    """52, 1,200, 3.5 million, fifty-two, £20m → a number; None when it is not one."""
    cleaned = text.lower().replace(",", "").replace("-", " ")
    cleaned = re.sub(r"[£$€¥]", "", cleaned)
    cleaned = re.sub(
        r"(\d)\s*(mn|bn|tn|m|k)\b", lambda m: f"{m.group(1)} {_SHORT_SCALES[m.group(2)]}", cleaned
    )
    total, current, seen = 0.0, 0.0, False
    for word in cleaned.split():
        if re.fullmatch(r"\d+(?:\.\d+)?", word):
            current += float(word)
            seen = True
        elif word in WORD_NUMBERS:
            current += WORD_NUMBERS[word]
            seen = True
        elif word in SCALES and seen:
            current = (current or 1) * SCALES[word]
            if SCALES[word] > 100:
                total, current = total + current, 0.0
        elif word in {"and", "a"}:
            continue
        else:
            return None
    return total + current if seen else None


def parse_day(text: str) -> tuple[int, int] | None:
    """(month, day) of "July 7", "7 July", "7th of July", "Feb. 17"; None for anything vaguer."""
    for pattern, month_group, day_group in ((_ANY_MONTH_DAY, 1, 2), (_ANY_DAY_MONTH, 2, 1)):
        match = pattern.search(text)
        if match:
            month = MONTHS.get(match.group(month_group).lower())
            day = int(match.group(day_group))
            if month and 1 <= day <= 31:
                return month, day
    return None


def quantities(text: str) -> set[float | tuple[int, int]]:
    """Every number (as a value: "two" = 2, "$3 billion" = "3bn" = 3e9, "12%" = 12) and every
    day of a month (as (month, day): "Feb. 17" = "17 February") that `text` states."""
    found: set[float | tuple[int, int]] = set()
    days: list[tuple[int, int]] = []
    for pattern, month_group, day_group in ((_MONTH_DAY, 1, 2), (_DAY_MONTH, 2, 1)):
        for match in pattern.finditer(text):
            month, day = MONTHS[match.group(month_group).lower()], int(match.group(day_group))
            if 1 <= day <= 31:
                found.add((month, day))
                days.append(match.span(day_group))
    for match in _QUANTITY.finditer(text):
        if any(start <= match.start() < end for start, end in days):
            continue  # the day of a date is compared as the date
        if (match.group("words") or "").lower() == "one":
            continue
        value = parse_number(match.group(0))
        if value is None and match.group("digits"):
            value = parse_number(match.group("digits"))
        if value is not None:
            found.add(value)
    return found


def shown(value: float | tuple[int, int]) -> str:
    """A value as a reader would write it: 27, 3.5, 3000000000, Feb 17."""
    if isinstance(value, tuple):
        month = next(name for name, number in MONTHS.items() if number == value[0] and len(name) == 3)
        return f"{month.capitalize()} {value[1]}"
    return f"{value:g}" if value != int(value) else str(int(value))
