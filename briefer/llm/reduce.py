"""Reduce: when a section has more candidate points than fit one call, the model condenses them.

Candidates are first merged the deterministic way (same or near-identical
text). If more than `budget` are left, they are sent in groups of `budget`;
the model merges each group into at most `max_items` points, each naming the
candidates it combines (P1, P2 …), and a point cites every sentence its
candidates cite, so grounding is kept by construction. Rounds repeat while the
section is over budget, at most `MAX_ROUNDS` times and only while they shrink
it; whatever is left goes to the usual merge, which keeps the best-ranked.

A reduce answer can lose nothing: candidates no kept point names stay as they
are, and a group whose answer is empty, names no candidate, or stays malformed
after the re-asks is kept whole.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from briefer.errors import AnswerShapeError
from briefer.findings import Finding, Findings
from briefer.llm.ask import Asker
from briefer.llm.budget import merged_points_budget
from briefer.llm.prompt import reduce_messages
from briefer.llm.schema import REDUCE_SCHEMA_NAME, MergedPoints, reduce_schema
from briefer.merge import merge_points
from briefer.templates import SectionSpec, Template
from briefer.waiting import result_of

log = logging.getLogger("briefer")

MAX_ROUNDS = 3
REDUCE_BUDGET = 32
"""Candidates of one section that fit one reduce call; more than this and the model condenses them."""


def reduce_findings(
    asker: Asker,
    findings: Sequence[Finding],
    template: Template,
    source_order: Sequence[str],
    budget: int = REDUCE_BUDGET,
    concurrency: int = 1,
) -> Findings:
    """`findings` with every point section over `budget` candidates condensed by the model, in up to
    `concurrency` calls at once."""
    order = {source: i for i, source in enumerate(source_order)}
    result = Findings()
    for spec in template.sections:
        mine = [f for f in findings if f.section == spec.key]
        if spec.items == "people" or len(mine) <= budget:
            result.items.extend(mine)
            continue
        pool = merge_points(mine, order)
        rounds = 0
        while len(pool) > budget and rounds < MAX_ROUNDS:
            rounds += 1
            condensed = _round(asker, template, spec, pool, budget, concurrency, result)
            if len(condensed) >= len(pool):
                break
            pool = condensed
        result.items.extend(pool)
    return result


def _round(
    asker: Asker,
    template: Template,
    spec: SectionSpec,
    pool: list[Finding],
    budget: int,
    concurrency: int,
    spent: Findings,
) -> list[Finding]:
    groups = [pool[i : i + budget] for i in range(0, len(pool), budget)]
    workers = ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(groups))))
    try:
        calls = [workers.submit(_condense, asker, template, spec, group) for group in groups]
        outcomes = [result_of(call) for call in calls]
    finally:
        # Not waited for on an error or Ctrl-C: calls in flight end with the engine's client.
        workers.shutdown(wait=False, cancel_futures=True)
    condensed: list[Finding] = []
    for found in outcomes:
        condensed.extend(found.items)
        spent.usage += found.usage
        spent.dropped += found.dropped
    return condensed


def _condense(asker: Asker, template: Template, spec: SectionSpec, group: list[Finding]) -> Findings:
    """One reduce call: `group` merged into at most `spec.max_items` points (the group as is if it did not fit)."""
    messages = reduce_messages(template, spec, [f.text for f in group])
    schema = reduce_schema(spec.max_items, len(group))
    budget = merged_points_budget(spec.max_items, len(group))
    try:
        answer, usage = asker.ask(messages, schema, REDUCE_SCHEMA_NAME, MergedPoints, budget)
    except AnswerShapeError as exc:
        log.warning("%s; keeping the %d %s points as they are", exc, len(group), spec.key)
        return Findings(items=list(group))
    found = Findings(usage=usage)
    if answer is None:
        found.items.extend(group)
        return found
    assert isinstance(answer, MergedPoints)
    chosen = answer.points[: spec.max_items]
    covered: set[int] = set()
    for rank, point in enumerate(chosen):
        merged = _candidates(point.merges, group)
        text = " ".join(point.text.split())
        if not merged or not text:
            found.dropped += 1
            continue
        covered.update(id(f) for f in merged)
        refs = list(dict.fromkeys(ref for f in merged for ref in f.refs))
        score = len(merged) + 1.0 - rank / (len(chosen) + 1)
        found.items.append(Finding(spec.key, text, refs, score=score))  # checked for support in verify
    # Candidates no merged point stands for are kept: a model that leaves them out loses nothing.
    found.items.extend(f for f in group if id(f) not in covered)
    return found


def _candidates(ids: Sequence[str], group: Sequence[Finding]) -> list[Finding]:
    """The candidates named by ids such as "P3" (or "3"), each once; unknown ids are ignored."""
    found: dict[int, Finding] = {}
    for raw in ids:
        digits = raw.strip().strip("[]").lstrip("Pp")
        if digits.isdigit() and 1 <= int(digits) <= len(group):
            found.setdefault(int(digits), group[int(digits) - 1])
    return list(found.values())
