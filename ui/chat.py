"""The chat tabs' shared parts: the chat interface with browser-kept history and export, the
streaming loop that turns a Turn into chatbot messages (partial answers kept), and Continue."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import gradio as gr

from playground.limits import FILE_CHARGE, VisitorLimitError
from playground.service import Turn, describe_error
from providers import Capability, ImageOutput, Message, PlaygroundError

from . import layout, memory
from .context import AppContext
from .export import conversation_title, export_filename, to_json, to_markdown
from .frames import frames
from .identity import file_owner
from .images import playground_folder, save_image_bytes, track_in_cache
from .inert import html_text, markdown_link, markdown_text, neutralise_continuation, neutralise_markdown


class PlaygroundChat(gr.ChatInterface):
    """Gradio's ChatInterface with the playground's conventions for the message box and the history list."""

    def _clear_and_save_textbox(self, message):
        # The box stays editable while the answer streams (focus is kept; Enter waits, see ui/layout.py).
        return gr.update(value=None, interactive=True), message

    def _generate_chat_title(self, conversation: list) -> str:
        return plain_title(super()._generate_chat_title(conversation))

    def _save_conversation(self, index: int | None, conversation: list, saved_conversations: list):
        if index is None and not has_answer(conversation):
            return index, saved_conversations  # failed attempts do not pile up in the history list
        return super()._save_conversation(index, conversation, saved_conversations)


def plain_title(title: str) -> str:
    """A history-list title as plain words: Markdown marks, links' targets and extra spaces removed."""
    title = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", title)  # [text](url) and images
    title = re.sub(r"[*_`~#>|]+", "", title)
    return re.sub(r"\s+", " ", title).strip() or "Conversation"


def has_answer(conversation: list | None) -> bool:
    """True when some assistant entry is an answer (not only error blocks, captions or notices)."""
    return any(entry_role(entry) == "assistant" and not (entry_metadata(entry) or {}).get("title")
               for entry in conversation or [])


def build_chat(ctx: AppContext, respond: Callable, *, conversation: str,
               textbox: gr.Textbox | gr.MultimodalTextbox,
               additional_inputs: list[gr.components.Component], multimodal: bool = False,
               placeholder: str = "", additional_outputs: list[gr.components.Component] | None = None,
               remembers: memory.ConversationMemory | None = None, side: gr.Column | None = None,
               ) -> gr.ChatInterface:
    """A streaming ChatInterface (Stop, retry, undo, edit, copy) whose conversations live in the browser.

    The most recent conversation comes back after a reload; older ones are listed beside the chat
    (a drawer on a phone). Reopening one puts its provider, model and parameters back (`remembers`).
    Clear releases the providers' state of this tab's `conversation` only. The export section goes
    in `side` when given.
    """
    chat = PlaygroundChat(
        respond,
        multimodal=multimodal,
        chatbot=gr.Chatbot(label="Conversation", buttons=["copy", "copy_all"], placeholder=placeholder,
                           layout="bubble", elem_classes="playground-chatbot"),
        textbox=textbox,
        additional_inputs=additional_inputs,
        additional_outputs=additional_outputs,
        editable=True,
        save_history=True,
        api_visibility="private",
        concurrency_limit=ctx.settings.concurrency_limit,
        fill_height=False,
    )
    layout.keep_draft_after_answer(chat)
    history = chat.new_chat_button.parent
    history.elem_classes = [*(history.elem_classes or []), "history-drawer"]
    for picked in (chat.new_chat_button.click, chat.chat_history_dataset.click):
        picked(None, js=layout.CLOSE_HISTORY_JS, api_visibility="private", queue=False)
    _restore_latest(chat, remembers)
    if remembers is not None:
        _restore_choices_on_pick(chat, remembers)
    if side is not None:
        with side:
            _export_row(ctx, chat.chatbot)
    else:
        _export_row(ctx, chat.chatbot)

    def forget(request: gr.Request) -> None:
        ctx.forget_conversations(request, [conversation])

    chat.chatbot.clear(forget, api_visibility="private", queue=False)
    return chat


def _restore_latest(chat: gr.ChatInterface, remembers: memory.ConversationMemory | None) -> None:
    """After a reload, show the conversation the visitor had open (once per page), with its choices
    (unless a link chose this tab's provider or model)."""
    restored = gr.State(False)
    choice_outputs = remembers.outputs if remembers is not None else []

    async def restore(saved: list | None, index: int | None, shown: list | None, done: bool,
                      request: gr.Request):
        unchanged = [gr.update() for _ in choice_outputs]
        if done or index is not None or shown:
            return gr.update(), gr.update(), gr.update(), True, *unchanged
        if not saved or not saved[0]:
            return gr.update(), gr.update(), gr.update(), False, *unchanged
        choices = await remembers.restore_unless_linked(saved[0], request) if remembers is not None else []
        return 0, saved[0], saved[0], True, *choices

    gr.on([chat.load, chat.saved_conversations.change], restore,
          inputs=[chat.saved_conversations, chat.conversation_id, chat.chatbot, restored],
          outputs=[chat.conversation_id, chat.chatbot, chat.chatbot_state, restored, *choice_outputs],
          api_visibility="private", queue=False, show_progress="hidden")


def _restore_choices_on_pick(chat: gr.ChatInterface, remembers: memory.ConversationMemory) -> None:
    """Picking an earlier conversation from the history list puts its choices back."""

    async def restore(index: int | None, saved: list | None):
        if index is None or not saved or not 0 <= index < len(saved):
            return remembers.unchanged()
        return await remembers.restore(saved[index])

    chat.chat_history_dataset.click(restore, [chat.chat_history_dataset, chat.saved_conversations],
                                    remembers.outputs, api_visibility="private", queue=False,
                                    show_progress="hidden")


def _export_row(ctx: AppContext, chatbot: gr.Chatbot) -> None:
    with gr.Accordion("Export this conversation", open=False):
        with gr.Row():
            as_markdown = gr.Button("Export as Markdown", size="sm")
            as_json = gr.Button("Export as JSON", size="sm")
        exported = gr.File(label="Exported conversation", interactive=False, visible=False)

    def export_markdown(history: list[Any] | None, request: gr.Request) -> dict:
        return _export(ctx, history, "md", request)

    def export_json(history: list[Any] | None, request: gr.Request) -> dict:
        return _export(ctx, history, "json", request)

    as_markdown.click(export_markdown, chatbot, exported, api_visibility="private", queue=False)
    as_json.click(export_json, chatbot, exported, api_visibility="private", queue=False)


def _export(ctx: AppContext, history: list[Any] | None, kind: str, request: gr.Request | None) -> dict:
    """Write the conversation as a file for download, charged to the visitor's file budget."""
    if not history:
        gr.Warning("There is nothing to export yet: the conversation is empty.")
        return gr.update(value=None, visible=False)
    title = conversation_title(history)
    data = (to_markdown if kind == "md" else to_json)(history, title, error_mark=ERROR_MARK).encode("utf-8")
    try:
        ctx.stored_files.take(file_owner(request), len(data) + FILE_CHARGE)
    except VisitorLimitError as error:
        gr.Warning(str(error))
        return gr.update(value=None, visible=False)
    path = Path(tempfile.mkdtemp(prefix="conversation-", dir=_exports_folder())) / export_filename(title, kind)
    path.write_bytes(data)
    track_in_cache(path)
    return gr.update(value=str(path), visible=True)


def _exports_folder() -> Path:
    """Exports live in Gradio's cache, so `delete_cache` removes them after PLAYGROUND_CACHE_MAX_AGE.

    Each export has its own folder (the file keeps its plain name); folders emptied by
    that clean-up are removed here, a minute after they were made at the earliest.
    """
    root = playground_folder() / "exports"
    root.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for folder in root.iterdir():
        try:
            if folder.is_dir() and now - folder.stat().st_mtime > 60 and not any(folder.iterdir()):
                folder.rmdir()
        except OSError:  # another export removed or filled it meanwhile
            continue
    return root


# -- a turn as chatbot messages -------------------------------------------------------------
def caption(turn: Turn) -> str:
    """"Provider · model · 0.42 s to first token · 31 tok/s" ("Auto → H2o · model" when Auto chose;
    "~31 tok/s" when tokens are estimated from the text)."""
    label, model = turn.answered_by
    parts = [f"{turn.provider} → {label}" if turn.reply.answered_by else label, model]
    if turn.time_to_first_token is not None:
        parts.append(f"{turn.time_to_first_token:.2f} s to first token")
    if turn.tokens_per_second is not None:
        parts.append(f"{'~' if turn.tokens_estimated else ''}{turn.tokens_per_second:.0f} tok/s")
    elif turn.ended is not None:
        parts.append(f"{turn.elapsed:.1f} s")
    if turn.reply.finish_reason == "length":
        parts.append("cut short at the length limit")
    return " · ".join(parts)


#: What starts the title of an error block.
ERROR_MARK = "⚠️"


def error_block(message: str) -> gr.ChatMessage:
    """A display-only error notice: the message is the title, so it shows even when collapsed.

    The message is shown as plain text (titles render Markdown and HTML).
    """
    return gr.ChatMessage(role="assistant", content="", metadata={"title": f"{ERROR_MARK} {markdown_text(message)}"})


def without_failed_prompts(history: list | None) -> list:
    """The chat history to send: a prompt that failed before any answer is left out.

    It stays on the page with its error block, and goes again only when the visitor retries it
    (Gradio's retry resubmits it), never silently glued to the next prompt. A prompt's entries
    (its text and each of its files) are the user entries since the last answer.
    """
    kept: list = []
    unanswered: list = []
    for entry in history or []:
        if entry_role(entry) == "user":
            unanswered.append(entry)
            continue
        title = str((entry_metadata(entry) or {}).get("title") or "")
        if title.startswith(ERROR_MARK) and unanswered:
            unanswered = []  # failed before any answer: dropped with its error block
            continue
        if not title:  # an answer (text or image): the prompt before it was answered
            kept.extend(unanswered)
            unanswered = []
        kept.append(entry)
    return kept + unanswered


def turn_messages(turn: Turn, *, done: bool = False, error: str | None = None,
                  continues: str | None = None, choices: str | None = None) -> list[gr.ChatMessage]:
    """The assistant messages for one turn: thinking, answer, images, sources, caption, error.

    Everything except the answer text and images carries a metadata title, which
    marks it display-only (it is not sent back to providers on later turns).
    Everything from the provider is made inert here (see `ui.inert`). `continues`
    is the (already neutral) answer this turn's text will be appended to, if any; `choices`
    (from `ui.memory.record`) is kept with the caption so the conversation remembers them.
    """
    reply = turn.reply
    out: list[gr.ChatMessage] = []
    if reply.reasoning:
        out.append(gr.ChatMessage(
            role="assistant", content=neutralise_markdown(reply.reasoning),
            metadata={"title": "Thinking", "status": "done" if (reply.text or done) else "pending"},
        ))
    if reply.text:
        text = (neutralise_markdown(reply.text) if continues is None
                else neutralise_continuation(continues, reply.text))
        out.append(gr.ChatMessage(role="assistant", content=text))
    elif reply.status and not done:
        out.append(gr.ChatMessage(role="assistant", content="",
                                  metadata={"title": markdown_text(reply.status), "status": "pending"}))
    for image in reply.images:
        out.append(gr.ChatMessage(role="assistant", content=gr.Image(_image_path(image))))
    if reply.sources:
        links = "\n".join(f"{i}. {markdown_link(s.title or s.url, s.url)}"
                          for i, s in enumerate(reply.sources, 1))
        out.append(gr.ChatMessage(role="assistant", content=links, metadata={"title": "Sources"}))
    if error:
        out.append(error_block(error))
    if done:
        metadata = {"title": markdown_text(caption(turn))}
        if choices:
            metadata["id"] = choices
        out.append(gr.ChatMessage(role="assistant", content="", metadata=metadata))
    if not out:
        out.append(gr.ChatMessage(role="assistant", content="", metadata={"title": "Waiting for the first token…", "status": "pending"}))
    return out


def _image_path(image: ImageOutput) -> str:
    return save_image_bytes(image.data, image.mime)


# -- streaming a turn -----------------------------------------------------------------------
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
    remember: dict[str, Any] | None = None,
    **params,
) -> AsyncIterator[tuple[list[gr.ChatMessage], Turn | None]]:
    """Yield the assistant messages of a turn as it streams, with the turn so far (None before it starts).

    On failure the partial answer stays, an error block is appended and a toast
    names the provider and the cause; the chat itself never breaks. The last turn yielded
    carries the failure (`turn.error`), also when it failed before it started. With
    `continue_last`, the frames' answer text is what goes after the last answer. The finished
    turn records its choices (`ui.memory`): the parameters sent, plus `remember`.
    """
    visitor = ctx.visitor(request)
    turn: Turn | None = None
    continues = messages[-1].text if params.get("continue_last") and messages else None
    choices = memory.record(provider_id, model, {**params, **(remember or {})})
    params.setdefault("conversation", capability.value)  # each chat tab is a conversation of its own
    try:
        stream = ctx.playground.chat(messages, provider_id=provider_id, model=model, visitor=visitor,
                                     capability=capability, **params)
        async for turn in frames(stream, ctx.pacer):
            yield turn_messages(turn, continues=continues), turn
    except PlaygroundError as exc:
        if turn is None:
            yield error_messages(exc), Turn(provider_id=provider_id, provider=provider_id, model=model, error=exc)
        else:
            turn.error = turn.error or exc
            message = describe_error(exc)
            gr.Warning(html_text(message))
            yield turn_messages(turn, done=True, error=message, continues=continues, choices=choices), turn
        return
    if turn is not None:
        yield turn_messages(turn, done=True, continues=continues, choices=choices), turn


def error_messages(exc: BaseException) -> list[gr.ChatMessage]:
    """A toast plus an error block in the chat, for a turn that failed before any answer."""
    message = describe_error(exc)
    gr.Warning(html_text(message))  # toasts render HTML: the message must read as plain text
    return [error_block(message)]


# -- Continue -------------------------------------------------------------------------------
def entry_role(entry: Any) -> str | None:
    """The role of a history entry, as a dict (from the page) or a ChatMessage."""
    return entry.get("role") if isinstance(entry, dict) else getattr(entry, "role", None)


def entry_metadata(entry: Any) -> dict | None:
    """The metadata of a history entry, as a dict (from the page) or a ChatMessage."""
    return entry.get("metadata") if isinstance(entry, dict) else getattr(entry, "metadata", None)


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
    user_positions = [i for i, entry in enumerate(history) if entry_role(entry) == "user"]
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
