"""Verify: everything that decides whether an item of a brief stands.

Every engine's findings pass through here, in this order:

1. `resolve`: citations named by id ("S1:12") become sentences the model was
   shown; others are removed (`briefer.llm.ground` uses it on model answers).
2. `keep_cited`: items citing no real sentence, or a section the template does
   not have, are dropped and counted.
3. `check_support`: an item in an engine's own words (not a quoted sentence)
   must say what its cited sentences say. It is unsupported, and flagged with the
   reason, when
   - a number, date, money amount or percentage in it is not in its sentences
     with the same value ("two" = "2", "Feb. 17" = "February 17", "$3bn" = "$3 billion");
   - a name in it (a capitalised word: a person, place or organisation) is in none
     of its sentences, nor an alias of one the source gives ("Marco" for "Rubio");
   - it negates what its sentences affirm, or affirms what they negate;
   - fewer than half of its content words are in its sentences.
4. `keep_differences`: a "Where sources differ" line must cite sentences of two sources.
5. `check_citations`: before a brief is written, every citation quotes its sentence verbatim.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from briefer.brief import Section, Unsupported, Verification
from briefer.errors import RunError
from briefer.findings import Finding
from briefer.numbers import quantities, shown
from briefer.paraphrase import with_standard
from briefer.people import fold
from briefer.sentences import Sentence
from briefer.templates import Template

Ref = tuple[str, int]

MIN_SHARED = 0.5
"""Share of an item's content words that its cited sentences must hold."""
_STEM = 5
_SUFFIXES = ("ing", "ed", "es", "s")
_WORD = re.compile(r"\w+")
_POLARITY_TOKEN = re.compile(r"\w+?(?=n['’]t\b)|n['’]t\b|\w+|[^\w\s]")
_SOURCE_ID = re.compile(r"\bS\d+(?::\d+)?\b")
_ID = re.compile(r"^\s*\[?\s*(S\d+)\s*:\s*(\d+)\s*\]?\s*$")
_STOP = frozenset(
    """a an and are as at be been being but by can could did do does for from had has have he her his
    i if in into is it its itself may might more most must no not of on or our she should so such than
    that the their them then there these they this those to under up was we were what when where which
    while who whom why will with would you your also about after again against all any because before
    both during each few further here how just only other over own same some very said says say""".split()
)
_NEGATIONS = frozenset(
    """not no never without nor none nobody nothing neither cannot n't deny denies denied denying refuse
    refuses refused refusing reject rejects rejected rejecting n’t""".split()
)
_NEGATION_SCOPE = 4
"""Content words after a negation that it negates ("did not attend the talks": attend, talks)."""
_CLAUSE_END = frozenset(',.;:!?—–()"“”')
# Capitalised words that are not names: sentence openers, titles a line may add, calendar words.
_NOT_NAMES = frozenset(
    """the a an this that these those it its he she they we i mr mrs ms dr sir
    monday tuesday wednesday thursday friday saturday sunday january february march april may june
    july august september october november december jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)

UNSUPPORTED_REASONS = ("number", "name", "negation", "content")


# ---------------------------------------------------------------- citations


def parse_ref(text: str) -> Ref | None:
    """("S1", 12) from "S1:12" (also "[S1:12]"); None when it is not a sentence id."""
    match = _ID.match(text)
    return (match.group(1), int(match.group(2))) if match else None


def shown_sentences(sentences: Iterable[Sentence]) -> dict[Ref, str]:
    """The text of each sentence id shown to a model (pieces of a cut sentence joined)."""
    shown_text: dict[Ref, str] = {}
    for sentence in sentences:
        ref = (sentence.source, sentence.number)
        shown_text[ref] = f"{shown_text[ref]} {sentence.text}" if ref in shown_text else sentence.text
    return shown_text


def resolve(citations: Sequence[str], shown_text: Mapping[Ref, str]) -> list[Ref]:
    """The cited ids that name a shown sentence, in order, each once."""
    refs = (parse_ref(c) for c in citations)
    return list(dict.fromkeys(r for r in refs if r is not None and r in shown_text))


def keep_cited(
    findings: Iterable[Finding], sentences: Mapping[str, Sequence[Sentence]], template: Template
) -> tuple[list[Finding], Verification]:
    """Findings for the template's sections whose citations name real sentences (others dropped, counted)."""
    keys = {s.key for s in template.sections}
    kept: list[Finding] = []
    report = Verification()
    for finding in findings:
        refs = [ref for ref in dict.fromkeys(finding.refs) if exists(ref, sentences)]
        if finding.section not in keys or not refs or not finding.text.strip():
            report.items_dropped += 1
            continue
        if refs != finding.refs:  # most findings keep their own list: one each costs 56 bytes or more
            finding.refs = refs
        kept.append(finding)
    return kept, report


def keep_differences(
    findings: Iterable[Finding], sentences: Mapping[str, Sequence[Sentence]], report: Verification
) -> list[Finding]:
    """Lines for "Where sources differ" that cite real sentences of at least two sources."""
    kept: list[Finding] = []
    for finding in findings:
        refs = [ref for ref in dict.fromkeys(finding.refs) if exists(ref, sentences)]
        if len({source for source, _ in refs}) < 2 or not finding.text.strip():
            report.items_dropped += 1
            continue
        finding.refs = refs
        kept.append(finding)
    return kept


def check_citations(sections: Sequence[Section], sentences: Mapping[str, Sequence[Sentence]]) -> int:
    """Check that every citation quotes the sentence it names, verbatim; returns how many were checked.

    A mismatch is a bug in briefer, never the user's input, so it fails loudly.
    """
    checked = 0
    for section in sections:
        for item in section.items:
            for citation in item.citations:
                numbered = sentences.get(citation.source, ())
                if (
                    not 1 <= citation.sentence <= len(numbered)
                    or numbered[citation.sentence - 1].text != citation.quote
                ):
                    raise RunError(
                        f"internal check failed: citation {citation.ref} does not quote its sentence"
                    )
                checked += 1
    return checked


def exists(ref: Ref, sentences: Mapping[str, Sequence[Sentence]]) -> bool:
    source, number = ref
    return source in sentences and 1 <= number <= len(sentences[source])


# ---------------------------------------------------------------- support


def check_support(
    findings: Iterable[Finding],
    sentences: Mapping[str, Sequence[Sentence]],
    standard_terms: Mapping[Ref, Sequence[tuple[str, str]]] | None = None,
) -> None:
    """Mark each finding supported or not by its cited sentences (`supported`, `unsupported`).

    A cited sentence with machine-paraphrased phrases (`standard_terms`: (phrase, standard)
    by sentence) also counts in standard terms: a line may say "Foreign Minister" where the
    sentence has the spun "International Minister".
    """
    aliases: dict[str, frozenset[str]] = {}
    terms = standard_terms or {}
    for finding in findings:
        cited = [sentences[source][number - 1].text for source, number in finding.refs]
        cited += [
            with_standard(sentences[ref[0]][ref[1] - 1].text, terms[ref])
            for ref in finding.refs
            if ref in terms
        ]
        for source in {source for source, _ in finding.refs}:
            if source not in aliases:
                aliases[source] = name_aliases(s.text for s in sentences[source])
        known = frozenset().union(*(aliases[source] for source, _ in finding.refs))
        if finding.name is not None:
            problem = person_support(finding.name, finding.role, cited, known)
        else:
            problem = point_support(finding.text, cited, known)
        finding.supported = problem is None
        finding.unsupported = problem


def count_unsupported(findings: Sequence[Finding], report: Verification) -> None:
    """Add the unsupported findings to `report`, in all and by reason."""
    reasons = Counter(f.unsupported.reason for f in findings if f.supported is False and f.unsupported)
    flagged = [f for f in findings if f.supported is False]
    report.items_unsupported += len(flagged)
    if reasons:
        by_reason = dict(report.unsupported_by_reason or {})
        for reason, count in reasons.items():
            by_reason[reason] = by_reason.get(reason, 0) + count
        report.unsupported_by_reason = {r: by_reason[r] for r in UNSUPPORTED_REASONS if r in by_reason}


def point_support(
    text: str, cited: Sequence[str], aliases: frozenset[str] = frozenset()
) -> Unsupported | None:
    """Why the cited sentences do not support a line in other words (numbers, names, negation,
    content), or None when they do."""
    text = _SOURCE_ID.sub(" ", text)  # "(S1)", "according to S2": the brief's own source ids
    for check in (_numbers, _names, _negation, _content):
        problem = check(text, cited, aliases)
        if problem is not None:
            return problem
    return None


def person_support(
    name: str, role: str | None, cited: Sequence[str], aliases: frozenset[str] = frozenset()
) -> Unsupported | None:
    """Why the cited sentences do not support a person (their surname missing, or their role
    unsupported like a line), or None when they do."""
    words = _WORD.findall(fold(name))
    if not words:
        return Unsupported(reason="name", detail="no name")
    surname = words[-1]
    if not any(surname in _WORD.findall(fold(sentence)) for sentence in cited):
        return Unsupported(reason="name", detail=f"{name.split()[-1]} is not in them")
    return point_support(role, cited, aliases) if role else None


def point_supported(text: str, cited: Iterable[str]) -> bool:
    """Whether the cited sentences support `text` (see `point_support`)."""
    return point_support(text, list(cited)) is None


def person_supported(name: str, role: str | None, cited: Iterable[str]) -> bool:
    """Whether the cited sentences name the person and support their role (see `person_support`)."""
    return person_support(name, role, list(cited)) is None


def content_stems(text: str) -> set[str]:
    """The content words of `text`, folded and stemmed ("talks", "talked", "talking" → "talk")."""
    return {_stem(w) for w in _WORD.findall(fold(text)) if w not in _STOP and (len(w) > 1 or w.isdigit())}


def name_aliases(texts: Iterable[str]) -> frozenset[str]:
    """Words that stand for a name a source gives in full: "marco" where it writes "Marco Rubio".

    A line may call someone by a fuller name than the sentence it cites, as long
    as the source itself gives that fuller name somewhere.
    """
    words: set[str] = set()
    for text in texts:
        for match in re.finditer(r"\b([A-Z][\w’'.-]+)(?:\s+[A-Z][\w’'.-]+)+", text):
            words.update(fold(w) for w in match.group(0).split()[:-1])
    return frozenset(words)


def _numbers(text: str, cited: Sequence[str], aliases: frozenset[str]) -> Unsupported | None:
    stated = quantities(" ".join(cited))
    days = {value[1] for value in stated if isinstance(value, tuple)}
    for value in sorted(quantities(text), key=str):
        if value in stated or (isinstance(value, float) and value in days):
            continue
        return Unsupported(reason="number", detail=f"{shown(value)} is not in them")
    return None


def _names(text: str, cited: Sequence[str], aliases: frozenset[str]) -> Unsupported | None:
    found = {_stem(w) for w in _WORD.findall(fold(" ".join(cited)))}
    initials = _initials(cited)
    for name in _capitalised(text):
        folded = fold(name)
        letters = folded.replace(".", "")
        if _stem(folded) in found or folded in aliases or letters in initials or letters in found:
            continue
        return Unsupported(reason="name", detail=f"{name} is not in them")
    return None


def _capitalised(text: str) -> list[str]:
    """The capitalised words of a line that are not its first word (a first word is capitalised anyway)."""
    names: list[str] = []
    for match in re.finditer(r"[A-Z][\w’'.]*", text):
        start = match.start()
        before = text[:start].rstrip()
        if not before or before[-1] in '.:!?—–-•"“(':
            continue  # starts a sentence or a clause: capitalised as a rule, not as a name
        word = re.sub(r"(?:['’]s|['’]|\.)$", "", match.group(0))
        if fold(word) not in _NOT_NAMES and fold(word) not in _STOP and len(word) > 1:
            names.append(word)
    return names


def _initials(cited: Sequence[str]) -> set[str]:
    """Acronyms of the capitalised phrases of the cited sentences ("United Nations" → "un")."""
    found: set[str] = set()
    for sentence in cited:
        for match in re.finditer(r"\b[A-Z][a-z]+(?:\s+(?:of\s+)?[A-Z][a-z]+)+", sentence):
            capitals = [w[0] for w in match.group(0).split() if w[0].isupper()]
            found.update("".join(capitals[i:]).lower() for i in range(len(capitals) - 1))
    return found


def _negation(text: str, cited: Sequence[str], aliases: frozenset[str]) -> Unsupported | None:
    negated, affirmed = _polarity(text)
    cited_negated: set[str] = set()
    cited_affirmed: set[str] = set()
    for sentence in cited:
        no, yes = _polarity(sentence)
        cited_negated |= no
        cited_affirmed |= yes
    for word in sorted(negated):
        if word in cited_affirmed and word not in cited_negated:
            return Unsupported(reason="negation", detail="it negates what they affirm")
    for word in sorted(affirmed):
        if word in cited_negated and word not in cited_affirmed:
            return Unsupported(reason="negation", detail="it affirms what they negate")
    return None


def _polarity(text: str) -> tuple[set[str], set[str]]:
    """The content stems of `text` under a negation ("not", "never", "denied" …) and the others."""
    negated: set[str] = set()
    affirmed: set[str] = set()
    scope = 0
    for token in _POLARITY_TOKEN.findall(fold(text)):
        if token in _CLAUSE_END:
            scope = 0
            continue
        if token in _NEGATIONS:
            scope = _NEGATION_SCOPE
            continue
        if token in _STOP or (len(token) < 2 and not token.isdigit()):
            continue
        (negated if scope else affirmed).add(_stem(token))
        scope = max(0, scope - 1)
    return negated, affirmed


def _content(text: str, cited: Sequence[str], aliases: frozenset[str]) -> Unsupported | None:
    words = content_stems(text)
    if not words:
        return Unsupported(reason="content", detail="it says nothing")
    found = set().union(*(content_stems(sentence) for sentence in cited))
    if len(words & found) / len(words) >= MIN_SHARED:
        return None
    return Unsupported(reason="content", detail="")


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:_STEM]
