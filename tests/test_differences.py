"""The offline differences finder on small hand-made sentences: the same lines and citations, in the
same order, as comparing every pair of facts; and the similar-pair search it uses."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from itertools import combinations

from briefer.differences import (
    _SAME_SUBJECT,
    MAX_DIFFERENCES,
    _content_words,
    _describe,
    _Fact,
    _facts,
    _jaccard,
    _similar,
    find_differences,
)
from briefer.findings import Finding
from briefer.people import fold
from briefer.sentences import Sentence, SentenceTable, split_sentences
from briefer.sources import Source


def every_pair(sentences: Mapping[str, Sequence[Sentence]]) -> list[Finding]:
    """The finder as it was: every pair of facts of a kind and verb compared, in order."""

    def sentence(ref: tuple[str, int]) -> Sentence:
        return sentences[ref[0]][ref[1] - 1]

    facts = [fact for numbered in sentences.values() for s in numbered for fact in _facts(s)]
    by_key: dict[tuple[str, str], list[_Fact]] = {}
    for fact in facts:
        by_key.setdefault((fact.kind, fact.verb), []).append(fact)
    found: dict[tuple[object, ...], Finding] = {}
    for group in by_key.values():
        for a, b in combinations(group, 2):
            if a.ref[0] == b.ref[0] or a.value == b.value:
                continue
            if a.kind == "place" and (
                str(a.value) in fold(sentence(b.ref).text) or str(b.value) in fold(sentence(a.ref).text)
            ):
                continue
            if _jaccard(_content_words(sentence(a.ref)), _content_words(sentence(b.ref))) < _SAME_SUBJECT:
                continue
            first, second = sorted((a, b), key=lambda f: (int(f.ref[0][1:]), f.ref[1]))
            key = (first.kind, first.verb, first.value, second.value)
            if key in found:
                found[key].refs.extend(r for r in (first.ref, second.ref) if r not in found[key].refs)
                continue
            found[key] = Finding("differences", _describe(first, second), [first.ref, second.ref], score=1.0)
    return list(found.values())[:MAX_DIFFERENCES]


def sources(texts: Sequence[str], ids: Sequence[int] | None = None) -> dict[str, SentenceTable]:
    ids = ids or range(1, len(texts) + 1)
    return split_sentences(
        [Source(id=f"S{i}", path=f"s{i}.txt", title=f"s{i}", text=t) for i, t in zip(ids, texts, strict=True)]
    )


def lines(found: Sequence[Finding]) -> list[tuple[str, list[tuple[str, int]], float]]:
    return [(f.text, f.refs, f.score) for f in found]


KILLED_52 = "Police said 52 people were killed in the London bombings."
KILLED_56 = "Police said 56 people were killed in the London bombings."


def test_repeated_facts_add_citations_to_the_line_of_their_values_in_source_order() -> None:
    # S3 repeats S1 and S4 repeats S2. Which source comes first decides the line: S2 (56) against
    # S3 (52) is a line of its own, and the pair S3 / S4 cites S3 on the first line after S4.
    sentences = sources([KILLED_52, KILLED_56, KILLED_52, KILLED_56])
    expected = [
        (
            "People killed: 52 according to S1, 56 according to S2",
            [("S1", 1), ("S2", 1), ("S4", 1), ("S3", 1)],
            1.0,
        ),
        ("People killed: 56 according to S2, 52 according to S3", [("S2", 1), ("S3", 1)], 1.0),
    ]
    assert lines(find_differences(sentences)) == expected
    assert lines(every_pair(sentences)) == expected


# Facts that differ between some of these sentences: numbers of people, dates, places, amounts,
# written in digits and words, with other words around them that share more or fewer words.
POOL = [
    KILLED_52,
    KILLED_56,
    "Police said fifty-two people were killed in the London bombings.",
    "At least 50 people were killed in the bombings, police said.",
    "The bombings in London killed 38 people on the Underground, officials said.",
    "Officials said 39 people were killed on the Underground in the London bombings.",
    "The summit will open in Geneva on March 3, diplomats said.",
    "The summit will open in Vienna on March 4, diplomats said.",
    "Diplomats said the summit would open in Geneva, Switzerland on March 3.",
    "The talks began on February 17 in Riyadh with both delegations present.",
    "The talks began on February 18 in Riyadh with both delegations present.",
    "The talks began on February 18 in Jeddah, officials from both delegations said.",
    "The government pledged $50 million in aid to the tsunami victims.",
    "The government pledged $35 million in aid to the tsunami victims on Monday.",
    "Twelve sailors were seized by Iranian forces in the Gulf, the navy said.",
    "Fifteen sailors were seized by Iranian forces in the Gulf, the navy said.",
    "Fifteen sailors and marines were seized by Iranian forces near the Shatt al-Arab.",
    "The weather in the capital was mild and no one was hurt.",
]


def test_the_same_lines_and_citations_as_comparing_every_pair_on_many_repeated_facts() -> None:
    chooser = random.Random(7)
    texts = [" ".join(chooser.sample(POOL, chooser.randint(1, 4))) for _ in range(6)]
    texts += [texts[i % 6] for i in range(10)]  # the same articles again, as a corpus repeats them
    texts += [" ".join(chooser.sample(POOL, 3)) for _ in range(8)]
    numbered = sources(texts)
    found = find_differences(numbered)
    assert len(found) >= 3 and any(len(f.refs) > 4 for f in found)  # the case has repeated facts
    assert lines(found) == lines(every_pair(numbered))
    # The same sentences in another order of sources, and source numbers that do not follow it.
    backwards = sources(texts[::-1], ids=[3 * i + 1 for i in range(len(texts))][::-1])
    assert lines(find_differences(backwards)) == lines(every_pair(backwards))


def test_similar_pairs_are_those_of_comparing_every_pair() -> None:
    chooser = random.Random(3)
    words = [f"w{n}" for n in range(14)]
    sets = [frozenset(chooser.sample(words, chooser.randint(0, 10))) for _ in range(150)]
    sets += [frozenset(words[:10]), frozenset(words[:3]), frozenset(words[7:10])]  # 3 of 10 shared: 0.3
    for least in (_SAME_SUBJECT, 0.1, 0.5, 1.0):
        expected = [
            (i, j) for i, j in combinations(range(len(sets)), 2) if _jaccard(sets[i], sets[j]) >= least
        ]
        assert sorted(_similar(sets, least)) == expected
    assert (len(sets) - 3, len(sets) - 1) in _similar(sets, _SAME_SUBJECT)  # exactly at the bound
