"""FlowGPT: the signed anonymous chat endpoint (the public service stopped answering).

Each request carries a timestamp, a random nonce and their md5 signature, plus a
device id that stays the same for one visitor's session. The answer arrives as
JSON lines; only `{"event": "text", "data": ...}` carries answer text.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import string
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from .base import Capability, ChatRequest, SelfHostableService
from .events import ChatEvent, Finish, TextDelta
from .http import default_timeout, parse_json_line, stream_lines
from .session import Visitor

logger = logging.getLogger(__name__)

DEFAULT_URL = "https://prod-backend-k8s.flowgpt.com"
SITE = "https://flowgpt.com"
AUTHORIZATION = "Bearer null"
GREETING = "Hello, how can I help you today?"
DEFAULT_SYSTEM = "You are helpful assistant. Follow the user's instructions carefully."
_DEVICE_CHARS = string.ascii_letters + string.digits


def sign(timestamp: str, nonce: str, authorization: str = AUTHORIZATION) -> str:
    """The request signature: md5 hex of "{timestamp}-{nonce}-{authorization}"."""
    return hashlib.md5(f"{timestamp}-{nonce}-{authorization}".encode()).hexdigest()


def new_device_id() -> str:
    return "f-" + "".join(secrets.choice(_DEVICE_CHARS) for _ in range(19))


class FlowGptProvider(SelfHostableService):
    id = "flowgpt"
    label = "FlowGPT"
    url = SITE
    capabilities = frozenset({Capability.TEXT})
    models = {Capability.TEXT: [
        "gpt-3.5-turbo", "gpt-3.5-long", "gpt-4-turbo", "google-gemini", "claude-instant", "claude-v1",
        "claude-v2", "llama2-13b", "mythalion-13b", "pygmalion-13b", "chronos-hermes-13b", "Mixtral-8x7B",
        "Dolphin-2.6-8x7B",
    ]}
    aliases = {"gemini": "google-gemini", "gemini-pro": "google-gemini"}
    url_setting = "FLOWGPT_URL"
    default_url = DEFAULT_URL
    note = "The public FlowGPT service stopped answering; set FLOWGPT_URL to a compatible server to use it."

    def device_id(self, visitor: Visitor) -> str:
        """This visitor's device id, made on first use and kept for the session."""
        state = visitor.state.setdefault(self.id, {})
        if "device_id" not in state:
            state["device_id"] = new_device_id()
        return state["device_id"]

    def headers(self, visitor: Visitor) -> dict[str, str]:
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(16)
        return {
            "x-timestamp": timestamp,
            "x-nonce": nonce,
            "authorization": AUTHORIZATION,
            "x-signature": sign(timestamp, nonce),
            "x-flow-device-id": self.device_id(visitor),
            "origin": SITE,
            "referer": SITE + "/",
            "accept": "*/*",
        }

    async def chat(self, request: ChatRequest, visitor: Visitor) -> AsyncIterator[ChatEvent]:
        lines = stream_lines(self.label, "POST", f"{self.base_url()}/v3/chat-anonymous", json=request_body(request),
                             headers=self.headers(visitor), timeout=default_timeout())
        async with aclosing(lines):
            async for line in lines:
                event = parse_json_line(self.label, line)
                if event is None:
                    continue
                if not isinstance(event, dict):
                    logger.warning("%s: skipped a line that is not an object: %.120s", self.label, line)
                    continue
                if event.get("event") == "text" and isinstance(event.get("data"), str) and event["data"]:
                    yield TextDelta(event["data"])
        yield Finish("stop")


def request_body(request: ChatRequest) -> dict[str, Any]:
    """The anonymous chat body: the last user message as the question, earlier turns as history."""
    systems = [request.system_prompt] if request.system_prompt.strip() else []
    systems += [m.text for m in request.messages if m.role == "system" and m.text]
    turns = [m for m in request.messages if m.role != "system"]
    question = turns[-1].text if turns else ""
    history = [{"role": "assistant", "content": GREETING}]
    history += [{"role": m.role, "content": m.text} for m in turns[:-1] if m.text]
    return {
        "model": request.model,
        "nsfw": False,
        "question": question,
        "history": history,
        "system": "\n".join(systems) or DEFAULT_SYSTEM,
        "temperature": 0.7 if request.temperature is None else request.temperature,
        "promptId": f"model-{request.model}",
        "documentIds": [],
        "chatFileDocumentIds": [],
        "generateImage": False,
        "generateAudio": False,
    }
