"""Exporting a chat conversation as Markdown or JSON (no gradio here).

Works on the chatbot's value (message dicts, typed parts or raw). Images are named
by file name; display-only blocks (thinking, sources, caption) keep their title.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any


def conversation_entries(history: list[Any] | None) -> list[dict]:
    """The conversation as plain entries: {role, text, images, title?}."""
    entries: list[dict] = []
    for message in history or []:
        if hasattr(message, "role"):
            message = {"role": message.role, "content": message.content,
                       "metadata": getattr(message, "metadata", None)}
        if not isinstance(message, dict):
            continue
        texts: list[str] = []
        images: list[str] = []
        _collect(message.get("content"), texts, images)
        entry: dict = {"role": message.get("role", ""), "text": "\n\n".join(texts), "images": images}
        title = (message.get("metadata") or {}).get("title")
        if title:
            entry["title"] = str(title)
        if entry["text"] or entry["images"] or title:
            entries.append(entry)
    return entries


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


def to_markdown(history: list[Any] | None, title: str = "Conversation") -> str:
    lines = [f"# {title}", ""]
    for entry in conversation_entries(history):
        if entry.get("title"):
            lines.append(f"> **{entry['title']}**")
            if entry["text"]:
                lines.extend(f"> {line}" for line in entry["text"].splitlines())
        else:
            lines.append(f"**{entry['role'].capitalize()}:**")
            lines.append("")
            if entry["text"]:
                lines.append(entry["text"])
            lines.extend(f"![image]({name})" for name in entry["images"])
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def to_json(history: list[Any] | None, title: str = "Conversation") -> str:
    document = {"title": title, "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "messages": conversation_entries(history)}
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
