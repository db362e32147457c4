"""Continue: extend the last answer of a text chat (providers that support it append to it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from providers import Capability

from .chat_flow import error_messages, stream_turn
from .context import AppContext
from .service import Turn


def _role(entry: Any) -> str | None:
    return entry.get("role") if isinstance(entry, dict) else getattr(entry, "role", None)


def _with_previous_text(frame: list[gr.ChatMessage], previous: str) -> list[gr.ChatMessage]:
    """The streamed frame with the earlier answer text in front of the continuation."""
    for message in frame:
        if not (message.metadata or {}).get("title") and isinstance(message.content, str):
            message.content = previous + message.content
            return frame
    return [gr.ChatMessage(role="assistant", content=previous), *frame]


async def continue_answer(ctx: AppContext, history: list | None, request: gr.Request | None, *,
                          provider_id: str, model: str, **params) -> AsyncIterator[tuple[list, Turn | None]]:
    """Yield the whole chat history while the last answer is extended, with the turn so far."""
    history = list(history or [])
    try:
        messages = await ctx.read_history(history)
    except Exception as exc:
        yield history + error_messages(exc), None
        return
    user_positions = [i for i, entry in enumerate(history) if _role(entry) == "user"]
    if not messages or messages[-1].role != "assistant" or not user_positions:
        gr.Warning("There is no answer to continue yet.")
        yield history, None
        return
    head = history[: user_positions[-1] + 1]
    previous = messages[-1].text
    async for frame, turn in stream_turn(ctx, messages, provider_id=provider_id, model=model,
                                         request=request, capability=Capability.TEXT,
                                         continue_last=True, **params):
        yield head + _with_previous_text(frame, previous), turn
