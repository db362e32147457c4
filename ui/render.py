"""Turning a Turn into what the chatbot shows."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import gradio as gr
from gradio.context import LocalContext
from gradio.utils import get_upload_folder

from providers import ImageOutput

from .inert import markdown_link, markdown_text, neutralise_continuation, neutralise_markdown
from .service import Turn

_SUFFIX = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif"}


def playground_folder() -> Path:
    """Where the app writes generated images and exports: inside Gradio's cache (GRADIO_TEMP_DIR).

    Gradio's `delete_cache` (PLAYGROUND_CACHE_MAX_AGE) removes a file there once it is older
    than the age: Gradio tracks every file of its cache an event hands to the page.
    """
    return Path(get_upload_folder()) / "playground"


def save_image_bytes(data: bytes, mime: str = "image/png") -> str:
    """Write image bytes into Gradio's upload folder (content-addressed) and return the path.

    An existing copy is touched, so the age Gradio's `delete_cache` goes by starts again
    when it is handed out again; the file is registered with the running app's cache, so it
    is cleaned up even if it never reaches the page.
    """
    folder = playground_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (hashlib.sha256(data).hexdigest()[:32] + _SUFFIX.get(mime, ".png"))
    try:
        os.utime(path)
    except FileNotFoundError:
        tmp = path.with_suffix(path.suffix + f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    track_in_cache(path)
    return str(path)


def track_in_cache(path: str | os.PathLike) -> None:
    """Add a file to the running app's cache files (those `delete_cache` ages out), if in an event."""
    blocks = LocalContext.blocks.get(None)
    files = getattr(blocks, "upload_file_set", None)
    if isinstance(files, set):
        files.add(str(path))


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


def error_block(message: str) -> gr.ChatMessage:
    """A display-only error notice: the message is the title, so it shows even when collapsed.

    The message is shown as plain text (titles render Markdown and HTML).
    """
    return gr.ChatMessage(role="assistant", content="", metadata={"title": f"⚠️ {markdown_text(message)}"})


def turn_messages(turn: Turn, *, done: bool = False, error: str | None = None,
                  continues: str | None = None) -> list[gr.ChatMessage]:
    """The assistant messages for one turn: thinking, answer, images, sources, caption, error.

    Everything except the answer text and images carries a metadata title, which
    marks it display-only (it is not sent back to providers on later turns).
    Everything from the provider is made inert here (see `ui.inert`). `continues`
    is the (already neutral) answer this turn's text will be appended to, if any.
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
        out.append(gr.ChatMessage(role="assistant", content="",
                                  metadata={"title": markdown_text(caption(turn))}))
    if not out:
        out.append(gr.ChatMessage(role="assistant", content="", metadata={"title": "Waiting for the first token…", "status": "pending"}))
    return out


def _image_path(image: ImageOutput) -> str:
    return save_image_bytes(image.data, image.mime)
