"""One message type for every provider, with converters from both Gradio history shapes.

The UI hands over history as typed parts
(`{"role", "content": [{"type": "text", "text"}, {"type": "file", "file": {"path"}}]}`);
`gradio_client` callers send the raw form (plain strings, `{"path": ...}`, lists of
both). `history_to_messages` accepts either and returns `Message`s.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import InputError
from .media import ImageLimits, PreparedImage, prepare_image

Role = Literal["system", "user", "assistant"]
_ROLES = ("system", "user", "assistant")
#: Stands in for an earlier image whose file was deleted (e.g. after PLAYGROUND_CACHE_MAX_AGE).
GONE_IMAGE_NOTE = "[an image that is no longer available]"
#: A file given as a link: refused, never fetched (the server never goes to an address a visitor names).
LINKED_FILE_MESSAGE = ("Files must be uploaded to this app; it does not fetch links. "
                       "Upload the image, or send it as a data: URL.")
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".avif"}


@dataclass
class Message:
    """One conversation turn: a role, its text and any images."""

    role: Role
    text: str = ""
    images: list[PreparedImage] = field(default_factory=list)


class HistoryReader:
    """Turns Gradio history into Messages, reading images only from allowed folders.

    `allowed_dirs` guards against a caller naming arbitrary server files as
    "images"; None allows any path (for trusted, in-process callers).
    """

    def __init__(self, allowed_dirs: Iterable[str | os.PathLike] | None = None,
                 limits: ImageLimits | None = None) -> None:
        self.allowed_dirs = None if allowed_dirs is None else [Path(d).resolve() for d in allowed_dirs]
        self.limits = limits or ImageLimits.from_env()

    def read(self, history: Iterable[Any] | None) -> list[Message]:
        """Messages from a history. Images of earlier turns whose files are gone (the app's cache
        deletes old uploads) are left out with a note; a missing image in the last turn is an error."""
        messages: list[Message] = []
        entries = list(history or [])
        for index, entry in enumerate(entries):
            message = self._message(entry, last=index == len(entries) - 1)
            if message is None:
                continue
            append_turn(messages, message)
        for message in messages:
            if len(message.images) > self.limits.max_per_message:
                raise InputError(
                    f"{len(message.images)} images in one message; the limit is {self.limits.max_per_message}."
                )
        return messages

    def _message(self, entry: Any, *, last: bool = True) -> Message | None:
        if hasattr(entry, "role") and hasattr(entry, "content"):  # gr.ChatMessage-like objects
            entry = {"role": entry.role, "content": entry.content,
                     "metadata": getattr(entry, "metadata", None)}
        if not isinstance(entry, dict):
            raise InputError("Each history message must be an object with 'role' and 'content'.")
        role = entry.get("role")
        if role not in _ROLES:
            raise InputError(f"Unknown message role {role!r}; expected one of {', '.join(_ROLES)}.")
        metadata = entry.get("metadata") or {}
        if role == "assistant" and isinstance(metadata, dict) and metadata.get("title"):
            return None  # thinking / sources blocks are display-only
        message = Message(role=role)
        self._add_content(message, entry.get("content"), last)
        if not message.text and not message.images:
            return None
        return message

    def _add_content(self, message: Message, content: Any, last: bool) -> None:
        if content is None:
            return
        if isinstance(content, str):
            _append_text(message, content)
        elif isinstance(content, (list, tuple)):
            for part in content:
                self._add_content(message, part, last)
        elif isinstance(content, dict):
            self._add_part(message, content, last)
        else:
            raise InputError(f"Unsupported message content of type {type(content).__name__}.")

    def _add_part(self, message: Message, part: dict, last: bool) -> None:
        kind = part.get("type")
        if kind == "text":
            _append_text(message, str(part.get("text") or ""))
        elif kind == "file":
            self._add_file(message, part.get("file") or {}, last)
        elif kind == "image_url":
            self._add_file(message, {"url": (part.get("image_url") or {}).get("url")}, last)
        elif "path" in part or "url" in part:
            self._add_file(message, part, last)
        elif "component" in part and isinstance(part.get("value"), dict):
            self._add_file(message, part["value"], last)
        elif "text" in part:
            _append_text(message, str(part["text"]))

    def _add_file(self, message: Message, file: dict, last: bool) -> None:
        path = file.get("path")
        url = file.get("url") or ""
        mime = str(file.get("mime_type") or "")
        if path:
            if mime and not mime.startswith("image/"):
                raise InputError(f"{Path(path).name!r} is not an image ({mime}).")
            if not mime and Path(path).suffix.lower() not in _IMAGE_SUFFIXES:
                raise InputError(f"{Path(path).name!r} is not an image file.")
            checked = self._checked_path(path)
            if not last and not checked.exists():
                _append_text(message, GONE_IMAGE_NOTE)
                return
            message.images.append(prepare_image(checked, self.limits))
        elif url.startswith("data:"):
            message.images.append(prepare_image(_decode_data_url(url), self.limits))
        elif url:
            raise InputError(LINKED_FILE_MESSAGE)

    def _checked_path(self, path: str) -> Path:
        resolved = Path(path).resolve()
        if self.allowed_dirs is not None and not any(
            resolved.is_relative_to(root) for root in self.allowed_dirs
        ):
            raise InputError(f"Image {resolved.name!r} was not uploaded to this app.")
        return resolved


def history_to_messages(history: Iterable[Any] | None,
                        allowed_dirs: Iterable[str | os.PathLike] | None = None) -> list[Message]:
    """Convert either Gradio history shape to Messages (see HistoryReader)."""
    return HistoryReader(allowed_dirs).read(history)


def append_turn(messages: list[Message], message: Message) -> list[Message]:
    """Append a turn, merging it into the previous one when the role repeats
    (e.g. a user message left unanswered by a failed turn)."""
    if messages and messages[-1].role == message.role:
        merge_into(messages[-1], message)
    else:
        messages.append(message)
    return messages


def merge_into(target: Message, extra: Message) -> None:
    """Append `extra`'s text and images to `target` (same role, consecutive turns)."""
    if extra.text:
        target.text = f"{target.text}\n\n{extra.text}" if target.text else extra.text
    target.images.extend(extra.images)


def names_files(raw: Any) -> bool:
    """Whether a raw history names any file or image (so reading it decodes images)."""
    if isinstance(raw, dict):
        return any(key in raw for key in ("path", "url", "file", "image_url")) or any(
            names_files(v) for v in raw.values() if isinstance(v, (dict, list)))
    if isinstance(raw, (list, tuple)):
        return any(names_files(item) for item in raw)
    return hasattr(raw, "content") and names_files(getattr(raw, "content"))


def _append_text(message: Message, text: str) -> None:
    if text.strip():
        message.text = f"{message.text}\n\n{text}" if message.text else text


def _decode_data_url(url: str) -> bytes:
    header, _, payload = url.partition(",")
    if ";base64" not in header:
        raise InputError("Image data URLs must be base64-encoded.")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError("Image data URL is not valid base64.") from exc
