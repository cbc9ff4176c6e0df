"""Reduce: when a section has more candidate points than fit one call, the model condenses them.

Candidates are first merged the deterministic way (same or near-identical
text). If more than `budget` are left, they are sent in groups of `budget`;
the model merges each group into at most `max_items` points, each naming the
candidates it combines (P1, P2 …), and a point cites every sentence its
candidates cite, so grounding is kept by construction. Rounds repeat while the
section is over budget, at most `MAX_ROUNDS` times and only while they shrink
it; whatever is left goes to the usual merge, which keeps the best-ranked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from briefer.findings import Finding, Findings
from briefer.llm.prompt import reduce_messages
from briefer.llm.schema import REDUCE_SCHEMA_NAME, MergedPoints, reduce_schema
from briefer.llm.support import point_supported
from briefer.merge import merge_points
from briefer.sentences import Sentence
from briefer.templates import SectionSpec, Template

if TYPE_CHECKING:
    from briefer.engines.openai_engine import OpenAIEngine

MAX_ROUNDS = 3


def reduce_findings(
    engine: OpenAIEngine,
    findings: Sequence[Finding],
    template: Template,
    sentences: Mapping[str, Sequence[Sentence]],
    source_order: Sequence[str],
    budget: int,
) -> Findings:
    """`findings` with every point section over `budget` candidates condensed by the model."""
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
            condensed = _round(engine, template, spec, pool, sentences, budget, result)
            if len(condensed) >= len(pool):
                break
            pool = condensed
        result.items.extend(pool)
    return result


def _round(
    engine: OpenAIEngine,
    template: Template,
    spec: SectionSpec,
    pool: list[Finding],
    sentences: Mapping[str, Sequence[Sentence]],
    budget: int,
    spent: Findings,
) -> list[Finding]:
    groups = [pool[i : i + budget] for i in range(0, len(pool), budget)]
    with ThreadPoolExecutor(max_workers=max(1, min(engine.concurrency, len(groups)))) as workers:
        outcomes = list(
            workers.map(lambda group: _condense(engine, template, spec, group, sentences), groups)
        )
    condensed: list[Finding] = []
    for points, cost in outcomes:
        condensed.extend(points)
        _add_cost(spent, cost)
    return condensed


def _condense(
    engine: OpenAIEngine,
    template: Template,
    spec: SectionSpec,
    group: list[Finding],
    sentences: Mapping[str, Sequence[Sentence]],
) -> tuple[list[Finding], Findings]:
    """One reduce call: `group` merged into at most `spec.max_items` points (the group as is if it did not fit)."""
    cost = Findings()
    messages = reduce_messages(template, spec, [f.text for f in group])
    schema = reduce_schema(spec.max_items, len(group))
    answer = engine.ask(messages, schema, REDUCE_SCHEMA_NAME, MergedPoints, cost)
    if answer is None:
        return group, cost
    assert isinstance(answer, MergedPoints)
    points: list[Finding] = []
    chosen = answer.points[: spec.max_items]
    for rank, point in enumerate(chosen):
        merged = _candidates(point.merges, group)
        text = " ".join(point.text.split())
        if not merged or not text:
            cost.dropped += 1
            continue
        refs = list(dict.fromkeys(ref for f in merged for ref in f.refs))
        cited = [sentences[source][number - 1].text for source, number in refs]
        points.append(
            Finding(
                spec.key,
                text,
                refs,
                score=len(merged) + 1.0 - rank / (len(chosen) + 1),
                supported=point_supported(text, cited),
            )
        )
    return points, cost


def _candidates(ids: Sequence[str], group: Sequence[Finding]) -> list[Finding]:
    """The candidates named by ids such as "P3" (or "3"), each once; unknown ids are ignored."""
    found: dict[int, Finding] = {}
    for raw in ids:
        digits = raw.strip().strip("[]").lstrip("Pp")
        if digits.isdigit() and 1 <= int(digits) <= len(group):
            found.setdefault(int(digits), group[int(digits) - 1])
    return list(found.values())


def _add_cost(total: Findings, part: Findings) -> None:
    total.llm_calls += part.llm_calls
    total.cached_calls += part.cached_calls
    total.prompt_tokens += part.prompt_tokens
    total.completion_tokens += part.completion_tokens
    total.dropped += part.dropped
