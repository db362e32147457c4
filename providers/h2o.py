"""H2o: the h2oGPT chat-ui protocol (the public host is gone; self-hosted servers speak it).

One turn = one short-lived session: accept the settings form, open a conversation,
stream `data:{json}` tokens, and delete the conversation afterwards in every case
(success, failure, or the visitor pressing Stop). The session cookie lives only in
that turn's own HTTP client, so it is never shared between visitors.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import httpx

from .base import Capability, ChatRequest, SelfHostableService
from .errors import ProtocolError, UnavailableError
from .events import ChatEvent, Finish, TextDelta
from .http import default_timeout, parse_json_line, request, request_json, stream_lines
from .session import Visitor
from .settings import ChatUiSettings

logger = logging.getLogger(__name__)

DEFAULT_URL = "https://gpt-gm.h2o.ai"
DEFAULT_MODELS = (
    "h2oai/h2ogpt-gm-oasst1-en-2048-falcon-40b-v1",
    "h2oai/h2ogpt-gm-oasst1-en-2048-falcon-40b-v2",
    "h2oai/h2ogpt-gm-oasst1-en-2048-open-llama-13b",
    "h2oai/h2ogpt-gm-oasst1-multilang-2048-falcon-7b",
)

#: Clean-ups still running after their turn was cancelled (kept so they are not garbage-collected).
_cleanups: set[asyncio.Task] = set()


class H2oProvider(SelfHostableService):
    id = "h2o"
    label = "H2o"
    url = DEFAULT_URL
    capabilities = frozenset({Capability.TEXT})
    models = {Capability.TEXT: list(DEFAULT_MODELS)}
    url_setting = "H2O_URL"
    default_url = DEFAULT_URL
    note = "The public H2o chat is gone; set H2O_URL to a self-hosted h2oGPT chat-ui to use it."

    def model_list(self, capability: Capability) -> list[str]:
        if capability is not Capability.TEXT:
            return []
        return list(ChatUiSettings.current().h2o_models or DEFAULT_MODELS)

    async def chat(self, request: ChatRequest, visitor: Visitor) -> AsyncIterator[ChatEvent]:
        base = self.base_url()
        client = httpx.AsyncClient(timeout=default_timeout(), follow_redirects=False, trust_env=False)
        conversation_url: str | None = None
        try:
            await self._accept_settings(client, base, request.model)
            created = await request_json(self.label, "POST", f"{base}/conversation",
                                         json={"model": request.model}, client=client)
            conversation_id = created.get("conversationId") if isinstance(created, dict) else None
            if not conversation_id:
                raise ProtocolError(self.label, "no conversation id in the reply")
            conversation_url = f"{base}/conversation/{conversation_id}"
            finish = "stop"
            lines = stream_lines(self.label, "POST", conversation_url, json=_payload(request), client=client)
            async with aclosing(lines):
                async for line in lines:
                    data = parse_json_line(self.label, line, prefix="data:")
                    if not isinstance(data, dict):
                        continue
                    if data.get("error"):
                        raise UnavailableError(self.label, f"the model reported: {str(data['error'])[:200]}")
                    text = _token_text(data)
                    if text:
                        yield TextDelta(text)
                    if (data.get("details") or {}).get("finish_reason") == "length":
                        finish = "length"
            yield Finish(finish)
        finally:
            await _close_session(self.label, client, conversation_url)

    async def _accept_settings(self, client: httpx.AsyncClient, base: str, model: str) -> None:
        form = {
            "ethicsModalAccepted": "true",
            "shareConversationsWithModelAuthors": "true",
            "ethicsModalAcceptedAt": "",
            "activeModel": model,
            "searchEnabled": "true",
        }
        await request(self.label, "POST", f"{base}/settings", data=form, client=client)


def _payload(request: ChatRequest) -> dict[str, Any]:
    temperature = 0.4 if request.temperature is None else max(0.01, request.temperature)
    parameters: dict[str, Any] = {
        "temperature": temperature,
        "truncate": 2048,
        "max_new_tokens": request.max_tokens or 1024,
        "do_sample": True,
        "repetition_penalty": 1.2,
        "return_full_text": False,
    }
    if request.top_p is not None and 0 < request.top_p < 1:
        parameters["top_p"] = request.top_p
    return {
        "inputs": format_prompt(request),
        "parameters": parameters,
        "stream": True,
        "options": {"id": str(uuid.uuid4()), "response_id": str(uuid.uuid4()), "is_retry": False,
                    "use_cache": False, "web_search_id": ""},
    }


def format_prompt(request: ChatRequest) -> str:
    """The whole conversation as "role: text" lines, ending with the assistant's cue."""
    lines = [f"system: {request.system_prompt}"] if request.system_prompt.strip() else []
    lines += [f"{m.role}: {m.text}" for m in request.messages if m.text]
    lines.append("assistant:")
    return "\n".join(lines)


def _token_text(data: dict) -> str:
    token = data.get("token")
    if not isinstance(token, dict) or token.get("special"):
        return ""
    text = token.get("text")
    return text.replace("\x00", "") if isinstance(text, str) else ""


async def _close_session(provider: str, client: httpx.AsyncClient, conversation_url: str | None) -> None:
    """Delete the conversation and close the session, even when the turn is being cancelled.

    The clean-up runs as its own task behind a shield: a second cancellation
    (or Stop) stops the wait, not the delete.
    """
    task = asyncio.ensure_future(_delete_and_close(provider, client, conversation_url))
    _cleanups.add(task)
    task.add_done_callback(_cleanups.discard)
    await asyncio.shield(task)


async def _delete_and_close(provider: str, client: httpx.AsyncClient, conversation_url: str | None) -> None:
    try:
        if conversation_url:
            timeout = ChatUiSettings.current().h2o_delete_timeout
            response = await client.delete(conversation_url, timeout=timeout)
            if response.status_code >= 400:
                logger.warning("%s: deleting the conversation answered HTTP %s", provider, response.status_code)
    except httpx.HTTPError as exc:
        logger.warning("%s: could not delete the conversation (%s)", provider, type(exc).__name__)
    finally:
        await client.aclose()
