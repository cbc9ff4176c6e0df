"""`--dry-run`: what a run would send, and roughly what it would cost, without calling anything.

Lists the sources, the calls the engine would make (`Engine.plan_calls`) with
their token counts, which of them the cache would answer, and an estimate of
the cost where the engine knows its model's price: the prompt tokens exactly
as counted, the output at most the output limit per call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from briefer.engines import Engine
from briefer.pipeline import prepare
from briefer.safe_text import one_line
from briefer.sources import Source
from briefer.templates import Template

if TYPE_CHECKING:
    from briefer.llm.planning import CallPlan, PlannedCall


@dataclass(frozen=True)
class RunPlan:
    engine: str
    model: str | None
    sources: list[Source]
    sentence_counts: dict[str, int]
    chunks: int
    calls: CallPlan | None
    """The model calls, or None for an engine that makes none."""


def plan_run(sources: Sequence[Source], template: Template, engine: Engine, chunk_tokens: int) -> RunPlan:
    """What `make_brief` would do with these arguments, up to the first model call."""
    sentences, chunks = prepare(sources, chunk_tokens)
    units = engine.plan(chunks, chunk_tokens)
    return RunPlan(
        engine=engine.name,
        model=engine.model,
        sources=list(sources),
        sentence_counts={source: len(found) for source, found in sentences.items()},
        chunks=len(chunks),
        calls=engine.plan_calls(template, units, sentences),
    )


def describe_plan(plan: RunPlan) -> str:
    """The plan as plain text for the terminal."""
    lines = ["Dry run: nothing is sent to any model.", ""]
    engine = plan.engine + (f", model {plan.model}" if plan.model else "")
    if plan.calls is not None and plan.calls.server:
        engine += f", server {plan.calls.server}"
    lines += [f"Engine: {engine}", "", "Sources:"]
    for source in plan.sources:
        lines.append(
            f"  {source.id}  {one_line(source.title)}  ({one_line(source.path)}; {len(source.text):,} characters, "
            f"{plan.sentence_counts.get(source.id, 0)} sentences)"
        )
    if plan.calls is None:
        lines += ["", f"{_n(plan.chunks, 'chunk')}; the {plan.engine} engine runs offline: no model calls."]
        return "\n".join(lines) + "\n"
    return "\n".join(lines + _describe_calls(plan.calls, plan.chunks)) + "\n"


def _describe_calls(plan: CallPlan, chunks: int) -> list[str]:
    extraction = sum(not c.differences for c in plan.calls)
    besides = ", and one asking where sources differ" if extraction < len(plan.calls) else ""
    lines = ["", f"Calls ({_n(chunks, 'chunk')} packed into {_n(extraction, 'call')}{besides}):"]
    for i, call in enumerate(plan.calls, start=1):
        cached = "  (answered from the cache)" if call.cached else ""
        lines.append(
            f"  {i:>3}  {call.sentences}  {call.text_tokens:,} tokens of text, "
            f"{call.prompt_tokens:,} with the prompt{cached}"
        )
    to_send = [c for c in plan.calls if not c.cached]
    prompt = sum(c.prompt_tokens for c in to_send)
    lines += [
        "",
        f"Would send {len(to_send)} of {_n(len(plan.calls), 'call')}: {prompt:,} prompt tokens, "
        f"at most {_limits(to_send)} output tokens each (more only if an answer is cut off), "
        f"plus reduce calls if a section gets more than {plan.reduce_budget} candidate points.",
    ]
    if plan.price is None:
        lines.append("Estimated cost: unknown (no price for this model or server).")
    else:
        cost_in = prompt * plan.price[0] / 1e6
        cost_out = sum(c.max_tokens for c in to_send) * plan.price[1] / 1e6
        lines.append(
            f"Estimated cost: ${cost_in:.4f} input + at most ${cost_out:.4f} output "
            f"(at ${plan.price[0]:g} / ${plan.price[1]:g} per million tokens)."
        )
    return lines


def _limits(calls: Sequence[PlannedCall]) -> str:
    """The calls' output limits: `2,406`, or `856 to 2,406` when they differ."""
    limits = sorted({c.max_tokens for c in calls})
    if not limits:
        return "0"
    return f"{limits[0]:,}" if len(limits) == 1 else f"{limits[0]:,} to {limits[-1]:,}"


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")
