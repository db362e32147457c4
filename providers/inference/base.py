"""The shared mechanism of adapters built on huggingface_hub's `AsyncInferenceClient`.

`InferenceClientProvider` streams OpenAI-style chat completions (text and vision),
retries "model loading" (HTTP 503) for a bounded time while telling the user, and
turns every client failure into a typed error, keeping what was already streamed.
Subclasses say where requests go (`endpoint`) and what advice their errors carry.

Continue: a chat request ending with an assistant message makes most servers start a
new turn. vLLM and TGI extend that message instead when the body carries
`continue_final_message: true` with `add_generation_prompt: false` (vLLM refuses
the pair with both true); servers that do not know the fields ignore them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any, TypeVar

from huggingface_hub import AsyncInferenceClient
from huggingface_hub.errors import HfHubHTTPError

from ..base import Capability, ChatRequest, Provider
from ..errors import PlaygroundError, UnavailableError
from ..events import ChatEvent, Finish, ReasoningDelta, Status, TextDelta
from ..session import Visitor
from ..settings import HttpSettings, HuggingFaceSettings
from .clients import ClientPool, Endpoint
from .errors import CLIENT_ERRORS, Hints, http_status, is_loading, map_error, suggested_wait
from .exact_format import structured_fields

logger = logging.getLogger(__name__)

T = TypeVar("T")


def request_timeout() -> float:
    """Seconds to wait for a response or the next streamed chunk (HF_INFERENCE_TIMEOUT, else PROVIDER_READ_TIMEOUT)."""
    return HuggingFaceSettings.current().timeout or HttpSettings.current().read_timeout


def chat_messages(request: ChatRequest) -> list[dict[str, Any]]:
    """OpenAI chat messages; images become `image_url` data-URL parts (vision only), earlier turns included."""
    out: list[dict[str, Any]] = []
    if request.system_prompt.strip():
        out.append({"role": "system", "content": request.system_prompt})
    send_images = request.capability is Capability.VISION
    for message in request.messages:
        if send_images and message.images:
            parts: list[dict[str, Any]] = []
            if message.text:
                parts.append({"type": "text", "text": message.text})
            parts.extend({"type": "image_url", "image_url": {"url": image.data_url()}} for image in message.images)
            out.append({"role": message.role, "content": parts})
        else:
            out.append({"role": message.role, "content": message.text})
    return out


#: Body fields asking vLLM / TGI to extend the final assistant message rather than answer it.
CONTINUE_FINAL_MESSAGE: dict[str, Any] = {"continue_final_message": True, "add_generation_prompt": False}


def continuation_fields(request: ChatRequest) -> dict[str, Any]:
    """The continue-final-message fields when the request continues a trailing assistant message, else none."""
    if request.continue_last and request.messages and request.messages[-1].role == "assistant":
        return dict(CONTINUE_FINAL_MESSAGE)
    return {}


def sampling(request: ChatRequest) -> dict[str, Any]:
    """The sampling parameters the user set (None = the server's default, so not sent)."""
    params = {"temperature": request.temperature, "max_tokens": request.max_tokens, "top_p": request.top_p}
    return {k: v for k, v in params.items() if v is not None}


class InferenceClientProvider(Provider):
    """Base of adapters that talk through `AsyncInferenceClient` (chat streaming, errors, retries)."""

    def __init__(self) -> None:
        self._pool = ClientPool(size=HuggingFaceSettings.current().client_pool_size)

    # -- to override ------------------------------------------------------------------
    def endpoint(self, visitor: Visitor) -> Endpoint:
        """Where this visitor's requests go and with which key. Raise typed errors when impossible."""
        raise NotImplementedError

    def hints(self, model: str) -> Hints:
        return Hints()

    # -- shared mechanism ---------------------------------------------------------------
    def error(self, exc: BaseException, model: str, *, started: bool = False) -> PlaygroundError:
        """The typed error for a client failure (an error of ours passes through unchanged)."""
        return map_error(self.label, exc, model=model, started=started, hints=self.hints(model))

    async def stream_chat(self, endpoint: Endpoint, request: ChatRequest, model: str, *,
                          continue_final: bool = False, **extra: Any) -> AsyncIterator[ChatEvent]:
        """Stream `chat_completion` (OpenAI chat SSE) as events.

        With `continue_final` (a server that honours it), Continue sends `CONTINUE_FINAL_MESSAGE`;
        structured output goes as OpenAI's `response_format` (see `exact_format`).
        """
        messages = chat_messages(request)
        params = {**sampling(request), **extra}
        fields = {**(continuation_fields(request) if continue_final else {}), **structured_fields(request)}
        if fields:
            params["extra_body"] = {**params.get("extra_body", {}), **fields}

        def events(chunk: Any) -> Iterator[ChatEvent]:
            for choice in chunk.choices or ():
                delta = choice.delta
                if delta is not None:
                    reasoning = getattr(delta, "reasoning", None) or getattr(delta, "reasoning_content", None)
                    if reasoning:
                        yield ReasoningDelta(reasoning)
                    if delta.content:
                        yield TextDelta(delta.content)
                if choice.finish_reason:
                    yield Finish(choice.finish_reason)

        async for event in self.stream_events(
            endpoint, model, lambda client: client.chat_completion(messages, model=model, stream=True, **params),
            events, finish="stop",
        ):
            yield event

    async def stream_events(self, endpoint: Endpoint, model: str,
                            open_stream: Callable[[AsyncInferenceClient], Awaitable[AsyncIterable[Any]]],
                            events: Callable[[Any], Iterable[ChatEvent]], *, finish: str) -> AsyncIterator[ChatEvent]:
        """Open a stream on a pooled client (retrying while the model loads) and turn its chunks into events.

        `events` may yield Finish to set the reason sent at the end (default `finish`).
        Any client failure becomes a typed error; text already yielded stays with the caller.
        """
        started = False
        async with self._pool.lease(endpoint) as client:
            try:
                async for item in self.retry_loading(lambda: open_stream(client), model):
                    if isinstance(item, Status):
                        yield item
                        continue
                    async for chunk in item:
                        for event in events(chunk):
                            if isinstance(event, Finish):
                                finish = event.reason
                                continue
                            started = started or isinstance(event, TextDelta)
                            yield event
            except CLIENT_ERRORS as exc:
                raise self.error(exc, model, started=started) from exc
        yield Finish(finish)

    async def retry_loading(self, call: Callable[[], Awaitable[T]], model: str) -> AsyncIterator[Status | T]:
        """Run `call`; while it answers 503 (model loading) wait and retry, yielding a Status per wait.

        The total wait is bounded by HF_LOADING_MAX_WAIT seconds (0 disables retries);
        the pause follows the server's Retry-After / estimated_time, else doubles from 1 s up to 10 s.
        """
        budget = HuggingFaceSettings.current().loading_max_wait
        waited, backoff = 0.0, 1.0
        while True:
            try:
                result = await call()
            except HfHubHTTPError as exc:
                remaining = budget - waited
                if http_status(exc) != 503 or remaining <= 0:
                    if http_status(exc) == 503 and budget > 0:
                        raise UnavailableError(self.label, f"{model} did not finish loading in {round(waited)} s",
                                               status=503, hint="Try again in a minute") from exc
                    raise
                pause = min(remaining, max(0.05, suggested_wait(exc) or backoff))
                backoff = min(backoff * 2, 10.0)
                what = "model loading" if is_loading(exc) else "service busy"
                yield Status(f"{what}, retrying in {max(1, round(pause))} s")
                await asyncio.sleep(pause)
                waited += pause
                continue
            yield result
            return
