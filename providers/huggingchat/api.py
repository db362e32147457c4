"""HuggingChat's chat-ui HTTP calls, made with one visitor's `hf-chat` cookie.

`ChatUiSession` talks to one base URL only (redirects are never followed, so the
cookie cannot travel to another host). Its client never stores cookies a server
sets, so nothing one visitor receives is ever sent on another visitor's behalf.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from ..credentials import HUGGINGCHAT_COOKIE
from ..errors import Advice, AuthRequiredError, ModelNotSupportedError, ProtocolError
from ..http import default_timeout, open_stream, response_lines, shared_client

logger = logging.getLogger(__name__)

COOKIE_NAME = "hf-chat"
MODELS_TIMEOUT = 5.0
MAX_OUTPUT_BYTES = 20_000_000
_SHA = re.compile(r"[A-Za-z0-9_-]{1,128}")
def cookie_value(raw: str) -> str:
    """The `hf-chat` value from what a visitor pasted: the bare value, `hf-chat=...` or a whole Cookie header."""
    text = raw.strip()
    for part in text.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name.strip() == COOKIE_NAME:
            return value.strip().strip('"')
    return text


@dataclass(frozen=True)
class Catalog:
    """Model ids in the service's order, and which of them accept images."""

    ids: tuple[str, ...]
    multimodal: frozenset[str]


def parse_models(payload: Any) -> Catalog:
    """`{"json": [{"id", "multimodal", "unlisted"}, ...]}` (or a bare list) as a Catalog."""
    entries = payload.get("json") if isinstance(payload, dict) else payload
    if not isinstance(entries, list):
        raise ValueError("the model list has an unexpected shape")
    ids: list[str] = []
    multimodal: set[str] = set()
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("unlisted"):
            continue
        model_id = entry.get("id") or entry.get("name")
        if not isinstance(model_id, str) or not model_id or model_id in ids:
            continue
        ids.append(model_id)
        if entry.get("multimodal"):
            multimodal.add(model_id)
    if not ids:
        raise ValueError("the model list is empty")
    return Catalog(tuple(ids), frozenset(multimodal))


def unflatten(values: list) -> Any:
    """Decode SvelteKit's index-encoded (devalue) data: containers hold indices into `values`."""
    done: dict[int, Any] = {}
    active: set[int] = set()

    def hydrate(index: Any) -> Any:
        if not isinstance(index, int) or index < 0 or index >= len(values) or index in active:
            return None  # negative indices encode undefined, NaN, infinities...
        if index in done:
            return done[index]
        active.add(index)
        value = values[index]
        if isinstance(value, list):
            if value and isinstance(value[0], str):  # ["Date", iso], ["Set", ...]: keep the first payload
                result = value[1] if len(value) > 1 and value[0] == "Date" else None
            else:
                result = [hydrate(i) for i in value]
        elif isinstance(value, dict):
            result = {key: hydrate(i) for key, i in value.items()}
        else:
            result = value
        active.discard(index)
        done[index] = result
        return result

    return hydrate(0)


def _last_id(messages: Any) -> str | None:
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        message_id = messages[-1].get("id")
        if isinstance(message_id, str) and message_id:
            return message_id
    return None


class ChatUiSession:
    """chat-ui calls for one visitor (cookie) against one base URL."""

    def __init__(self, label: str, base: str, cookie: str, *, sign_in_hint: str) -> None:
        self.label = label
        self.base = base.rstrip("/")
        self._cookie = cookie
        self.sign_in_hint = sign_in_hint

    def __repr__(self) -> str:  # never show the cookie
        return f"ChatUiSession({self.base!r})"

    def _headers(self, accept: str = "application/json") -> dict[str, str]:
        return {"Cookie": f"{COOKIE_NAME}={self._cookie}", "Accept": accept, "Origin": self.base}

    @asynccontextmanager
    async def _open(self, method: str, path: str, *, accept: str = "application/json",
                    **kwargs: Any) -> AsyncIterator[httpx.Response]:
        """A 2xx response from `{base}{path}`; sign-in failures carry the how-to hint."""
        advice = Advice(auth=self.sign_in_hint, forbidden=self.sign_in_hint, credential=HUGGINGCHAT_COOKIE.label)
        async with open_stream(self.label, method, self.base + path, client=shared_client(), advice=advice,
                               headers=self._headers(accept), timeout=default_timeout(), **kwargs) as response:
            if 300 <= response.status_code < 400:
                raise AuthRequiredError(self.label, "the service redirected to its sign-in page",
                                        status=response.status_code, hint=self.sign_in_hint,
                                        credential=HUGGINGCHAT_COOKIE.label)
            yield response

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        async with self._open(method, path, **kwargs) as response:
            body = await response.aread()
        try:
            return json.loads(body)
        except ValueError as exc:
            raise ProtocolError(self.label, "the response was not JSON") from exc

    async def create_conversation(self, model: str, preprompt: str = "") -> str:
        """A new server conversation for `model`; its id."""
        body: dict[str, Any] = {"model": model}
        if preprompt:
            body["preprompt"] = preprompt
        data = await self._json("POST", "/conversation", json=body)
        conversation_id = data.get("conversationId") if isinstance(data, dict) else None
        if not isinstance(conversation_id, str) or not conversation_id:
            raise ProtocolError(self.label, "no conversation id in the reply")
        return conversation_id

    async def last_message_id(self, conversation_id: str) -> str | None:
        """The id of the conversation's last message; None when the conversation is gone."""
        try:
            data = await self._json("GET", f"/api/v2/conversations/{conversation_id}")
        except (ModelNotSupportedError, ProtocolError) as exc:  # older servers lack the v2 API
            logger.info("%s: /api/v2/conversations unavailable (%s); trying __data.json", self.label, exc)
        else:
            root = data.get("json", data) if isinstance(data, dict) else None
            message_id = _last_id(root.get("messages") if isinstance(root, dict) else None)
            if message_id:
                return message_id
            raise ProtocolError(self.label, "the conversation has no messages")
        try:
            data = await self._json("GET", f"/conversation/{conversation_id}/__data.json",
                                    params={"x-sveltekit-invalidated": "11"})
        except ModelNotSupportedError:
            return None
        for node in (data.get("nodes") or []) if isinstance(data, dict) else []:
            if isinstance(node, dict) and isinstance(node.get("data"), list) and node["data"]:
                root = unflatten(node["data"])
                if isinstance(root, dict) and "messages" in root:
                    message_id = _last_id(root["messages"])
                    if message_id:
                        return message_id
        raise ProtocolError(self.label, "no message id in the conversation data")

    async def send(self, conversation_id: str, payload: dict[str, Any],
                   files: list[tuple[str, bytes, str]]) -> AsyncIterator[str]:
        """Post one message (multipart: `data` JSON plus base64 `files` parts); yield the reply's lines."""
        parts: list[tuple[str, tuple[str | None, bytes | str, str]]] = [
            ("data", (None, json.dumps(payload), "application/json"))]
        parts += [("files", (f"base64;{name}", data, mime)) for name, data, mime in files]
        async with self._open("POST", f"/conversation/{conversation_id}", files=parts,
                              accept="application/jsonl, */*") as response:
            async for line in response_lines(self.label, response):
                yield line

    async def output_file(self, conversation_id: str, sha: str) -> tuple[bytes, str]:
        """A generated file's bytes and content type."""
        if not _SHA.fullmatch(sha):
            raise ProtocolError(self.label, "a generated file has an invalid name")
        async with self._open("GET", f"/conversation/{conversation_id}/output/{sha}", accept="*/*") as response:
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_OUTPUT_BYTES:
                    raise ProtocolError(self.label, "a generated file is too large")
                chunks.append(chunk)
            mime = response.headers.get("content-type", "").split(";")[0].strip()
        return b"".join(chunks), mime


async def fetch_models(label: str, base: str) -> Catalog:
    """The public model list (no cookie: the result is shared by every visitor)."""
    url = base.rstrip("/") + "/api/v2/models"
    async with open_stream(label, "GET", url, client=shared_client(), headers={"Accept": "application/json"},
                           timeout=httpx.Timeout(MODELS_TIMEOUT)) as response:
        if response.status_code != 200:
            raise ProtocolError(label, f"HTTP {response.status_code} for the model list")
        body = await response.aread()
    try:
        return parse_models(json.loads(body))
    except ValueError as exc:
        raise ProtocolError(label, str(exc)) from exc


__all__ = ["COOKIE_NAME", "Catalog", "ChatUiSession", "cookie_value", "fetch_models", "parse_models",
           "unflatten"]
