"""Exporting a chat conversation as Markdown or JSON, and naming the file (no gradio here).

Works on the chatbot's value (message dicts, typed parts or raw). Only real messages are
exported: the consecutive entries of one role form one message; an answer's display-only
blocks become its parts (thinking and sources keep their title), its caption its `caption`
and its error block its `error`; blocks still pending ("Waiting for the first token…")
and an answer that is nothing but a caption are left out. Images are named by file name.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The title when the conversation has no user text yet.
UNTITLED = "Conversation"
#: Longest title kept in the document, and longest file-name stem before the date.
MAX_TITLE_CHARS = 100
MAX_NAME_CHARS = 60


@dataclass
class ExportedMessage:
    """One message of the export: its text, images and titled blocks in page order, plus notes."""

    role: str
    parts: list[tuple[str, str]] = field(default_factory=list)  # (block title or "", text); images separately
    images: list[str] = field(default_factory=list)
    caption: str | None = None
    error: str | None = None

    @property
    def text(self) -> str:
        return "\n\n".join(text for title, text in self.parts if not title)

    def is_empty(self) -> bool:
        return not (self.parts or self.images or self.error)

    def as_dict(self) -> dict:
        document: dict = {"role": self.role, "text": self.text, "images": self.images}
        blocks = [{"title": title, "text": text} for title, text in self.parts if title]
        document.update({k: v for k, v in (("blocks", blocks), ("caption", self.caption),
                                           ("error", self.error)) if v})
        return document

    def markdown(self) -> list[str]:
        lines = [f"**{self.role.capitalize()}:**", ""]
        for title, text in self.parts:
            lines.extend([f"> **{title}**", *(f"> {line}" for line in text.splitlines()), ""] if title
                         else [text, ""])
        lines.extend(f"![image]({name})" for name in self.images)
        if self.images:
            lines.append("")
        for note in (self.error and f"> {self.error}", self.caption and f"_{self.caption}_"):
            if note:
                lines.extend([note, ""])
        return lines


def conversation_messages(history: list[Any] | None, *, error_mark: str = "") -> list[ExportedMessage]:
    """The conversation's real messages. A title-only block starting with `error_mark` is an error."""
    messages: list[ExportedMessage] = []
    for raw in history or []:
        message = _as_dict(raw)
        if message is None:
            continue
        metadata = message.get("metadata") or {}
        if metadata.get("status") == "pending":
            continue  # waiting, or a status line: nothing was said
        role = str(message.get("role") or "")
        if not _continues(messages[-1] if messages else None, role):
            messages.append(ExportedMessage(role))
        current = messages[-1]
        texts: list[str] = []
        _collect(message.get("content"), texts, current.images)
        title, text = str(metadata.get("title") or ""), "\n\n".join(texts)
        if text or not title:
            if text:
                current.parts.append((title, text))
        elif error_mark and title.startswith(error_mark):
            current.error = title
        else:
            current.caption = title
    return [m for m in messages if not m.is_empty()]


def _continues(message: ExportedMessage | None, role: str) -> bool:
    """True when an entry of `role` belongs to `message`: an answer's blocks all do; a prompt's files
    come before its text, so a user entry after text starts a new prompt (one left unanswered)."""
    if message is None or message.role != role:
        return False
    return role != "user" or not message.text


def _as_dict(message: Any) -> dict | None:
    if hasattr(message, "role"):
        return {"role": message.role, "content": message.content, "metadata": getattr(message, "metadata", None)}
    return message if isinstance(message, dict) else None


def _collect(content: Any, texts: list[str], images: list[str]) -> None:
    if content is None:
        return
    if isinstance(content, str):
        if content.strip():
            texts.append(content)
    elif isinstance(content, (list, tuple)):
        for part in content:
            _collect(part, texts, images)
    elif isinstance(content, dict):
        if content.get("type") == "text":
            _collect(content.get("text"), texts, images)
        elif content.get("type") == "file":
            _collect(content.get("file"), texts, images)
        elif "path" in content or "url" in content:
            images.append(Path(str(content.get("path") or content.get("url"))).name)
        elif "component" in content:
            _collect(content.get("value"), texts, images)
        elif "text" in content:
            _collect(content.get("text"), texts, images)
    else:
        path = getattr(content, "path", None) or getattr(getattr(content, "value", None), "path", None)
        if path:
            images.append(Path(str(path)).name)


def conversation_title(history: list[Any] | None) -> str:
    """The first line of the first user text (as the history list names conversations), bounded."""
    for message in conversation_messages(history):
        if message.role == "user" and message.text.strip():
            line = " ".join(message.text.strip().splitlines()[0].split())
            return line if len(line) <= MAX_TITLE_CHARS else line[: MAX_TITLE_CHARS - 1].rstrip() + "…"
    return UNTITLED


def export_filename(title: str, kind: str, when: time.struct_time | None = None) -> str:
    """"tell-me-a-joke-2026-11-22.md": the title in lowercase ASCII letters, digits and dashes
    (at most MAX_NAME_CHARS, cut at a word), then the date."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", ascii_title)
    stem = ""
    for word in words:
        longer = f"{stem}-{word}" if stem else word
        if len(longer) > MAX_NAME_CHARS:
            stem = stem or word[:MAX_NAME_CHARS]
            break
        stem = longer
    return f"{stem or 'conversation'}-{time.strftime('%Y-%m-%d', when or time.localtime())}.{kind}"


def to_markdown(history: list[Any] | None, title: str | None = None, *, error_mark: str = "") -> str:
    lines = [f"# {title or conversation_title(history)}", ""]
    for message in conversation_messages(history, error_mark=error_mark):
        lines.extend(message.markdown())
    return "\n".join(lines).rstrip() + "\n"


def to_json(history: list[Any] | None, title: str | None = None, *, error_mark: str = "") -> str:
    document = {"title": title or conversation_title(history), "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "messages": [m.as_dict() for m in conversation_messages(history, error_mark=error_mark)]}
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
