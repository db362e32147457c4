"""The streaming loop shared by the chat tabs: turn events into chatbot frames, keep partial answers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import gradio as gr

from providers import Capability, Message, PlaygroundError

from .context import AppContext
from .frames import frames
from .inert import html_text
from .render import error_block, turn_messages
from .service import Turn, describe_error


async def stream_turn_messages(ctx: AppContext, messages: list[Message], **params) -> AsyncIterator[list[gr.ChatMessage]]:
    """`stream_turn`'s frames only."""
    async for frame, _ in stream_turn(ctx, messages, **params):
        yield frame


def offers_continue(ctx: AppContext, turn: Turn | None) -> bool:
    """True when the turn's answer was cut short (length limit) by a provider that can continue it."""
    if turn is None or turn.error is not None or turn.reply.finish_reason != "length":
        return False
    try:
        return ctx.registry.get(turn.provider_id).supports_continue
    except PlaygroundError:
        return False


async def stream_turn(
    ctx: AppContext,
    messages: list[Message],
    *,
    provider_id: str,
    model: str,
    request: gr.Request | None,
    capability: Capability,
    **params,
) -> AsyncIterator[tuple[list[gr.ChatMessage], Turn | None]]:
    """Yield the assistant messages of a turn as it streams, with the turn so far (None before it starts).

    On failure the partial answer stays, an error block is appended and a toast
    names the provider and the cause; the chat itself never breaks. With
    `continue_last`, the frames' answer text is what goes after the last answer.
    """
    visitor = ctx.visitor(request)
    turn: Turn | None = None
    continues = messages[-1].text if params.get("continue_last") and messages else None
    params.setdefault("conversation", capability.value)  # each chat tab is a conversation of its own
    try:
        stream = ctx.playground.chat(messages, provider_id=provider_id, model=model, visitor=visitor,
                                     capability=capability, **params)
        async for turn in frames(stream, ctx.pacer):
            yield turn_messages(turn, continues=continues), turn
    except PlaygroundError as exc:
        if turn is None:
            yield error_messages(exc), None
        else:
            message = describe_error(exc)
            gr.Warning(html_text(message))
            yield turn_messages(turn, done=True, error=message, continues=continues), turn
        return
    if turn is not None:
        yield turn_messages(turn, done=True, continues=continues), turn


def error_messages(exc: BaseException) -> list[gr.ChatMessage]:
    """A toast plus an error block in the chat, for a turn that failed before any answer."""
    message = describe_error(exc)
    gr.Warning(html_text(message))  # toasts render HTML: the message must read as plain text
    return [error_block(message)]
