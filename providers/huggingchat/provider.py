"""HuggingChat (chat-ui) with the visitor's own `hf-chat` cookie: text and vision chat.

Each visitor gets one server conversation per model, remembered in the visitor's
session. The first turn sends the whole conversation formatted as text; later
turns send only the new message. When the history the visitor sends no longer
extends the one this adapter last saw (edited, retried or cleared), a fresh
server conversation starts. Wire protocol: docs/protocols.md (HuggingChat).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from ..base import Capability, ChatRequest, Provider
from ..cache import TTLCache
from ..credentials import HUGGINGCHAT_COOKIE, operator_credential
from ..errors import AuthRequiredError, ModelNotSupportedError, ProtocolError, ProviderError
from ..events import ChatEvent, ImageOutput, TextDelta
from ..logs import register_secret
from ..media import returned_image
from ..messages import Message
from ..session import Visitor
from ..settings import ChatUiSettings
from .api import Catalog, ChatUiSession, cookie_value, fetch_models
from .stream import read_events

logger = logging.getLogger(__name__)

DEFAULT_URL = "https://huggingface.co/chat"
STATE_KEY = "huggingchat"
MODELS_TTL = 600.0

#: Used until (or when) the service's own list cannot be fetched.
FALLBACK = Catalog(
    ids=(
        "meta-llama/Llama-3.3-70B-Instruct",
        "Qwen/Qwen2.5-72B-Instruct",
        "deepseek-ai/DeepSeek-R1",
        "openai/gpt-oss-120b",
        "google/gemma-3-27b-it",
        "Qwen/Qwen2.5-VL-32B-Instruct",
        "mistralai/Mistral-Small-3.1-24B-Instruct-2503",
    ),
    multimodal=frozenset({
        "google/gemma-3-27b-it",
        "Qwen/Qwen2.5-VL-32B-Instruct",
        "mistralai/Mistral-Small-3.1-24B-Instruct-2503",
    }),
)


def _models_for(catalog: Catalog, capability: Capability) -> list[str]:
    if capability is Capability.VISION:
        return [m for m in catalog.ids if m in catalog.multimodal]
    return list(catalog.ids) if capability is Capability.TEXT else []


# -- conversation bookkeeping -------------------------------------------------------

Fingerprint = tuple[str, str, tuple[str, ...]]


def _fingerprint(message: Message) -> Fingerprint:
    """What identifies a turn: role, text and (for user turns) the images' digests."""
    images = tuple(hashlib.sha256(i.data).hexdigest()[:16] for i in message.images) if message.role == "user" else ()
    return (message.role, message.text.strip(), images)


@dataclass(frozen=True)
class _Conversation:
    """A server conversation and the history (ending with its last answer) it holds."""

    conversation_id: str
    account: str
    system_prompt: str
    seen: tuple[Fingerprint, ...]


def _account(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()[:16]


def _format_conversation(messages: list[Message]) -> str:
    """The whole conversation as one prompt (a single message goes as it is)."""
    if len(messages) == 1:
        return messages[0].text
    names = {"system": "System", "user": "User", "assistant": "Assistant"}
    return "\n\n".join(f"{names[m.role]}: {m.text}" for m in messages if m.text.strip())


def _files(messages: list[Message]) -> list[tuple[str, bytes, str]]:
    """Every image of these messages as a base64 `files` part."""
    files = []
    for message in messages:
        for image in message.images:
            name = f"image-{len(files) + 1}{'.png' if image.mime == 'image/png' else '.jpg'}"
            files.append((name, image.base64().encode("ascii"), image.mime))
    return files


class HuggingChatProvider(Provider):
    id = "huggingchat"
    label = "HuggingChat"
    url = DEFAULT_URL
    capabilities = frozenset({Capability.TEXT, Capability.VISION})
    models = {c: _models_for(FALLBACK, c) for c in (Capability.TEXT, Capability.VISION)}
    credential = HUGGINGCHAT_COOKIE
    note = "Needs your own hf-chat cookie from huggingface.co/chat (Settings)."

    def __init__(self) -> None:
        self._catalogs: TTLCache[Catalog] = TTLCache(MODELS_TTL)

    # -- settings -----------------------------------------------------------------
    def base_url(self) -> str:
        return (ChatUiSettings.current().huggingchat_url or DEFAULT_URL).rstrip("/")

    def sign_in_hint(self) -> str:
        return (f"Sign in at {self.base_url()}, copy the value of its hf-chat cookie (browser developer "
                "tools → Application/Storage → Cookies) and paste it into Settings → HuggingChat cookie")

    def _cookie(self, visitor: Visitor) -> str:
        """The visitor's cookie, else the operator's when sharing it is allowed."""
        raw = visitor.huggingchat_cookie
        if not raw:
            shared = operator_credential("HUGGINGCHAT_COOKIE")
            if shared:
                register_secret(shared)
                raw = shared
        cookie = cookie_value(raw or "")
        if not cookie:
            raise AuthRequiredError(self.label, "no hf-chat cookie was given", hint=self.sign_in_hint(),
                                    credential=HUGGINGCHAT_COOKIE.label, sent=False)
        register_secret(cookie)
        return cookie

    # -- models -------------------------------------------------------------------
    def model_list(self, capability: Capability) -> list[str]:
        return _models_for(self._catalogs.peek(self.base_url()) or FALLBACK, capability)

    async def _catalog(self) -> Catalog:
        base = self.base_url()
        return await self._catalogs.get(base, lambda: fetch_models(self.label, base), FALLBACK)

    async def list_models(self, capability: Capability) -> list[str]:
        return _models_for(await self._catalog(), capability)

    # -- chat -----------------------------------------------------------------------
    async def chat(self, request: ChatRequest, visitor: Visitor) -> AsyncIterator[ChatEvent]:
        cookie = self._cookie(visitor)
        if any(m.images for m in request.messages) and request.model not in (await self._catalog()).multimodal:
            raise ModelNotSupportedError(self.label, f"{request.model} does not read images",
                                         hint="Choose a multimodal model in the vision tab")
        session = ChatUiSession(self.label, self.base_url(), cookie, sign_in_hint=self.sign_in_hint())
        book: dict[tuple[str, str], _Conversation] = visitor.state.setdefault(STATE_KEY, {})
        key = (session.base, request.model)
        earlier = tuple(_fingerprint(m) for m in request.messages[:-1])
        known = book.pop(key, None)  # re-stored only after a complete answer
        conversation_id, parent, sent = await self._conversation_for(session, request, known, earlier,
                                                                      _account(cookie))
        payload: dict[str, Any] = {
            "inputs": _format_conversation(sent), "id": parent, "is_retry": False, "is_continue": False,
            "web_search": bool(request.web_search), "tools": [],
        }

        async def fetch_file(line: dict[str, Any]) -> ImageOutput | None:
            return await self._output_image(session, conversation_id, line)

        answer = ""
        async with aclosing(session.send(conversation_id, payload, _files(sent))) as lines:
            async for event in read_events(self.label, lines, fetch_file):
                if isinstance(event, TextDelta):
                    answer += event.text
                yield event
        book[key] = _Conversation(conversation_id, _account(cookie), request.system_prompt,
                                  (*earlier, _fingerprint(request.messages[-1]), ("assistant", answer.strip(), ())))

    async def _conversation_for(self, session: ChatUiSession, request: ChatRequest, known: _Conversation | None,
                                earlier: tuple[Fingerprint, ...], account: str) -> tuple[str, str, list[Message]]:
        """The conversation to post to, the message to follow, and the messages to send.

        The known conversation is continued (with only the new message) when the
        request's earlier turns are exactly those it holds; otherwise a new one starts
        and the whole conversation is sent.
        """
        if (known and earlier and known.seen == earlier and known.account == account
                and known.system_prompt == request.system_prompt):
            parent = await session.last_message_id(known.conversation_id)
            if parent is not None:
                return known.conversation_id, parent, request.messages[-1:]
            logger.info("%s: the server conversation is gone; starting a new one", self.label)
        conversation_id = await session.create_conversation(request.model, request.system_prompt)
        parent = await session.last_message_id(conversation_id)
        if parent is None:
            raise ProtocolError(self.label, "the new conversation could not be read back")
        return conversation_id, parent, request.messages

    async def _output_image(self, session: ChatUiSession, conversation_id: str,
                            line: dict[str, Any]) -> ImageOutput | None:
        """The generated image a `file` line names; None (logged) if it is not an image or fails."""
        sha = str(line.get("sha") or "")
        try:
            data, served = await session.output_file(conversation_id, sha)
        except ProviderError as exc:
            logger.warning("%s: could not fetch a generated file: %s", self.label, exc)
            return None
        mime = str(line.get("mime") or served or "")
        if not mime.startswith("image/") or not data:
            logger.info("%s: skipped a generated %s file", self.label, mime or "unknown")
            return None
        try:  # over the pixel limit: a ProtocolError that ends the answer with a clear message
            checked = await returned_image(data, self.label)
        except ValueError as exc:
            logger.info("%s: skipped a generated %s file (%s)", self.label, mime, exc)
            return None
        return ImageOutput(checked.data, checked.mime)
