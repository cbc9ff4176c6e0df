"""The offline engine: named-entity recognition for people, cue-guided sentence selection for points.

No network, no key. People come from spaCy's PERSON entities, with roles read
from the words around each name. A sentence may go to a point section when it
matches what the template says belongs there (its cue words and phrases, and
the words of its description) well enough for how central it is to all the
sources. Which of those sentences the brief says is decided for all point
sections at once, by how much of the sources' shared content each adds
(`briefer.salience.cover`): the brief covers what the sources agree matters
and does not say it twice.
"""

from __future__ import annotations

import re
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from typing import TYPE_CHECKING, overload

from briefer.chunking import Chunk
from briefer.differences import find_differences
from briefer.engines.base import Engine
from briefer.findings import Finding, Findings
from briefer.merge import group_people, merge_points, same_point
from briefer.numbers import MONTHS
from briefer.paraphrase import SpunPhrase, terms_in, with_standard
from briefer.people import clean_name, role_for
from briefer.salience import Coverage, Ref, cover, salience
from briefer.sentences import Entity, Sentence, load_nlp, stop_words
from briefer.sources import Source
from briefer.templates import SectionSpec, Template

if TYPE_CHECKING:
    from briefer.settings import Settings

_CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ"})
_DESCRIPTION_WEIGHT = 0.5
_DESCRIPTION_CAP = 3
_SHORT_SENTENCE_WORDS = 6
_MIN_POINT_WORDS = 4
"""A shorter "sentence" (a credit line, a heading) is never a point."""
_CUT_SHORT = re.compile(r"(\.\.\.|…)\s*(\([^()]*\))?\s*$")
"""A teaser cut off mid-sentence ("France reacted to the...", "…(Associated Press)") is never a point."""
_OPENING_QUOTE = re.compile(r'\W{0,2}"')
_WEEKDAY = r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
_MONTH = "|".join(name.capitalize() for name in sorted(MONTHS, key=len, reverse=True))
_FULL_DATE = rf"\b(?:{_MONTH})\.?\s+\d{{1,2}},\s+\d{{4}}\W*$"
_CAPTION_DATE = re.compile(rf"(?:,|\b{_WEEKDAY},)\s+(?:{_WEEKDAY},?\s+)?{_FULL_DATE}")
"""A photo caption's end: "…, in Taipei, Taiwan, Saturday, Jan. 16, 2016." News text says "on
Saturday"; a wire photo's caption ends with place, weekday and the full date."""
_FULL_DATE_END = re.compile(_FULL_DATE)
"""A full date at a sentence's end: a caption's when its verb is in the present tense ("A protester
stands inside the seized building in Kharkiv April 6, 2014.")."""
_PREPOSITION_BEFORE = re.compile(
    r"\b(?:on|by|until|till|before|after|since|from|of|for|through|to)\s*$", re.IGNORECASE
)
_ASIDE = re.compile(r"\([^()]*\)\W*")
"""A sentence wholly in brackets is an aside to the reader, in news pages a link or a promotion:
"(Follow the latest updates on the crash.)"."""
_OTHER_SECTION_SHARE = 0.5
_CLEAR_FIT = 1.0
"""How far above a section's `min_score` a sentence's fit must be for the section's priority to count."""
_ECHO_SHARED_WORDS = 2
_ECHO_BOUND = 0.2
"""Content words a sentence must share with a point (at least 2, and this share of the larger
word set) before it is compared as a possible echo: below merge's `SAME_POINT` (0.3), as the
words counted here are a little wider than merge's."""
_VERB_POS = frozenset({"VERB", "AUX"})
_LEAD_SENTENCES = 10
GATE_WEIGHT = 4.0
"""How much salience (0 to 1) counts towards a section's `min_score`: a central sentence needs less
fit. Measured with benchmarks/bench_quality.py on ../shared/eval (2 → 4 raised ROUGE-2 against
the lead baseline for every template; above 4 nothing changed)."""
LEAST_GAIN = 0.1
"""A point must add at least this share of what the strongest point adds per word: past it a
section is padded with what the sources barely share, and a reader with little time is better
served by a shorter brief. Measured with benchmarks/bench_quality.py: 0.07, 0.1 and 0.13 all
raised ROUGE-2 against the lead baseline at the same length on MultiLing and Multi-News (see the
README); briefs there got 25-35% shorter."""


class ExtractiveEngine(Engine):
    """Extracts findings from the text itself; every item is a sentence or a name found in one."""

    name = "extractive"
    verbatim = True

    def __init__(self) -> None:
        self._description_lemmas: dict[str, frozenset[str]] = {}
        self._titles: dict[str, str] = {}
        self._template: Template | None = None
        self._points = _PointRows()
        self._people = _PeopleRows()
        self._verdicts = _Verdicts()

    @classmethod
    def from_settings(cls, settings: Settings) -> Engine:
        return cls()  # offline: nothing to configure

    def prepare(self, template: Template, sources: Sequence[Source], chunk_tokens: int) -> None:
        self._titles = {source.id: _plain(source.title) for source in sources}
        self._points = _PointRows()  # a new run: no candidate of an earlier one
        self._people = _PeopleRows()
        self._verdicts = _Verdicts()
        self._learn(template)

    def _learn(self, template: Template) -> None:
        """The content lemmas of each point section's description (a new template's, when the
        engine is used again: nothing of an earlier run's template or sources is kept)."""
        specs = [s for s in template.sections if s.items == "points"]
        nlp = load_nlp()
        self._description_lemmas = {
            spec.key: frozenset(
                t.lemma_.lower() for t in doc if t.pos_ in _CONTENT_POS and not t.is_stop and t.is_alpha
            )
            for spec, doc in zip(specs, nlp.pipe(s.description for s in specs), strict=True)
        }
        self._template = template

    def extract(self, chunk: Chunk, template: Template) -> Findings:
        """No findings: the people `chunk` names and the sentences that may be points are kept here
        as rows (a mention, a section; a sentence, a section, its fit) until `reduce` chooses among
        them. A finding for each costs some 300 bytes, and a long input has one or more for most
        sentences and names people hundreds of thousands of times."""
        if template is not self._template:  # called without `prepare`, or with another template
            self._learn(template)
        spun: dict[int, list[SpunPhrase]] = {}
        for match in chunk.spun:
            spun.setdefault(match.sentence, []).append(match)
        points = [s for s in chunk.sentences if self._verdicts.add(s, self._may_be_point(s))]
        texts: dict[int, str] = {}  # one copy of a sentence's text for all the sections it may go to
        mentions: list[tuple[Sentence, str, str | None]] | None = None  # found once for all people sections
        for spec in template.sections:
            if spec.items == "people":
                if mentions is None:
                    mentions = list(_people(chunk.sentences))
                for sentence, name, role in mentions:
                    self._people.add(spec.key, sentence, name, role)
                continue
            lemmas = self._description_lemmas[spec.key]
            for at, sentence in enumerate(points):
                score = score_sentence(sentence, spec, lemmas)
                if score > 0 and score + GATE_WEIGHT >= spec.extractive.min_score:
                    terms: Sequence[tuple[str, str]] = ()
                    if sentence.number in spun:
                        # in standard terms, a spun source's point matches a clean source's
                        text = texts.get(at) or texts.setdefault(at, _point_text(sentence.text))
                        terms = terms_in(text, spun[sentence.number])
                    self._points.add(spec.key, sentence, score, terms)
        return Findings()

    def reduce(
        self,
        findings: Sequence[Finding],
        template: Template,
        sentences: Mapping[str, Sequence[Sentence]],
        source_order: Sequence[str],
    ) -> Findings:
        """The points of every section chosen together by coverage of the sources' shared content,
        in the order chosen; the people named twice or more, or with a role (`_named_enough`), of
        the mentions in `findings` and then those `extract` kept.

        A sentence is a candidate for a section when its fit plus `GATE_WEIGHT` times its salience
        reaches the section's `min_score`. Each sentence goes to one section at most, and no
        section takes more than its `max_items`. Each point also cites the sentences of other
        sources that make the same point. A section left empty because none of its candidates adds
        content the sources share gets its strongest candidate, unless another section makes it.
        """
        order = {source: i for i, source in enumerate(source_order)}
        points = self._choose_points(findings, template, sentences, source_order, order)
        # People once the points' working data is gone: grouping every mention of a large input
        # takes tens of megabytes, which would otherwise come on top of the coverage step's; the
        # mentions are made findings only now, for the same reason (`_PeopleRows`).
        mentions = [f for f in findings if f.name is not None]
        rows, self._people = self._people, _PeopleRows()
        mentions += rows.findings()
        del rows
        people = _named_enough(mentions, order, sentences)
        del mentions
        return Findings(items=people + points)

    def _choose_points(
        self,
        findings: Sequence[Finding],
        template: Template,
        sentences: Mapping[str, Sequence[Sentence]],
        source_order: Sequence[str],
        order: Mapping[str, int],
    ) -> list[Finding]:
        salient = salience(sentences)
        limits = {spec.key: spec.max_items for spec in template.sections if spec.items == "points"}
        minimum = {spec.key: spec.extractive.min_score for spec in template.sections}

        def passes(section: str, ref: Ref, score: float) -> bool:
            return section in limits and score + GATE_WEIGHT * salient[ref] >= minimum[section]

        # Point findings given (none from `extract`), then the rows `extract` kept, as numbers: a
        # finding is made only for a candidate read as one (`_Candidates`).
        rows, self._points = self._points, _PointRows()
        given = [f for f in findings if f.name is None and passes(f.section, f.refs[0], f.score)]
        candidates = _Candidates(given, rows, rows.passing(passes), sentences)
        del rows
        # A sentence goes only where it fits at least half as well as where it fits best: to the
        # section of highest priority that it clearly fits (so a narrow section is not starved by
        # a broad one), else to the one it fits best.
        best_fit: dict[Ref, float] = {}
        for (_, ref), score in zip(candidates, candidates.scores(), strict=True):
            best_fit[ref] = max(best_fit.get(ref, 0.0), score)
        priority = {spec.key: spec.extractive.priority for spec in template.sections}

        def claim(section: str, score: float) -> int:  # a section of higher priority it clearly fits
            return priority[section] if score >= minimum[section] + _CLEAR_FIT else 0

        candidates.keep_sorted(
            lambda section, ref, score: score >= _OTHER_SECTION_SHARE * best_fit[ref],
            lambda section, score: (-claim(section, score), -score),
        )
        best_fit.clear()  # each step below holds only what the next needs: a long input has many candidates
        coverage = Coverage(sentences, (ref for _, ref in candidates), self._may_be_point_again)
        chosen: list[Finding] = []

        def repeats(index: int, taken: Sequence[int]) -> bool:
            finding = candidates.finding(index)
            return any(same_point(finding, candidates.pin(j)) for j in taken)

        for index, gain in cover(candidates, coverage, limits, repeats, least=LEAST_GAIN):
            point = candidates.pin(index)
            point.score = gain
            chosen.append(point)
        del coverage  # the concepts of every candidate: not needed to find the echoes
        points = _with_echoes(chosen, candidates, order)
        # A section that only one source speaks to (a reaction, a question) still gets its best
        # point, unless that point is already made in another section.
        cited = {ref for point in points for ref in point.refs}
        fallback: list[Finding] = []
        filled = {point.section for point in points}
        for key in (key for key in limits if key not in filled):  # in template order
            left = [  # a point that clearly belongs there, not one salience alone let in
                i
                for i, (section, ref) in enumerate(candidates)
                if section == key and ref not in cited and candidates.fit(i) >= minimum[key]
            ]
            if left:
                at = max(left, key=lambda i: candidates.fit(i) + GATE_WEIGHT * salient[candidates[i][1]])
                best = candidates.pin(at)
                best.score = 0.0
                fallback.append(best)
                cited.add(best.refs[0])
        points += _with_echoes(fallback, candidates, order, cited)
        # Sources that share few words (opinion pieces, one story told from each side) leave a
        # brief of a point or two from one of them; each still has its own best point to make.
        unheard = _unheard(points, candidates, limits, source_order, salient)
        for best in unheard:
            best.score = -1.0
        cited = {ref for point in points for ref in point.refs} | {f.refs[0] for f in unheard}
        points += _with_echoes(unheard, candidates, order, cited)
        return points

    def _may_be_point(self, sentence: Sentence) -> bool:
        # a source's title is in the list of sources already
        return _can_be_point(sentence) and _plain(sentence.text) != self._titles.get(sentence.source)

    def _may_be_point_again(self, sentence: Sentence) -> bool:
        """`_may_be_point`, as `extract` found it when it saw this very sentence."""
        verdict = self._verdicts.get(sentence)
        return self._may_be_point(sentence) if verdict is None else verdict

    def differences(self, sentences: Mapping[str, Sequence[Sentence]]) -> Findings:
        return Findings(items=find_differences(sentences))


def _with_echoes(
    chosen: Sequence[Finding],
    candidates: _Candidates,
    order: Mapping[str, int],
    cited: Set[Ref] = frozenset(),
) -> list[Finding]:
    """The chosen points, each citing as well the sentences of other sources that make the same
    point (`merge_points`), so a point states how many sources support it. The candidates whose
    sentence is neither chosen nor `cited` may echo a point: each supports one point at most."""
    taken = {f.refs[0] for f in chosen}
    echoes: dict[Ref, int] = {}  # the first candidate of each sentence
    for index, (_, ref) in enumerate(candidates):
        if ref not in taken and ref not in cited:
            echoes.setdefault(ref, index)
    # The echoes near some chosen point, in any section, with their words: a finding and a set of
    # words for every candidate costs a kilobyte or more each, and a large input has tens of thousands.
    said_anywhere = [_words(with_standard(f.text, f.terms)) for f in chosen]
    near_any: dict[Ref, tuple[Finding, set[str]]] = {}
    for ref, index in echoes.items():
        finding = candidates.finding(index)
        found = _words(with_standard(finding.text, finding.terms))
        if any(_may_be_same(found, point) for point in said_anywhere):
            near_any[ref] = finding, found
    del echoes
    out: list[Finding] = []
    for key in dict.fromkeys(f.section for f in chosen):
        mine = [f for f in chosen if f.section == key]
        said = [_words(with_standard(f.text, f.terms)) for f in mine]
        lowest = min(f.score for f in mine)
        near = [e for e, found in near_any.values() if any(_may_be_same(found, point) for point in said)]
        supporting = [
            Finding(key, e.text, list(e.refs), score=lowest - 1.0 - i, fit=e.fit, terms=e.terms)
            for i, e in enumerate(near)
        ]
        for point in merge_points([*mine, *supporting], order):
            if point.refs[0] in taken:
                out.append(point)
                for ref in point.refs[1:]:
                    near_any.pop(ref, None)
    return out


class _PointRows:
    """The sentences `extract` found may be points: a row each of (section, sentence, fit), in the
    order found, packed in arrays (the spun phrases of the few rows that have some aside). A row
    keeps where its text lies in the source too: a sentence too long for a chunk comes in pieces."""

    def __init__(self) -> None:
        self._sections: list[str] = []
        self._sources: list[str] = []
        self._section_numbers: dict[str, int] = {}
        self._source_numbers: dict[str, int] = {}
        self._rows = array("Q")  # section number, source number, sentence number, start, end: a row each
        self._scores = array("d")
        self._terms: dict[int, Sequence[tuple[str, str]]] = {}

    def add(self, section: str, sentence: Sentence, score: float, terms: Sequence[tuple[str, str]]) -> None:
        if terms:
            self._terms[len(self._scores)] = terms
        self._rows.extend(
            (
                _number(section, self._sections, self._section_numbers),
                _number(sentence.source, self._sources, self._source_numbers),
                sentence.number,
                sentence.start,
                sentence.end,
            )
        )
        self._scores.append(score)

    def passing(self, passes: Callable[[str, Ref, float], bool]) -> array[int]:
        """The rows that `passes` (section, sentence, fit), in the order found."""
        return array(
            "q",
            (
                row
                for row, score in enumerate(self._scores)
                if passes(self.section(row), self.ref(row), score)
            ),
        )

    def section(self, row: int) -> str:
        return self._sections[self._rows[5 * row]]

    def ref(self, row: int) -> Ref:
        return self._sources[self._rows[5 * row + 1]], self._rows[5 * row + 2]

    def score(self, row: int) -> float:
        return self._scores[row]

    def finding(self, row: int, sentences: Mapping[str, Sequence[Sentence]]) -> Finding:
        """A finding of `row`: its sentence's text (the piece of it the row keeps) as a point, with
        the row's fit as its score and fit."""
        section, source, number, start, end = self._rows[5 * row : 5 * row + 5]
        whole = sentences[self._sources[source]][number - 1]
        score = self._scores[row]
        return Finding(
            self._sections[section],
            _point_text(whole.text[start - whole.start : end - whole.start]),
            [(self._sources[source], number)],
            score=score,
            fit=score,
            terms=self._terms.get(row, ()),
        )


class _PeopleRows:
    """The people `extract` found named: a row each of (section, name, role, source, sentence
    number), in the order found, packed in an array; each section, name, role and source is one
    string in a list. A finding per mention (with its list and citation) costs some 220 bytes:
    at 4 MB of input 12,380 of them held 2.7 MB from extraction to the end of `reduce`, through
    the coverage step's peak; a row costs 20 bytes. At 20 MB, rows took 13 MB off the peak of
    every step from extraction to the coverage step (cover: 350 → 337 MB, --jobs 2)."""

    _NO_ROLE = 0

    def __init__(self) -> None:
        self._sections: list[str] = []
        self._names: list[str] = []
        self._roles: list[str] = [""]  # role number 0: none given
        self._sources: list[str] = []
        self._section_numbers: dict[str, int] = {}
        self._name_numbers: dict[str, int] = {}
        self._role_numbers: dict[str, int] = {}
        self._source_numbers: dict[str, int] = {}
        self._rows = array("I")  # section, name, role, source and sentence numbers: a row each

    def __len__(self) -> int:
        return len(self._rows) // 5

    def add(self, section: str, sentence: Sentence, name: str, role: str | None) -> None:
        self._rows.extend(
            (
                _number(section, self._sections, self._section_numbers),
                _number(name, self._names, self._name_numbers),
                self._NO_ROLE if role is None else _number(role, self._roles, self._role_numbers),
                _number(sentence.source, self._sources, self._source_numbers),
                sentence.number,
            )
        )

    def findings(self) -> list[Finding]:
        """A finding for each mention, in the order found: its name as its text, one string for
        each name and role however often it is said, one citation for the mentions of a sentence."""
        found: list[Finding] = []
        cited = (-1, 0)  # the source and sentence numbers of `ref`
        ref: Ref = ("", 0)
        rows = self._rows
        for at in range(0, len(rows), 5):
            section, name, role, source, number = rows[at : at + 5]
            if (source, number) != cited:
                cited, ref = (source, number), (self._sources[source], number)
            text = self._names[name]
            found.append(
                Finding(
                    self._sections[section],
                    text,
                    [ref],
                    name=text,
                    role=None if role == self._NO_ROLE else self._roles[role],
                    score=1.0,
                )
            )
        return found


class _Candidates(Sequence[tuple[str, Ref]]):
    """Reduce's point candidates, read as (section, first citation) each: the point findings given
    to `reduce`, then rows `extract` kept (`_PointRows`), in the order chosen for them.

    A candidate is a number (a row, or -1 - its place among the findings given), and a finding is
    made when one is read (`finding`) or kept to be changed (`pin`, the same object each time).
    At 20 MB of input a finding, its citation list and its text for each of ~130,000 candidates
    took 24 MB at the coverage step's peak; the numbers take 8 bytes a candidate.
    """

    def __init__(
        self,
        given: Sequence[Finding],
        rows: _PointRows,
        passing: Iterable[int],
        sentences: Mapping[str, Sequence[Sentence]],
    ) -> None:
        self._given = list(given)
        self._rows = rows
        self._sentences = sentences
        self._ids = array("q", range(-1, -1 - len(self._given), -1))
        self._ids.extend(passing)
        self._pinned: dict[int, Finding] = {}

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> tuple[str, Ref]: ...
    @overload
    def __getitem__(self, index: slice) -> list[tuple[str, Ref]]: ...
    def __getitem__(self, index: int | slice) -> tuple[str, Ref] | list[tuple[str, Ref]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        at = self._ids[index]
        if at < 0:
            finding = self._given[-1 - at]
            return finding.section, finding.refs[0]
        return self._rows.section(at), self._rows.ref(at)

    def __iter__(self) -> Iterator[tuple[str, Ref]]:
        for index in range(len(self._ids)):
            yield self[index]

    def fit(self, index: int) -> float:
        """How well the candidate fits its section (its score when it was found)."""
        at = self._ids[index]
        return self._rows.score(at) if at >= 0 else self._given[-1 - at].fit or 0.0

    def scores(self) -> Iterator[float]:
        """Each candidate's score, in order (its fit, until `keep_sorted`)."""
        for at in self._ids:
            yield self._rows.score(at) if at >= 0 else self._given[-1 - at].score

    def keep_sorted(
        self,
        keep: Callable[[str, Ref, float], bool],
        key: Callable[[str, float], tuple[float, float]],
    ) -> None:
        """Keep the candidates that `keep` (section, first citation, score), ordered by `key`
        (section, score), the first found first among equals; each finding given has its score
        as its fit from now on, as a row has."""
        import numpy  # spaCy's own dependency: sorts by two keys without an object per candidate

        kept = array("q")
        first, second = array("d"), array("d")
        for at, (section, ref), score in zip(self._ids, self, self.scores(), strict=True):
            if keep(section, ref, score):
                kept.append(at)
                one, two = key(section, score)
                first.append(one)
                second.append(two)
        # Stable sorts, the second key first: equal keys keep the order found.
        by_second = numpy.argsort(numpy.frombuffer(second, dtype=numpy.float64), kind="stable")
        firsts = numpy.frombuffer(first, dtype=numpy.float64)[by_second]
        order = by_second[numpy.argsort(firsts, kind="stable")]
        self._ids = array("q", numpy.frombuffer(kept, dtype=numpy.int64)[order].tobytes())
        for at in self._ids:
            if at < 0:
                finding = self._given[-1 - at]
                finding.fit = finding.score

    def finding(self, index: int) -> Finding:
        """The candidate as a finding: the one `pin` keeps, when it was pinned, else a new one."""
        at = self._ids[index]
        if at < 0:
            return self._given[-1 - at]
        pinned = self._pinned.get(at)
        return pinned if pinned is not None else self._rows.finding(at, self._sentences)

    def pin(self, index: int) -> Finding:
        """The candidate as a finding kept for the rest of the run, the same object each time: one
        chosen as a point, whose score `reduce` sets."""
        at = self._ids[index]
        if at < 0:
            return self._given[-1 - at]
        pinned = self._pinned.get(at)
        if pinned is None:
            pinned = self._pinned[at] = self._rows.finding(at, self._sentences)
        return pinned


class _Verdicts:
    """Whether each sentence `extract` saw may be a point, by source and sentence number, with the
    sentence's length: a byte and 4 bytes a sentence, so that `reduce` need not check every
    sentence again. A sentence too long for a chunk comes in pieces, shorter than the sentence:
    no verdict is given for it."""

    def __init__(self) -> None:
        self._by_source: dict[str, tuple[bytearray, array[int]]] = {}

    def add(self, sentence: Sentence, verdict: bool) -> bool:
        """Keep `verdict` for `sentence` (a sentence or a piece of one); return it."""
        found = self._by_source.get(sentence.source)
        if found is None:
            found = self._by_source[sentence.source] = (bytearray(), array("I"))
        verdicts, lengths = found
        at = sentence.number - 1
        if at >= len(verdicts):
            lengths.extend([0] * (at + 1 - len(verdicts)))
            verdicts.extend(bytes(at + 1 - len(verdicts)))
        verdicts[at], lengths[at] = verdict, sentence.end - sentence.start
        return verdict

    def get(self, sentence: Sentence) -> bool | None:
        """The verdict kept for this whole sentence, or None."""
        found = self._by_source.get(sentence.source)
        at = sentence.number - 1
        if found is not None and at < len(found[0]) and found[1][at] == sentence.end - sentence.start > 0:
            return bool(found[0][at])
        return None


def _number(name: str, names: list[str], numbers: dict[str, int]) -> int:
    """`name`'s place in `names` (added when new), found through `numbers`."""
    number = numbers.get(name)
    if number is None:
        number = numbers[name] = len(names)
        names.append(name)
    return number


def _point_text(text: str) -> str:
    """A point's text: its sentence, with each run of white space one space."""
    return " ".join(text.split())


def _may_be_same(a: set[str], b: set[str]) -> bool:
    """Whether two word sets share enough for `merge_points` to find them one point (a bound:
    Jaccard is at most the shared words over the larger set), so most sentences are not compared."""
    shared = len(a & b)
    return shared >= _ECHO_SHARED_WORDS and shared >= _ECHO_BOUND * max(len(a), len(b))


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.casefold()) if w not in stop_words()}


def score_sentence(sentence: Sentence, spec: SectionSpec, description_lemmas: frozenset[str]) -> float:
    """How well `sentence` fits section `spec`: cue weights plus a little for description words."""
    hints = spec.extractive
    patterns = hints.patterns
    lowered = sentence.text.lower()
    score = sum(
        weight for needle, pattern, weight in patterns if needle in lowered and pattern.search(sentence.text)
    )
    if hints.entities:
        score += sum(hints.entities.get(label, 0.0) for label in {e.label for e in sentence.entities})
    overlap = description_lemmas.intersection(t.lemma for t in sentence.tokens if t.pos in _CONTENT_POS)
    if patterns or hints.entities:
        score += _DESCRIPTION_WEIGHT * min(len(overlap), _DESCRIPTION_CAP)
    else:  # a section with no cues (an ad-hoc one, say) is found by its description's words alone
        score += min(len(overlap), _DESCRIPTION_CAP + 1)
    score += spec.extractive.lead * max(0.0, 1 - (sentence.number - 1) / _LEAD_SENTENCES)
    words = sum(1 for t in sentence.tokens if t.pos not in {"PUNCT", "SPACE"})
    if words < _SHORT_SENTENCE_WORDS:
        score *= 0.5
    return score


def _plain(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def _can_be_point(sentence: Sentence) -> bool:
    """Whether a sentence can stand as a point: a statement (it has a verb), not a credit line, a
    date line or a caption heading, not a photo caption or an aside in brackets, not a teaser cut
    off mid-sentence, not the first part of a quotation whose speaker a later sentence names."""
    words = sum(1 for t in sentence.tokens if t.pos not in {"PUNCT", "SPACE"})
    return (
        words >= _MIN_POINT_WORDS
        and any(t.pos in _VERB_POS for t in sentence.tokens)
        and not _CUT_SHORT.search(sentence.text)
        and not _opens_a_quotation(sentence.text)
        and not _is_caption(sentence)
        and not _ASIDE.fullmatch(sentence.text.strip())
    )


def _is_caption(sentence: Sentence) -> bool:
    """Whether a sentence reads as a wire photo's caption (`_CAPTION_DATE`, `_FULL_DATE_END`)."""
    text = sentence.text
    if _CAPTION_DATE.search(text):
        return True
    end = _FULL_DATE_END.search(text)
    if end is None or _PREPOSITION_BEFORE.search(text, 0, end.start()):
        return False  # "… will resume on April 6, 2014." is news
    verb = next((t for t in sentence.tokens if t.pos == "VERB"), None)
    if verb is None:
        return False
    word = text[verb.start - sentence.start : verb.end - sentence.start].lower()
    return word in {verb.lemma, verb.lemma + "s", verb.lemma + "es"}


def _opens_a_quotation(text: str) -> bool:
    """Whether a sentence opens a quotation it does not close ("“We are not seeking a new Cold
    War." … "…,” Biden said."): on its own, a reader cannot tell who says it."""
    if text.count("“") > text.count("”"):
        return True
    return text.count('"') % 2 == 1 and _OPENING_QUOTE.match(text) is not None


def _unheard(
    points: Sequence[Finding],
    candidates: _Candidates,
    limits: Mapping[str, int],
    source_order: Sequence[str],
    salient: Mapping[Ref, float],
) -> list[Finding]:
    """While a brief has fewer points than sources, the strongest candidate (fit plus salience) of
    each source it cites nowhere, in source order, where that candidate's section has room."""
    if len(points) >= len(source_order):
        return []
    cited = {ref for point in points for ref in point.refs}
    heard = {source for source, _ in cited}
    own: dict[str, array[int]] = {}  # the candidates of each source not heard, in order
    for index, (_, ref) in enumerate(candidates):
        if ref[0] not in heard and ref not in cited:
            own.setdefault(ref[0], array("I")).append(index)
    counts: dict[str, int] = {}
    for point in points:
        counts[point.section] = counts.get(point.section, 0) + 1
    added: list[Finding] = []
    for source in source_order:
        if len(points) + len(added) >= len(source_order) or not any(
            _has_room(key, counts, limits) for key in limits
        ):
            break
        room = [i for i in own.get(source, ()) if _has_room(candidates[i][0], counts, limits)]
        if room:
            at = max(room, key=lambda i: candidates.fit(i) + GATE_WEIGHT * salient[candidates[i][1]])
            best = candidates.pin(at)
            added.append(best)
            counts[best.section] = counts.get(best.section, 0) + 1
    return added


def _has_room(section: str, counts: Mapping[str, int], limits: Mapping[str, int]) -> bool:
    return counts.get(section, 0) < limits[section]


def _named_enough(
    people: Sequence[Finding], order: Mapping[str, int], sentences: Mapping[str, Sequence[Sentence]]
) -> list[Finding]:
    """The mentions of the people a brief lists: those named in two sentences or more, or whose
    role a source gives. A name said once with nothing about who it is (a byline, a photo
    credit, a passing mention, a heading spaCy took for a name) tells a reader nothing. Nor does
    one word that no source gives a full name or a role to, and that never speaks ("Kellogg
    stated", "said Geng"): mostly what spaCy takes for a person ("Buk" missiles, "Brexit",
    "Twitter", "the Kim family")."""
    groups, unsure = group_people(people, order)
    # The mentions left out, not those kept: a name said once is one mention, so this set stays
    # small where a large input names people hundreds of thousands of times.
    unlisted = {id(mention) for mention in unsure}
    for mentions in groups:
        if any(m.role for m in mentions):
            continue
        if len({mention.refs[0] for mention in mentions}) < 2 or (
            all(" " not in (m.name or m.text).strip() for m in mentions)
            and not any(_speaks(m.name or m.text, _sentence(sentences, m.refs[0])) for m in mentions)
        ):
            unlisted.update(id(mention) for mention in mentions)
    return [mention for mention in people if id(mention) not in unlisted]


_SPEAKING = frozenset(
    {"say", "state", "tell", "add", "announce", "warn", "write", "argue", "insist", "respond"}
)


def _speaks(name: str, sentence: Sentence) -> bool:
    """Whether `name` is the subject of a verb of speech right after it ("Kellogg stated", "Kellogg
    also said") or comes right after one ("said Geng")."""
    tokens = sentence.tokens
    for i, token in enumerate(tokens):
        if sentence.text[token.start - sentence.start : token.end - sentence.start] != name:
            continue
        after = [t for t in tokens[i + 1 : i + 3] if t.pos != "ADV"][:1]
        if (after and after[0].lemma in _SPEAKING) or (i and tokens[i - 1].lemma in _SPEAKING):
            return True
    return False


def _sentence(sentences: Mapping[str, Sequence[Sentence]], ref: Ref) -> Sentence:
    source, number = ref
    return sentences[source][number - 1]


def _common_word(name: str, sentences: Sequence[Sentence]) -> bool:
    """Whether a one-word "name" also appears in lower case ("Tsunami" … "the tsunami"): a word, not a person."""
    pattern = re.compile(rf"\b{re.escape(name.lower())}\b")
    return any(pattern.search(s.text) for s in sentences)


_NAME_TAIL = re.compile(r"-([a-z]{1,4})\b(?!-)")
_COMPOUND_TAILS = frozenset(
    {"led", "run", "era", "like", "free", "wide", "born", "made", "type", "held", "size"}
)


def _name_tail(sentence: Sentence, entity: Entity) -> str:
    """The end of a hyphenated given name that spaCy leaves out of a name of two words or more:
    "Moon Jae" + "-in", "Ban Ki" + "-moon"; not a compound's ("a Putin-led war")."""
    tail = _NAME_TAIL.match(sentence.text, entity.end - sentence.start)
    if tail is None or " " not in entity.text.strip() or tail[1] in _COMPOUND_TAILS:
        return ""
    return tail[0]


def _people(sentences: Sequence[Sentence]) -> Iterator[tuple[Sentence, str, str | None]]:
    """Each mention of a person: its sentence, the name, the role the words around it give. A long
    input names people hundreds of thousands of times, mostly the same few: each name and role is
    one string however often it is said."""
    for sentence in sentences:
        for entity in sentence.entities:
            if entity.label != "PERSON":
                continue
            name = clean_name(entity.text + _name_tail(sentence, entity))
            if name is None or (" " not in name and _common_word(name, sentences)):
                continue
            role = role_for(sentence, entity)
            yield sentence, sys.intern(name), sys.intern(role) if role is not None else None
