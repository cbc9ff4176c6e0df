"""spaCy's rule-based pipes, their work done once per kind of token instead of per token.

spaCy's `attribute_ruler` (coarse part of speech from the tag, some lemmas and morphology)
runs its ~180 Matcher patterns over every token: about a sixth of the English pipeline's
time. Nearly all of them look at one token, and what they read of it (tag, lower-case
form, dependency label, whether it is a space) takes few distinct values that matter:
a word no pattern names behaves like any other such word. So the single-token patterns
are matched once per distinct kind of token and remembered; the few longer patterns
still go through a Matcher of their own. The ruler then sets the very same attributes
in the very same order (`RuleMatches` returns what `AttributeRuler.match` does).

The rule lemmatizer's lemma is a function of the word, its part of speech and its
morphology; spaCy remembers it only for some words and reads each token through Python
objects. `CachedLemmas` reads those three as numbers and remembers every lemma.

Both tables are bounded (`_MAX_KINDS`, `_MAX_LEMMAS`), so memory stays flat on long inputs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.pipeline import AttributeRuler
    from spacy.tokens import Doc

# What a single-token pattern may read (a Matcher attribute, read with `Doc.to_array`, which gives
# strings as their hashes and flags as 0 or 1); a pattern reading anything else leaves the
# ruler as spaCy made it.
_STRING_ATTRIBUTES = {"TAG", "LOWER", "ORTH", "TEXT", "NORM", "DEP"}
_FLAG_ATTRIBUTES = {"IS_SPACE", "IS_PUNCT", "IS_ALPHA", "IS_DIGIT"}
# Predicates whose outcome depends only on whether the value is one the pattern names.
_SET_OPERATORS = {"IN", "NOT_IN"}
_MAX_KINDS = 10_000
"""Kinds of token whose rule matches are remembered (a few hundred in practice); past that the
table starts afresh."""
_MAX_LEMMAS = 20_000
"""Lemmas remembered, ~250 bytes each: the frequent words, which are most of a text's tokens.
The table starts afresh when full, so a long text of ever new words costs no more than this."""


class _Attribute:
    """One token attribute the single-token patterns read, and the values that can change a match.

    A value no pattern names (or, for a regular expression, may match) is read as `None`:
    every predicate of the patterns treats all such values alike.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.named: set[object] = set()
        self.regexes: list[re.Pattern[str]] = []

    def learn(self, predicate: object) -> bool:
        """Note what `predicate` names; False when it is of a kind this class cannot reduce."""
        if not isinstance(predicate, dict):
            self.named.add(predicate)
            return True
        for operator, value in predicate.items():
            if operator in _SET_OPERATORS and isinstance(value, list):
                self.named.update(value)
            elif operator == "REGEX" and isinstance(value, str):
                self.regexes.append(re.compile(value))
            else:
                return False
        return True

    def codes(self) -> set[int]:
        """The named values as `Doc.to_array` gives them."""
        from spacy.strings import get_string_id

        if self.name in _FLAG_ATTRIBUTES:
            return {int(bool(v)) for v in self.named}
        return {get_string_id(v) for v in self.named if isinstance(v, str)}


class RuleMatches:
    """`AttributeRuler.match`, with single-token patterns matched once per kind of token."""

    def __init__(self, ruler: AttributeRuler, single: Any, longer: Any, attributes: list[_Attribute]) -> None:
        from spacy.attrs import IDS

        # The ruler's pattern keys are the strings "0", "1" …, in the order the patterns were added.
        self._order = {ruler.vocab.strings[str(i)]: i for i in range(len(ruler.patterns))}
        self._strings = ruler.vocab.strings
        self._single = single
        self._longer = longer
        self._ids = [IDS[a.name] for a in attributes]
        self._codes = [a.codes() for a in attributes]
        self._regexes = [a.regexes for a in attributes]
        self._kinds: dict[tuple[int | None, ...], list[int]] = {}

    @classmethod
    def for_ruler(cls, ruler: AttributeRuler) -> RuleMatches | None:
        """The faster `match` for `ruler`, or None when its patterns are not all of the kinds handled."""
        from spacy.matcher import Matcher

        single, longer = Matcher(ruler.vocab), Matcher(ruler.vocab)
        attributes: dict[str, _Attribute] = {}
        patterns: list[dict[str, Any]] = list(ruler.patterns)
        for key, pattern in enumerate(patterns):
            token_patterns: list[list[dict[str, Any]]] = pattern["patterns"]
            lengths = {len(p) for p in token_patterns}
            if lengths != {1}:
                if 1 in lengths:
                    return None  # one key with both kinds: the Matcher would report them together
                longer.add(str(key), token_patterns)
                continue
            for (predicates,) in token_patterns:
                for name, predicate in predicates.items():
                    if name not in _STRING_ATTRIBUTES | _FLAG_ATTRIBUTES:
                        return None
                    attribute = attributes.setdefault(name, _Attribute(name))
                    if not attribute.learn(predicate):
                        return None
            single.add(str(key), token_patterns)
        return cls(ruler, single, longer, list(attributes.values()))

    def __call__(self, doc: Doc) -> list[tuple[int, int, int, int]]:
        order = self._order
        matches = [(order[key], key, start, end) for key, start, end in self._longer(doc, allow_missing=True)]
        kinds = self._kinds
        if not self._ids:
            return sorted(matches)
        for i, row in enumerate(doc.to_array(self._ids).reshape(len(doc), -1).tolist()):
            kind = tuple(map(self._kind, row, self._codes, self._regexes))  # type: ignore[arg-type]
            keys = kinds.get(kind)
            if keys is None:
                if len(kinds) >= _MAX_KINDS:
                    kinds.clear()
                keys = kinds[kind] = [key for key, _, _ in self._single(doc[i : i + 1], allow_missing=True)]
            matches.extend((order[key], key, i, i + 1) for key in keys)
        matches.sort()
        return matches

    def _kind(self, code: int, named: set[int], regexes: list[re.Pattern[str]]) -> int | None:
        """A token's value of one attribute, or None when no pattern can tell it from other such values."""
        if code in named or (regexes and any(r.search(self._strings[code]) for r in regexes)):
            return code
        return None


class CachedLemmas:
    """`Lemmatizer.__call__` in rule mode, each lemma worked out once per word, tag and morphology."""

    def __init__(self, lemmatizer: Any) -> None:
        from spacy.attrs import LEMMA, MORPH, ORTH, POS

        self._lemmatizer = lemmatizer
        self._read = [ORTH, POS, MORPH, LEMMA]
        self._lemma = [LEMMA]
        self._lemmas: dict[tuple[int, int, int], int] = {}

    def __call__(self, doc: Doc) -> Doc:
        import numpy

        lemmatizer = self._lemmatizer
        if not lemmatizer._validated:
            from spacy.errors import Errors

            lemmatizer._validate_tables(Errors.E1004)
        strings = doc.vocab.strings
        lemmas = self._lemmas
        values: list[list[int]] = doc.to_array(self._read).reshape(len(doc), 4).tolist()  # type: ignore[assignment]
        column = []
        for i, (orth, pos, morph, lemma) in enumerate(values):
            if lemma == 0:  # not set by an earlier pipe (overwrite is off)
                lemma = lemmas.get((orth, pos, morph), 0)
                if lemma == 0:
                    if len(lemmas) >= _MAX_LEMMAS:
                        lemmas.clear()
                    lemma = lemmas[(orth, pos, morph)] = strings.add(lemmatizer.lemmatize(doc[i])[0])
            column.append(lemma)
        if column:
            values_out: Any = numpy.array(column, dtype="uint64").reshape(len(doc), 1)
            doc.from_array(self._lemma, values_out)
        return doc

    def pipe(self, docs: Iterable[Doc], **_: object) -> Iterator[Doc]:
        """What `Language.pipe` calls: each doc lemmatized in turn."""
        for doc in docs:
            yield self(doc)


def speed_up(nlp: Language) -> None:
    """Give `nlp`'s attribute ruler and rule lemmatizer their remembered work (same output, less time)."""
    if "attribute_ruler" in nlp.pipe_names:
        ruler: Any = nlp.get_pipe("attribute_ruler")
        faster = RuleMatches.for_ruler(ruler)
        if faster is not None:
            ruler.match = faster  # AttributeRuler.__call__ looks `match` up on the instance
    if "lemmatizer" in nlp.pipe_names:
        lemmatizer: Any = nlp.get_pipe("lemmatizer")
        if lemmatizer.mode == "rule" and not lemmatizer.overwrite:
            # `Language.pipe` calls a pipe's `pipe` method, looked up on the instance; `nlp(text)`
            # still runs spaCy's own, which gives the same lemmas.
            lemmatizer.pipe = CachedLemmas(lemmatizer).pipe
