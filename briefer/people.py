"""People: cleaning names, finding the role a text gives a person, and telling one person from two.

Shared by the engines (finding) and the merge step (one entry per person).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources

from briefer.sentences import Entity, Sentence, Token

HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "dr", "sir", "dame", "prof", "mx"})
_POSSESSIVE = re.compile(r"(?:['’]s|['’])$")
_NAME_PARTICLES = frozenset(
    {"de", "da", "del", "der", "van", "von", "bin", "al", "el", "la", "le", "di", "du", "ibn"}
)
_APPOSITION_STOP = frozenset({",", ".", ";", ":", ")", "(", "—", "–", '"', "“", "”", "who", "which", "whose"})
_DETERMINERS = frozenset({"a", "an", "the"})
_MAX_TITLE_TOKENS = 8
_HYPHENS = frozenset({"-", "‐", "‑"})
_MAX_APPOSITION_TOKENS = 12


@lru_cache(maxsize=1)
def role_words() -> frozenset[str]:
    return _word_list("roles.txt")


@lru_cache(maxsize=1)
def place_names() -> frozenset[str]:
    return _word_list("places.txt")


def _word_list(name: str) -> frozenset[str]:
    text = resources.files("briefer").joinpath("data", name).read_text(encoding="utf-8")
    return frozenset(
        fold(line.strip()) for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


_PLACE_AFTER = re.compile(r"\b(?:in|at|to|from|near|outside)\s+((?:[A-Z][\w’'-]+\s?){1,3})")


def places_in(text: str) -> frozenset[str]:
    """Places a text names: known countries and capitals, and capitalised words after "in", "at",
    "to", "from" ("in Geneva", "at Camp David"), folded."""
    found = {fold(m.group(1).strip()) for m in _PLACE_AFTER.finditer(text)}
    found = {place for place in found if place.split()[0] not in _CALENDAR_WORDS}
    words = _WORD_RUN.findall(text)
    found.update(fold(w) for w in words if fold(w) in place_names())
    return frozenset(found)


_WORD_RUN = re.compile(r"[A-Z][\w’'-]+")
_CALENDAR_WORDS = frozenset(
    """january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday""".split()
)


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Case- and accent-insensitive form of a name, for comparing."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def clean_name(raw: str) -> str | None:
    """A person's name as written, without possessive or honorific; None if it is not a plausible name."""
    words = raw.replace("\n", " ").split()
    while words and fold(words[0]).rstrip(".") in HONORIFICS:
        words = words[1:]
    if not words:
        return None
    words[-1] = _POSSESSIVE.sub("", words[-1])
    words = [w for w in words if w]
    if not words or len(words) > 5 or (len(words) == 1 and words[0].isupper()):
        return None  # one all-capital word is an acronym ("BST", "NATO"), not a name
    for word in words:
        if word.lower() in _NAME_PARTICLES:
            continue
        if not word[0].isupper() or any(ch.isdigit() for ch in word):
            return None
        if len(word) > 4 and word.isupper():
            return None
    name = " ".join(words)
    if fold(name) in place_names():
        return None
    return name


def surname(name: str) -> str:
    return fold(name.split()[-1])


def same_person(short: str, full: str) -> bool:
    """Whether `short` ("Rubio", "Marco Rubio", "Luther King") can name the same person as `full`
    ("Marco Rubio", "Martin Luther King"): the same surname, and the same first name, its
    initial, or the last names of `full` without the first. Two full names with as many words
    also match when each word is the other's, its initial, or the same name spelled another
    way (`spelled_alike`): "Viktor Yanukovich" and "Viktor Yanukovych"."""
    a, b = fold(short).split(), fold(full).split()
    if len(a) > len(b):
        return False
    if a[-1] == b[-1] and (len(a) == 1 or a[0] == b[0] or b[-len(a) :] == a or _initial_of(a[0], b[0])):
        return True
    return len(a) == len(b) >= 2 and all(
        x == y or spelled_alike(x, y) or _initial_of(x, y) or _initial_of(y, x)
        for x, y in zip(a, b, strict=True)
    )


def _initial_of(initial: str, name: str) -> bool:
    return len(initial) <= 2 and name.startswith(initial.rstrip("."))


_ALIKE_LETTERS = 4


def spelled_alike(a: str, b: str) -> bool:
    """Whether two folded words can be one name in two spellings, as transliterations from
    Cyrillic or Arabic give them: both of `_ALIKE_LETTERS` letters or more, the same first letter,
    and the same sound (Metaphone: Yanukovych, Yanukovich; Tanweer, Tanwir) or one letter apart
    (Yatsenyuk, Yatseniuk). Peskov and Petkov, Clinton and Clifton stay two names, and so do a
    Slavic surname and its feminine form (Lavrov, Lavrova; Kowalski, Kowalska)."""
    import jellyfish

    if a == b:
        return True
    if min(len(a), len(b)) < _ALIKE_LETTERS or a[0] != b[0] or not (a.isalpha() and b.isalpha()):
        return False
    if _feminine_form(a, b) or _feminine_form(b, a):
        return False
    if jellyfish.metaphone(a) == jellyfish.metaphone(b):
        return True
    return (
        min(len(a), len(b)) >= 6
        and jellyfish.damerau_levenshtein_distance(a, b) <= 1
        and (jellyfish.soundex(a) == jellyfish.soundex(b))
    )


def _feminine_form(a: str, b: str) -> bool:
    return b == a + "a" or (a[:-1] == b[:-1] and a[-1] in "iy" and b[-1] == "a")


def sound_key(name: str) -> str:
    """A key that names `spelled_alike` may join share: the Soundex code of the surname."""
    import jellyfish

    last = surname(name)
    return jellyfish.soundex(last) if last.isalpha() else last


def role_for(sentence: Sentence, entity: Entity) -> str | None:
    """The role the sentence gives the person `entity` names, before the name or in apposition after it."""
    tokens = sentence.tokens
    first = next((i for i, t in enumerate(tokens) if t.start >= entity.start), len(tokens))
    after = next((i for i, t in enumerate(tokens) if t.start >= entity.end), len(tokens))
    candidates = [
        role for role in (_title_before(sentence, first), _apposition_after(sentence, after)) if role
    ]
    return max(candidates, key=lambda r: len(r.split()), default=None)


def _word(sentence: Sentence, token: Token) -> str:
    return sentence.text[token.start - sentence.start : token.end - sentence.start]


def _person_ends(sentence: Sentence) -> dict[int, Entity]:
    return {e.end: e for e in sentence.entities if e.label == "PERSON"}


def _title_before(sentence: Sentence, first: int) -> str | None:
    """`Secretary of State` in "Secretary of State Marco Rubio"; shared plural titles too:
    "Presidents Donald Trump and Vladimir Putin" gives both "President"."""
    tokens = sentence.tokens
    chosen = _title_indexes(sentence, first)
    if chosen:
        return _role_text(sentence, chosen)
    if first >= 2 and _word(sentence, tokens[first - 1]).lower() in {"and", ","}:
        previous = _person_ends(sentence).get(tokens[first - 2].end)
        if previous is not None:
            before = next(i for i, t in enumerate(tokens) if t.start >= previous.start)
            shared = _title_indexes(sentence, before)
            if any(_is_plural_role(sentence, tokens[i]) for i in shared):
                return _role_text(sentence, shared)
    return None


def _title_indexes(sentence: Sentence, first: int) -> list[int]:
    """Indexes of the title words right before token `first`, or [] when they hold no role word."""
    tokens = sentence.tokens
    blocked = [
        (e.start, e.end)
        for e in sentence.entities
        if e.label in {"PERSON", "DATE", "TIME", "CARDINAL", "ORDINAL"}
    ]
    chosen: list[int] = []
    j = first - 1
    while j >= 0 and len(chosen) < _MAX_TITLE_TOKENS:
        token = tokens[j]
        word = _word(sentence, token)
        if any(start <= token.start < end for start, end in blocked):
            break
        if not chosen and fold(word).rstrip(".") in HONORIFICS:
            j -= 1  # "commissioner Sir Ian Blair", "Prime Minister Mr. Blair": the title is before it
            continue
        if token.pos in {"PROPN", "NOUN", "ADJ"} and word[:1].isalpha() and fold(word) not in HONORIFICS:
            chosen.insert(0, j)
        elif word.lower() == "of" and chosen and j > 0 and _word(sentence, tokens[j - 1])[:1].isupper():
            if any(_is_role_word(tokens[i]) for i in chosen):
                break  # "Representatives of Treasury Secretary X": X's title ends at "of"
            chosen.insert(0, j)
        elif word in {"'s", "’s"} and chosen and j > 0 and tokens[j - 1].pos == "PROPN":
            chosen.insert(0, j)
        elif (
            word in _HYPHENS
            and chosen
            and j > 0
            and tokens[j - 1].end == token.start == tokens[j + 1].start - 1
        ):
            chosen.insert(0, j)  # "Secretary-General": one title word written in three tokens
        else:
            break
        j -= 1
    while chosen and _word(sentence, tokens[chosen[0]]).lower() in {"of", "'s", "’s"}:
        chosen.pop(0)
    # "Pentagon spokesman Captain Jeff Davis", "NSA commander Gen. Keith Alexander": a rank after
    # a role written in lower case starts a second title; the first says what the person does here.
    lower = [
        n for n, i in enumerate(chosen) if _is_role_word(tokens[i]) and _word(sentence, tokens[i]).islower()
    ]
    if lower and all(_word(sentence, tokens[i])[:1].isupper() for i in chosen[lower[-1] + 1 :]):
        del chosen[lower[-1] + 1 :]
    return chosen if any(_is_role_word(tokens[i]) for i in chosen) else []


def _apposition_after(sentence: Sentence, after: int) -> str | None:
    """`a foreign policy adviser to Putin` in "Yuri Ushakov, a foreign policy adviser to Putin,"."""
    tokens = sentence.tokens
    if after >= len(tokens) or _word(sentence, tokens[after]) != ",":
        return None
    k = after + 1
    if k < len(tokens) and _word(sentence, tokens[k]).lower() in _DETERMINERS:
        k += 1
    if k < len(tokens) and tokens[k].pos in {"ADP", "SCONJ"}:
        return None  # "X, during the council of foreign ministers, …" says when, not who X is
    chosen: list[int] = []
    while k < len(tokens) and len(chosen) < _MAX_APPOSITION_TOKENS:
        token = tokens[k]
        word = _word(sentence, token)
        if word.lower() in _APPOSITION_STOP or token.pos in {"VERB", "AUX", "PRON", "NUM", "CCONJ"}:
            break
        in_person = any(e.start <= token.start < e.end for e in sentence.entities if e.label == "PERSON")
        if in_person and (not chosen or tokens[chosen[-1]].pos != "ADP"):
            # "X, Foreign Minister Y and …" lists people: the title is Y's, not X's. ("adviser to Y" is X's.)
            return None
        chosen.append(k)
        k += 1
    if not chosen or not any(_is_role_word(tokens[i]) for i in chosen):
        return None
    while chosen and tokens[chosen[-1]].pos in {"ADP", "CCONJ", "DET", "PART"}:
        chosen.pop()
    return _role_text(sentence, chosen) if chosen else None


def _is_role_word(token: Token) -> bool:
    return token.lemma in role_words() and token.pos in {"NOUN", "PROPN", "ADJ"}


def _is_plural_role(sentence: Sentence, token: Token) -> bool:
    word = _word(sentence, token)
    return _is_role_word(token) and word.lower() != token.lemma and word.lower().endswith("s")


def _role_text(sentence: Sentence, indexes: list[int]) -> str:
    """The words of a role as written, plural role nouns made singular ("Presidents" → "President")."""
    tokens = sentence.tokens
    parts: list[str] = []
    for position, i in enumerate(indexes):
        word = _word(sentence, tokens[i])
        if _is_plural_role(sentence, tokens[i]):
            word = tokens[i].lemma.capitalize() if word[0].isupper() else tokens[i].lemma
        gap = ""
        if position:
            previous_end = tokens[indexes[position - 1]].end
            gap = sentence.text[previous_end - sentence.start : tokens[i].start - sentence.start]
        parts.append(gap + word)
    return "".join(parts).strip()
