"""Asking a model one question: send, check the answer, ask again when it is broken, count the cost.

An answer that is not valid JSON or breaks the schema is asked again at most
`MAX_REASKS` times, each time with the original messages plus only the last bad
answer and what is wrong with it (never the whole history). An answer cut off
at the output limit (`--max-tokens`, else the question's own budget, see
`briefer.llm.budget`) is asked once more with twice the limit; if that is cut off
too, the caller gets None and splits its question. Only answers that pass the
checks are kept in the cache, as they were parsed and cleaned (`briefer.llm.schema`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from briefer.errors import AnswerShapeError, RefusalError
from briefer.findings import Usage
from briefer.llm.budget import output_limit
from briefer.llm.prompt import Message, reask_messages
from briefer.llm.request import ChatRequest
from briefer.llm.schema import AnswerError, parse_answer

if TYPE_CHECKING:
    from pydantic import BaseModel

    from briefer.llm.client import Answer, ChatClient

MAX_REASKS = 2
"""Times a broken answer (not JSON, or not the schema) is asked again."""
MAX_ECHOED_CHARS = 4000
"""Characters of a broken answer shown back to the model when asking again (a 2 MB answer is cut)."""


class Asker:
    """Asks `client` questions whose answers must fit a pydantic model, within `max_tokens` (None: each
    question's own budget)."""

    def __init__(self, client: ChatClient, max_tokens: int | None) -> None:
        self.client = client
        self.max_tokens = max_tokens

    def ask(
        self,
        messages: list[Message],
        schema: dict[str, object],
        schema_name: str,
        model: type[BaseModel],
        budget: int,
    ) -> tuple[BaseModel | None, Usage]:
        """The checked answer to `messages` (None when it does not fit the output limit) and its cost;
        `budget` is the question's output limit unless `--max-tokens` set one."""
        client = self.client
        max_tokens = output_limit(self.max_tokens, budget)
        first_key = client.key(ChatRequest(messages, schema, schema_name, max_tokens))
        attempt = messages
        usage = Usage()
        reasks = 0
        raised = False
        while True:
            answer = client.complete(ChatRequest(attempt, schema, schema_name, max_tokens))
            usage += _cost(answer)
            if answer.cached and answer.raw.get("split"):
                return None, usage
            if answer.refusal:
                raise RefusalError(client.redact(answer.refusal))
            if answer.finish_reason == "length":
                if not raised:
                    raised, max_tokens = True, max_tokens * 2
                    continue
                client.remember(first_key, {"split": True})
                return None, usage
            try:
                parsed = parse_answer(answer.content, model)
            except AnswerError as exc:
                if reasks >= MAX_REASKS:
                    raise AnswerShapeError(
                        f"the model's answer {exc} ({reasks + 1} tries): try another --model"
                    ) from None
                reasks += 1
                attempt = reask_messages(messages, _echoed(answer.content), str(exc))
                continue
            if not answer.cached:  # the checked, cleaned answer: never the raw text
                client.remember(first_key, {"content": parsed.model_dump_json()})
            return parsed, usage


def _echoed(content: str | None) -> str:
    """A broken answer as shown back to the model: at most `MAX_ECHOED_CHARS`, no lone surrogates."""
    text = (content or "")[:MAX_ECHOED_CHARS]
    return text.encode("utf-8", "replace").decode("utf-8")


def _cost(answer: Answer) -> Usage:
    if answer.cached:
        return Usage(cached_calls=1)
    return Usage(llm_calls=1, prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens)
