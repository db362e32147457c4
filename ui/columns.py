"""What Compare's side by side and the arena share: a column's messages and timings, and the
Send/Stop state of their buttons."""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.compare import Column
from providers import Message, PlaygroundError
from providers.messages import append_turn

from .chat import entry_metadata, entry_role, error_block, turn_messages, without_failed_prompts
from .context import AppContext, gradio_error
from .inert import markdown_text

WAITING = gr.ChatMessage(role="assistant", content="",
                         metadata={"title": "Waiting for the first token…", "status": "pending"})


STOPPED = "Stopped"


def mark_stopped(history: list | None) -> list:
    """A column's messages after Stop: what was still pending (waiting, thinking, a status) reads as
    stopped instead of spinning on. The answer so far stays."""
    marked = []
    for entry in history or []:
        metadata = dict(entry_metadata(entry) or {})
        if metadata.get("status") == "pending":
            content = entry.get("content") if isinstance(entry, dict) else entry.content
            empty = _is_empty(content)
            title = STOPPED if empty else metadata.get("title") or STOPPED
            entry = gr.ChatMessage(role=entry_role(entry), content="" if empty else content,
                                   metadata={**metadata, "title": title, "status": "done"})
        marked.append(entry)
    return marked


def _is_empty(content: object) -> bool:
    """True for no content: "", None, or (as the page sends it back) only empty text parts."""
    if isinstance(content, list):
        return all(isinstance(p, dict) and p.get("type") == "text" and not str(p.get("text") or "").strip()
                   for p in content)
    return not str(content or "").strip()


# -- rendering ------------------------------------------------------------------------------
def column_messages(column: Column, *, anonymous: bool = False) -> list[gr.ChatMessage]:
    """A column's assistant messages; `anonymous` leaves out the caption and the provider's name."""
    error = column.error
    if error and anonymous:
        error = "This model could not answer; who it was and why is shown after your vote."
    if column.turn is None:
        if error:
            return [error_block(error)]
        return [WAITING]
    return turn_messages(column.turn, done=column.done and not anonymous, error=error)


def column_stats(column: Column) -> str:
    """"0.21 s to first token · 1.4 s total · 35 tok/s", or the column's error."""
    if column.error and not (column.turn and column.turn.reply.text):
        return f"⚠️ {markdown_text(column.error)}"
    stats = column.as_dict()
    parts = []
    if stats["time_to_first_token"] is not None:
        parts.append(f"{stats['time_to_first_token']:.2f} s to first token")
    if stats["seconds"] is not None:
        parts.append(f"{stats['seconds']:.1f} s total" if column.done else f"{stats['seconds']:.1f} s so far")
    if stats["tokens_per_second"] is not None:
        parts.append(f"{'~' if stats['tokens_estimated'] else ''}{stats['tokens_per_second']:.0f} tok/s")
    text = " · ".join(parts) or "Waiting for the first token…"
    return f"{text} · ⚠️ {markdown_text(column.error)}" if column.error else text


async def conversation_for(ctx: AppContext, history: list | None, prompt: str) -> list[Message]:
    messages = await ctx.read_history(without_failed_prompts(history))
    return append_turn(messages, Message(role="user", text=prompt))


def sampling(system: str, temperature: float, max_tokens: float, top_p: float) -> dict[str, Any]:
    return {"system_prompt": system or "", "temperature": temperature, "max_tokens": int(max_tokens),
            "top_p": top_p}


def start(ctx: AppContext, prompt: str) -> tuple[dict, str, dict, dict]:
    """Take the prompt out of the box and show Stop; a bad prompt stops the chain with a toast."""
    try:
        ctx.playground.check_prompt(prompt)
    except PlaygroundError as exc:
        raise gradio_error(exc) from exc
    return gr.update(value=""), prompt, gr.update(visible=False), gr.update(visible=True)


def idle() -> tuple[dict, dict]:
    return gr.update(visible=True), gr.update(visible=False)
