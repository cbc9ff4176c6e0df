"""Machine-paraphrased ("spun") sources: phrases an article spinner made out of standard ones.

A spinner swaps words for dictionary synonyms without regard to sense: "Foreign
Minister" becomes "International Minister", "boots on the ground" "boots on the
bottom". Three lists, all data in `briefer/data/`, find such phrases:

- `standard_phrases.txt`, a gazetteer of the phrases news and policy text relies
  on (office titles, institutions, events, fixed expressions);
- `spinner_synonyms.txt`, the substitutions spinners make, reversed (spun
  "safety" → standard "security");
- the rule: a run of words one or two substitutions away from a gazetteer phrase,
  that is not itself a gazetteer phrase, is spun, with that phrase as its standard
  term. One of the two may be a word the synonym list does not know (a spinner's
  swap never seen before), in a gazetteer phrase of three words or more whose other
  words are as written, when exactly one phrase fits.

A source is likely machine-paraphrased when it has at least `MIN_DISTINCT` different
spun phrases and at least `MIN_PER_1000_WORDS` spun phrases per thousand words; the
two thresholds were chosen on real, unspun news (see `benchmarks/bench_paraphrase.py`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from briefer.findings import Finding

MIN_DISTINCT = 3
"""Different spun phrases a likely-spun source has at least."""
MIN_PER_1000_WORDS = 2.0
"""Spun phrases per thousand words a likely-spun source has at least."""
MAX_EDITS = 2
UNKNOWN_MIN_WORDS = 3
"""Words of a gazetteer phrase a swap the synonym table does not list may stand in."""
UNKNOWN_MIN_EXACT = 2
"""Content words as written beside a swap the synonym table does not list."""
"""Substitutions between a spun phrase and its standard term."""
_WORD = re.compile(r"[^\W_]+(?:['’.\-][^\W_]+)*")
# Words a swap of unknown origin may not stand for: they carry no sense a spinner would swap.
_FUNCTION_WORDS = frozenset(
    """a an the of on in at to for by with from and or as is was be are were its his her their this that
    these those two three four few some many said""".split()
)

Words = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SpunPhrase:
    """A spun phrase in sentence `sentence` of source `source`: the words as written, and the
    standard term they stand for; `start`/`end` are offsets in the sentence's text."""

    source: str
    sentence: int
    phrase: str
    standard: str
    start: int
    end: int
    edits: int
    unknown: bool = False
    """Whether one of the swaps is of a word the synonym table does not list."""


@dataclass(frozen=True, slots=True)
class ParaphraseReport:
    """What detection found in one source: its spun phrases, its length in words and the verdict."""

    source: str
    words: int
    matches: tuple[SpunPhrase, ...]

    @property
    def distinct(self) -> int:
        """Different spun phrases (the same phrase twice counts once)."""
        return len({(_fold(m.phrase), _fold(m.standard)) for m in self.matches})

    @property
    def per_1000_words(self) -> float:
        return 1000 * len(self.matches) / self.words if self.words else 0.0

    @property
    def likely(self) -> bool:
        """Whether the source is likely machine-paraphrased."""
        return self.distinct >= MIN_DISTINCT and self.per_1000_words >= MIN_PER_1000_WORDS


@dataclass(slots=True)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    entry: Words | None = None
    open_ending: list[_Node] = field(default_factory=list)
    """Children an unlisted swap may stand for that end a phrase."""
    open_before: dict[str, list[_Node]] = field(default_factory=dict)
    """Children an unlisted swap may stand for, by the word that follows them: an unlisted swap is
    tried only where the next word is as written, so a word costs one look-up, not one per child."""


@dataclass(frozen=True, slots=True)
class _Lexicon:
    trie: _Node
    """Gazetteer phrases, word by word (folded)."""
    forms: Mapping[Words, str]
    """Each phrase as listed (its first listing), for showing."""
    capitalised: Mapping[Words, frozenset[int]]
    """Positions a listing writes with a capital: a proper-name word ("Middle" East)."""
    swaps: Mapping[str, tuple[tuple[Words, Words], ...]]
    """By first spun word: (spun words, standard words) of each substitution."""
    open_words: frozenset[str]
    """Gazetteer words an unknown swap may stand for: common words, not names."""


def _fold(text: str) -> str:
    return " ".join(text.replace("’", "'").casefold().split())


def _words(text: str) -> Words:
    return tuple(_fold(m.group()).rstrip(".") for m in _WORD.finditer(text))


def _lines(name: str) -> list[str]:
    text = resources.files("briefer").joinpath("data", name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@lru_cache(maxsize=1)
def lexicon() -> _Lexicon:
    """The gazetteer and the reversed synonym table, read once from `briefer/data/`."""
    root = _Node()
    forms: dict[Words, str] = {}
    capitalised: dict[Words, set[int]] = {}
    for line in _lines("standard_phrases.txt"):
        words = _words(line)
        if len(words) < 2:
            continue
        forms.setdefault(words, line)
        written = [m.group() for m in _WORD.finditer(line)]
        capitalised.setdefault(words, set()).update(i for i, w in enumerate(written) if w[:1].isupper())
        node = root
        for word in words:
            node = node.children.setdefault(word, _Node())
        node.entry = words
    swaps: dict[str, list[tuple[Words, Words]]] = {}
    standard_words: set[str] = set()
    for line in _lines("spinner_synonyms.txt"):
        spun, _, standards = line.partition(":")
        spun_words = _words(spun)
        for standard in standards.split(","):
            replaced = _words(standard)
            if spun_words and replaced and spun_words != replaced:
                swaps.setdefault(spun_words[0], []).append((spun_words, replaced))
                standard_words.update(replaced)
    open_words = {
        word
        for words in forms
        for i, word in enumerate(words)
        if word.isalpha()
        and word not in _FUNCTION_WORDS
        and (word in standard_words or i not in capitalised[words])
    }
    _index_open(root, open_words)
    return _Lexicon(
        root,
        forms,
        {words: frozenset(at) for words, at in capitalised.items()},
        {first: tuple(pairs) for first, pairs in swaps.items()},
        frozenset(open_words),
    )


def _index_open(node: _Node, open_words: set[str]) -> None:
    """Fill `open_ending` and `open_before` of `node` and the nodes below it."""
    for word, child in node.children.items():
        if word in open_words:
            if child.entry is not None:
                node.open_ending.append(child)
            for following in child.children:
                node.open_before.setdefault(following, []).append(child)
        _index_open(child, open_words)


@dataclass(frozen=True, slots=True)
class _Candidate:
    first: int
    last: int
    """Index past the last token."""
    entry: Words
    edits: int
    unknown: bool
    swapped: tuple[int, ...]
    """Tokens replaced (their index), for the check that a name is not taken for a common word."""


def find_spun(text: str, lex: _Lexicon | None = None) -> list[tuple[int, int, str, int, bool]]:
    """The spun phrases in one sentence: (start, end, standard term, substitutions, whether one is
    of a word the synonym table does not list), in order."""
    lex = lex or lexicon()
    tokens = list(_WORD.finditer(text))
    words = [m.group().replace("’", "'").casefold().rstrip(".") for m in tokens]
    root = lex.trie
    # A phrase starts with a gazetteer word, a spun word, or an unlisted swap before a second word.
    starts = [
        i
        for i, word in enumerate(words)
        if word in root.children
        or word in lex.swaps
        or (i + 1 < len(words) and words[i + 1] in root.open_before)
    ]
    if not starts:
        return []
    standard_spans = _standard_spans(words, root)
    found: list[_Candidate] = []
    for i in starts:
        candidates = [c for c in _walk(words, i, lex) if _acceptable(c, words, tokens, lex, standard_spans)]
        if candidates:
            found.extend(_unambiguous(candidates))
    chosen: list[_Candidate] = []
    taken: set[int] = set()
    for candidate in sorted(found, key=lambda c: (c.unknown, -(c.last - c.first), c.edits, c.first)):
        span = set(range(candidate.first, candidate.last))
        if not span & taken:
            chosen.append(candidate)
            taken |= span
    return [
        (
            tokens[c.first].start(),
            tokens[c.last - 1].end(),
            _shown(lex.forms[c.entry], text[tokens[c.first].start() : tokens[c.last - 1].end()]),
            c.edits,
            c.unknown,
        )
        for c in sorted(chosen, key=lambda c: c.first)
    ]


def standard_phrases_in(text: str) -> list[tuple[int, int]]:
    """Where `text` has a gazetteer phrase as written: (start, end) offsets, in order."""
    tokens = list(_WORD.finditer(text))
    spans = _standard_spans([_fold(m.group()).rstrip(".") for m in tokens], lexicon().trie)
    return [(tokens[first].start(), tokens[last - 1].end()) for first, last in spans]


def _standard_spans(words: Sequence[str], trie: _Node) -> list[tuple[int, int]]:
    """Where the sentence has a gazetteer phrase as written: (first, last) token spans."""
    spans: list[tuple[int, int]] = []
    for i in range(len(words)):
        node = trie
        for j in range(i, len(words)):
            next_node = node.children.get(words[j])
            if next_node is None:
                break
            node = next_node
            if node.entry is not None:
                spans.append((i, j + 1))
    return spans


def _walk(words: Sequence[str], first: int, lex: _Lexicon) -> list[_Candidate]:
    """Every gazetteer phrase the words from `first` on reach within `MAX_EDITS` substitutions."""
    found: list[_Candidate] = []

    def step(node: _Node, at: int, edits: int, unknown: bool, swapped: tuple[int, ...]) -> None:
        if node.entry is not None and edits and at - first > 1:
            found.append(_Candidate(first, at, node.entry, edits, unknown, swapped))
        if at >= len(words):
            return
        word = words[at]
        exact = node.children.get(word)
        if exact is not None:
            step(exact, at + 1, edits, unknown, swapped)
        if edits >= MAX_EDITS:
            return
        for spun, standard in lex.swaps.get(word, ()):
            if tuple(words[at : at + len(spun)]) != spun:
                continue
            target: _Node | None = node
            for standard_word in standard:
                target = target.children.get(standard_word) if target else None
            if target is not None:
                step(target, at + len(spun), edits + 1, unknown, (*swapped, at))
        if not unknown and exact is None and word.isalpha() and word not in _FUNCTION_WORDS:
            following = words[at + 1] if at + 1 < len(words) else ""
            for child in [*node.open_before.get(following, ()), *node.open_ending]:
                step(child, at + 1, edits + 1, True, (*swapped, at))

    step(lex.trie, first, 0, False, ())
    return found


def _acceptable(
    candidate: _Candidate,
    words: Sequence[str],
    tokens: Sequence[re.Match[str]],
    lex: _Lexicon,
    standard_spans: Sequence[tuple[int, int]],
) -> bool:
    """Whether a candidate is a spun phrase: not standard usage itself, and no name taken for a word."""
    first, last = candidate.first, candidate.last
    if any(a <= first and last <= b for a, b in standard_spans):
        return False  # inside a phrase written as the gazetteer has it: standard usage
    exact = [words[i] for i in range(first, last) if i not in candidate.swapped]
    if not any(word not in _FUNCTION_WORDS for word in exact):
        return False  # the phrase's sense is all swapped: nothing ties it to the standard term
    if candidate.unknown:
        if (
            len(candidate.entry) < UNKNOWN_MIN_WORDS
            or sum(word not in _FUNCTION_WORDS for word in exact) < UNKNOWN_MIN_EXACT
        ):
            return False  # an unlisted swap needs two words as written to tie it to the phrase
        rest = (first + 1, last) if candidate.swapped[-1] == first else (first, last - 1)
        if candidate.swapped[-1] in (first, last - 1) and any(
            a <= rest[0] and rest[1] <= b for a, b in standard_spans
        ):
            return False  # a standard phrase with a word before or after it ("national security team")
    capitals = lex.capitalised[candidate.entry]
    for at in candidate.swapped:
        written = tokens[at].group()
        position = min(at - first, len(candidate.entry) - 1)
        # "Assembly" in mid-sentence is a name ("National Assembly"), not a spun "meeting".
        if at > 0 and written[:1].isupper() and position not in capitals:
            return False
        if any(ch.isdigit() for ch in written):
            return False
    return True


def _unambiguous(candidates: Sequence[_Candidate]) -> list[_Candidate]:
    """Candidates from one starting word; a swap of unknown origin must fit exactly one phrase."""
    kept = [c for c in candidates if not c.unknown]
    unknown = [c for c in candidates if c.unknown]
    by_span: dict[tuple[int, int], set[Words]] = {}
    for candidate in unknown:
        by_span.setdefault((candidate.first, candidate.last), set()).add(candidate.entry)
    kept.extend(c for c in unknown if len(by_span[(c.first, c.last)]) == 1)
    return kept


def _shown(standard: str, written: str) -> str:
    """The standard term in the spun phrase's case: capitalised as it is, where it is."""
    spun = written.split()
    words = standard.split()
    if spun and spun[0][:1].isupper() and words[0][:1].islower():
        words[0] = words[0][:1].upper() + words[0][1:]
    if len(spun) > 1 and all(w[:1].isupper() for w in spun):
        words = [w if w in _FUNCTION_WORDS else w[:1].upper() + w[1:] for w in words]
    return " ".join(words)


def detect(source: str, sentences: Iterable[tuple[int, str]]) -> ParaphraseReport:
    """Spun phrases of one source, from its numbered sentences (number, text), and the verdict."""
    lex = lexicon()
    matches: list[SpunPhrase] = []
    words = 0
    for number, text in sentences:
        words += sum(1 for _ in _WORD.finditer(text))
        for start, end, standard, edits, unknown in find_spun(text, lex):
            phrase = " ".join(text[start:end].split())
            matches.append(SpunPhrase(source, number, phrase, standard, start, end, edits, unknown))
    return ParaphraseReport(source, words, tuple(matches))


def terms_in(text: str, matches: Iterable[SpunPhrase]) -> list[tuple[str, str]]:
    """(phrase, standard) of the spun phrases that `text` contains as written, each once, in order."""
    folded = _fold(text)
    seen: dict[str, tuple[str, str]] = {}
    for match in matches:
        key = _fold(match.phrase)
        if key not in seen and re.search(rf"(?<!\w){re.escape(key)}(?!\w)", folded):
            seen[key] = (match.phrase, match.standard)
    return sorted(seen.values(), key=lambda term: folded.find(_fold(term[0])))


def with_standard(text: str, terms: Iterable[tuple[str, str]]) -> str:
    """`text` with each spun phrase replaced by its standard term."""
    for phrase, standard in terms:
        pattern = r"\s+".join(re.escape(part) for part in phrase.split())
        # A function, not a replacement string: a standard term is text, not a template ("\1").
        text = re.sub(rf"(?<!\w){pattern}(?!\w)", _literal(standard), text, flags=re.IGNORECASE)
    return text


def _literal(text: str) -> Callable[[re.Match[str]], str]:
    return lambda _match: text


def hint_lines(matches: Iterable[SpunPhrase]) -> list[str]:
    """One line per spun phrase for a model's prompt: `“phrase” (S1:4) stands for “standard”`."""
    lines: dict[tuple[str, str], list[str]] = {}
    for match in matches:
        lines.setdefault((match.phrase, match.standard), []).append(f"{match.source}:{match.sentence}")
    return [
        f"- “{phrase}” ({', '.join(dict.fromkeys(refs))}) stands for “{standard}”"
        for (phrase, standard), refs in lines.items()
    ]


def spun_by_sentence(reports: Iterable[ParaphraseReport]) -> dict[tuple[str, int], list[SpunPhrase]]:
    """The spun phrases of each sentence of the likely-spun sources, by (source, sentence)."""
    found: dict[tuple[str, int], list[SpunPhrase]] = {}
    for report in reports:
        if report.likely:
            for match in report.matches:
                found.setdefault((match.source, match.sentence), []).append(match)
    return found


def annotate(findings: Iterable[Finding], spun: Mapping[tuple[str, int], Sequence[SpunPhrase]]) -> None:
    """Set each finding's `terms` (spun phrases its text or role holds, from the sentences it
    cites) and `role_standard` (its role in standard terms)."""
    for finding in findings:
        cited = [match for ref in finding.refs for match in spun.get(ref, ())]
        if not cited:
            continue
        finding.terms = terms_in(f"{finding.text} {finding.role or ''}", cited)
        if finding.role:
            in_role = terms_in(finding.role, cited)
            finding.role_standard = with_standard(finding.role, in_role) if in_role else None
