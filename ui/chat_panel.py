"""What both chat tabs share: the chat interface with browser-kept history and export."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from .context import AppContext
from .export import to_json, to_markdown
from .render import playground_folder, track_in_cache


def build_chat(ctx: AppContext, respond: Callable, *, conversation: str,
               textbox: gr.Textbox | gr.MultimodalTextbox,
               additional_inputs: list[gr.components.Component], multimodal: bool = False,
               placeholder: str = "", additional_outputs: list[gr.components.Component] | None = None,
               ) -> gr.ChatInterface:
    """A streaming ChatInterface (Stop, retry, undo, edit, copy) whose conversations live in the browser.

    The most recent conversation comes back after a reload; older ones are listed beside the chat.
    Clear releases the providers' state of this tab's `conversation` only.
    """
    chat = gr.ChatInterface(
        respond,
        multimodal=multimodal,
        chatbot=gr.Chatbot(label="Conversation", height=520, buttons=["copy", "copy_all"],
                           placeholder=placeholder, layout="bubble"),
        textbox=textbox,
        additional_inputs=additional_inputs,
        additional_outputs=additional_outputs,
        editable=True,
        save_history=True,
        api_visibility="private",
        concurrency_limit=ctx.settings.concurrency_limit,
        fill_height=False,
    )
    _restore_latest(chat)
    _export_row(chat.chatbot)
    chat.chatbot.clear(lambda request: ctx.forget_conversations(request, [conversation]),
                       api_visibility="private", queue=False)
    return chat


def _restore_latest(chat: gr.ChatInterface) -> None:
    """After a reload, show the conversation the visitor had open (once per page)."""
    restored = gr.State(False)

    def restore(saved: list | None, index: int | None, shown: list | None, done: bool):
        if done or index is not None or shown:
            return gr.update(), gr.update(), gr.update(), True
        if not saved or not saved[0]:
            return gr.update(), gr.update(), gr.update(), False
        return 0, saved[0], saved[0], True

    gr.on([chat.load, chat.saved_conversations.change], restore,
          inputs=[chat.saved_conversations, chat.conversation_id, chat.chatbot, restored],
          outputs=[chat.conversation_id, chat.chatbot, chat.chatbot_state, restored],
          api_visibility="private", queue=False, show_progress="hidden")


def _export_row(chatbot: gr.Chatbot) -> None:
    with gr.Accordion("Export this conversation", open=False):
        with gr.Row():
            as_markdown = gr.Button("Export as Markdown", size="sm")
            as_json = gr.Button("Export as JSON", size="sm")
        exported = gr.File(label="Exported conversation", interactive=False, visible=False)
    as_markdown.click(lambda h: _export(h, "md"), chatbot, exported, api_visibility="private", queue=False)
    as_json.click(lambda h: _export(h, "json"), chatbot, exported, api_visibility="private", queue=False)


def _export(history: list[Any] | None, kind: str) -> dict:
    if not history:
        gr.Warning("There is nothing to export yet: the conversation is empty.")
        return gr.update(value=None, visible=False)
    text = to_markdown(history) if kind == "md" else to_json(history)
    path = Path(tempfile.mkdtemp(prefix="conversation-", dir=_exports_folder())) / f"conversation.{kind}"
    path.write_text(text, encoding="utf-8")
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
