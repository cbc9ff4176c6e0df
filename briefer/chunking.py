"""Chunking: whole sentences packed into chunks of at most N tiktoken tokens."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from briefer.tokens import DEFAULT_ENCODING, get_encoding

if TYPE_CHECKING:
    from briefer.paraphrase import SpunPhrase
    from briefer.sentences import Sentence

# Leaves room in an 8k-token context for the instructions and the model's answer.
DEFAULT_CHUNK_TOKENS = 3000


@dataclass(frozen=True, slots=True)
class Chunk:
    """Consecutive sentences of one source that fit the token budget together.

    A sentence longer than the budget on its own is cut into pieces; each piece
    keeps the sentence's number, so citations still name the whole sentence.
    """

    source: str
    index: int
    sentences: tuple[Sentence, ...]
    tokens: int
    spun: tuple[SpunPhrase, ...] = ()
    """Spun phrases in these sentences, when their source is likely machine-paraphrased."""

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)


def chunk_sentences(
    sentences: Sequence[Sentence],
    max_tokens: int = DEFAULT_CHUNK_TOKENS,
    encoding: str = DEFAULT_ENCODING,
) -> list[Chunk]:
    """Pack one source's sentences, in order, into chunks of at most `max_tokens` tokens."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    enc = get_encoding(encoding)
    # Sentences are joined with a space, which can change how the next one tokenizes
    # (" “You" is one token fewer than "“You" plus a space): count both ways. One sentence at a
    # time: `encode_ordinary_batch` starts a pool of threads per call, which costs 30 times
    # the counting itself for a source's few dozen sentences.
    encode = enc.encode_ordinary
    alone = [len(encode(s.text)) for s in sentences]
    joined = [len(encode(" " + s.text)) for s in sentences]
    chunks: list[Chunk] = []
    pending: list[Sentence] = []
    pending_tokens = 0

    def flush() -> None:
        nonlocal pending, pending_tokens
        if pending:
            chunks.append(Chunk(pending[0].source, len(chunks), tuple(pending), pending_tokens))
        pending, pending_tokens = [], 0

    for sentence, first_count, next_count in zip(sentences, alone, joined, strict=True):
        if first_count > max_tokens:
            flush()
            for piece, piece_tokens in _cut(sentence, max_tokens, encoding):
                chunks.append(Chunk(sentence.source, len(chunks), (piece,), piece_tokens))
            continue
        if pending and pending_tokens + next_count > max_tokens:
            flush()
        pending.append(sentence)
        pending_tokens += next_count if len(pending) > 1 else first_count
    flush()
    return chunks


def _cut(sentence: Sentence, max_tokens: int, encoding: str) -> Iterator[tuple[Sentence, int]]:
    """Cut an over-long sentence into pieces of at most `max_tokens` tokens, on character bounds."""
    enc = get_encoding(encoding)
    raw = sentence.text.encode("utf-8")
    token_bytes = enc.decode_tokens_bytes(enc.encode_ordinary(sentence.text))
    char_at = 0
    byte_at = 0
    for i in range(0, len(token_bytes), max_tokens):
        piece = token_bytes[i : i + max_tokens]
        byte_end = byte_at + sum(len(b) for b in piece)
        # A token may end inside a multi-byte character: round down to whole characters.
        char_end = len(raw[:byte_end].decode("utf-8", errors="ignore"))
        if i + max_tokens >= len(token_bytes):
            char_end = len(sentence.text)
        if char_end > char_at:
            start = sentence.start + char_at
            yield (
                replace(
                    sentence, start=start, end=sentence.start + char_end, text=sentence.text[char_at:char_end]
                ),
                len(piece),
            )
        char_at, byte_at = char_end, byte_end
