"""Running one prompt against several models at once (no gradio here).

`compare` starts one task per target, all streaming concurrently on the event
loop, and yields the list of columns whenever any of them changes. A failing
column records its own error while the others carry on; closing the stream
(Stop) cancels every task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from providers import InputError, Message, PlaygroundError, Visitor

from .service import Playground, Turn, describe_error

logger = logging.getLogger(__name__)

MIN_TARGETS = 2
MAX_TARGETS = 4


@dataclass(frozen=True)
class Target:
    provider: str
    model: str = ""


@dataclass
class Column:
    """One target's progress: the turn so far, its error and whether it has ended."""

    target: Target
    turn: Turn | None = None
    error: str | None = None
    done: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The column as `/compare` returns it."""
        stats = self.turn.stats() if self.turn else {}
        return {
            "provider": stats.get("provider", self.target.provider),
            "model": stats.get("model", self.target.model),
            "answered_by": stats.get("answered_by"),
            "reply": self.turn.reply.text if self.turn else "",
            "error": self.error,
            "done": self.done,
            "time_to_first_token": stats.get("time_to_first_token"),
            "seconds": stats.get("seconds"),
            "tokens_per_second": stats.get("tokens_per_second"),
            "tokens_estimated": stats.get("tokens_estimated", True),
        }


@dataclass
class Job:
    """A target and the conversation to send it (ending with the new user message)."""

    target: Target
    messages: list[Message] = field(default_factory=list)


def parse_targets(raw: Any) -> list[Target]:
    """Targets from API input: a list of {"provider", "model"} objects (2 to 4 of them)."""
    if not isinstance(raw, list):
        raise InputError("'targets' must be a list of {\"provider\", \"model\"} objects.")
    targets = []
    for item in raw:
        if not isinstance(item, dict) or not str(item.get("provider") or "").strip():
            raise InputError("Each target must be an object with a 'provider' (and optionally a 'model').")
        targets.append(Target(str(item["provider"]).strip(), str(item.get("model") or "").strip()))
    check_count(len(targets))
    return targets


def check_count(count: int) -> None:
    if not MIN_TARGETS <= count <= MAX_TARGETS:
        raise InputError(f"Compare {MIN_TARGETS} to {MAX_TARGETS} models at once; got {count}.")


def column_conversations(scope: str, count: int = MAX_TARGETS) -> list[str]:
    """The conversation ids of a comparison's columns: "compare-1", "compare-2"…"""
    return [f"{scope}-{i + 1}" for i in range(count)]


async def compare(playground: Playground, jobs: Sequence[Job], *, visitor: Visitor, scope: str = "compare",
                  **params: Any) -> AsyncIterator[list[Column]]:
    """Stream every job concurrently; yields the (shared, updated) columns after each change.

    The last value has every column `done`. Each column is a conversation of its own
    (`column_conversations(scope)`), so two columns on one stateful provider run independently.
    `params` go to `Playground.chat` (system_prompt, temperature, max_tokens, top_p).
    """
    columns = [Column(job.target) for job in jobs]
    changed = asyncio.Event()

    async def run(column: Column, job: Job, conversation: str) -> None:
        try:
            async for turn in playground.chat(job.messages, provider_id=job.target.provider, model=job.target.model,
                                              visitor=visitor, conversation=conversation, **params):
                column.turn = turn
                changed.set()
        except PlaygroundError as exc:
            column.error = describe_error(exc)
        except Exception as exc:  # one broken column must not end the others
            logger.exception("Comparing with %s failed unexpectedly", job.target.provider)
            column.error = describe_error(exc)
        finally:
            column.done = True
            changed.set()

    tasks = [asyncio.create_task(run(c, j, name))
             for c, j, name in zip(columns, jobs, column_conversations(scope, len(jobs)))]
    try:
        while True:
            await changed.wait()
            changed.clear()
            # Read before yielding: columns go on while the consumer handles the frame, so only a
            # frame that already showed every column done may be the last one.
            finished = all(c.done for c in columns)
            yield columns
            if finished:
                break
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
