"""The playground's use cases, shared by the tabs and the public API (no gradio here).

`Playground.chat` validates a turn, resolves provider and model, streams the
provider's events into a `Turn` and measures it; `Playground.image` does the
same for text-to-image. Unexpected adapter bugs become clear provider errors.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field, replace

from providers import (
    Capability,
    ChatRequest,
    ImageRequest,
    ImageResult,
    InputError,
    Message,
    PlaygroundError,
    Provider,
    ProviderError,
    Registry,
    Reply,
    TextDelta,
    Visitor,
)
from providers.base import ResponseFormat
from providers.errors import ProtocolError, internal_error
from providers.events import Progress, ProgressSink, listening_for_progress
from providers.streams import aclose_quietly

from .limits import FairUse, visitor_limit_key
from .structured import check_offered

logger = logging.getLogger(__name__)

IMAGE_SIDE_RANGE = (256, 2048)
IMAGE_STEPS_RANGE = (1, 100)
GUIDANCE_RANGE = (0.0, 30.0)
SEED_MAX = 2**31 - 1
#: For estimating tokens from text when a provider does not report them.
CHARS_PER_TOKEN = 4
#: Fewer pieces of text than this, or text that came faster than this many seconds, give no honest speed.
MIN_DELTAS_FOR_SPEED = 3
MIN_SECONDS_FOR_SPEED = 0.25
#: Seconds between progress reports of an image that reports nothing new (the time taken still moves on).
IMAGE_HEARTBEAT = 1.0


@dataclass(frozen=True)
class ImageDone:
    """The end of `Playground.image_events`: the image and the seconds it took."""

    result: ImageResult
    seconds: float


@dataclass
class Turn:
    """One chat turn in progress: the reply so far plus who answered and how fast."""

    provider_id: str
    provider: str
    model: str
    reply: Reply = field(default_factory=Reply)
    started: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    ended: float | None = None
    #: Pieces of answer text received (a provider may send a word or a whole paragraph in one).
    deltas: int = 0
    error: PlaygroundError | None = None

    @property
    def tokens(self) -> int:
        """Output tokens: as the provider reported them, else estimated from the text (~4 characters each)."""
        if self.reply.output_tokens is not None:
            return self.reply.output_tokens
        return math.ceil(len(self.reply.text) / CHARS_PER_TOKEN)

    @property
    def tokens_estimated(self) -> bool:
        return self.reply.output_tokens is None

    @property
    def answered_by(self) -> tuple[str, str]:
        """(provider label, model) of who actually answered (Auto answers through another)."""
        by = self.reply.answered_by
        return (by.provider, by.model) if by else (self.provider, self.model)

    @property
    def time_to_first_token(self) -> float | None:
        return None if self.first_token_at is None else self.first_token_at - self.started

    @property
    def elapsed(self) -> float:
        return (self.ended or time.perf_counter()) - self.started

    @property
    def tokens_per_second(self) -> float | None:
        """Output speed after the first token; None when it cannot be known: the answer came in fewer
        than `MIN_DELTAS_FOR_SPEED` pieces (a Space that sends whole paragraphs) or all at once."""
        if self.first_token_at is None or self.deltas < MIN_DELTAS_FOR_SPEED:
            return None
        span = (self.ended or time.perf_counter()) - self.first_token_at
        return self.tokens / span if span >= MIN_SECONDS_FOR_SPEED else None

    def stats(self) -> dict:
        """The turn's figures as the API returns them; `answered_by` names who actually answered."""
        by = self.reply.answered_by
        return {
            "provider": self.provider_id,
            "model": self.model,
            "answered_by": {"provider": by.provider_id, "label": by.provider, "model": by.model} if by else None,
            "time_to_first_token": _round(self.time_to_first_token),
            "seconds": _round(self.elapsed),
            "tokens": self.tokens,
            "tokens_estimated": self.tokens_estimated,
            "tokens_per_second": _round(self.tokens_per_second),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def clamp(value: float | None, low: float, high: float, default: float, *, what: str = "value") -> float:
    """`value` limited to [low, high] (`default` for None). NaN, ±Infinity and non-numbers are an InputError."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"'{what}' must be a number, not {type(value).__name__}.")
    if not math.isfinite(value):
        raise InputError(f"'{what}' must be a finite number, not {value}.")
    return min(high, max(low, value))


def sampling_params(temperature: float | None, max_tokens: float | None, top_p: float | None) -> dict:
    """The sampling parameters, clamped to their ranges (None = the provider's default). Raises InputError."""
    return {
        "temperature": None if temperature is None else clamp(temperature, 0.0, 2.0, 0.7, what="temperature"),
        "max_tokens": None if max_tokens is None else int(clamp(max_tokens, 1, 32768, 1024, what="max_tokens")),
        "top_p": None if top_p is None else clamp(top_p, 0.01, 1.0, 1.0, what="top_p"),
    }


@dataclass(frozen=True)
class RequestLimits:
    """Bounds on one whole chat request (the last message alone is bounded by `max_prompt_chars`)."""

    max_messages: int = 200
    max_request_chars: int = 400_000
    max_images: int = 16


class Playground:
    """Entry points for chat and image generation over a registry."""

    def __init__(self, registry: Registry, *, max_prompt_chars: int = 100_000,
                 limits: RequestLimits | None = None, fair_use: FairUse | None = None) -> None:
        self.registry = registry
        self.max_prompt_chars = max_prompt_chars
        self.limits = limits if limits is not None else RequestLimits()
        self.fair_use = fair_use if fair_use is not None else FairUse(max_streams=0, per_minute=0)

    def check_request(self, messages: list[Message], system_prompt: str) -> None:
        """The whole request within bounds: system prompt, number of messages, total text, images."""
        limits = self.limits
        if len(system_prompt) > self.max_prompt_chars:
            raise InputError(f"The system prompt is {len(system_prompt):,} characters; "
                             f"the limit is {self.max_prompt_chars:,}.")
        if len(messages) > limits.max_messages:
            raise InputError(f"The conversation has {len(messages):,} messages; the limit is "
                             f"{limits.max_messages:,}. Start a new conversation.")
        total = len(system_prompt) + sum(len(m.text) for m in messages)
        if total > limits.max_request_chars:
            raise InputError(f"The conversation is {total:,} characters; the limit is "
                             f"{limits.max_request_chars:,}. Start a new conversation.")
        images = sum(len(m.images) for m in messages)
        if images > limits.max_images:
            raise InputError(f"The conversation holds {images} images; the limit is {limits.max_images}. "
                             "Start a new conversation.")

    # -- validation --------------------------------------------------------------
    def check_prompt(self, text: str | None, *, what: str = "message") -> str:
        text = text or ""
        if not text.strip():
            raise InputError(f"Type a {what} first: it is empty.")
        if len(text) > self.max_prompt_chars:
            raise InputError(
                f"The {what} is {len(text):,} characters; the limit is {self.max_prompt_chars:,}."
            )
        return text

    async def resolve(self, provider_id: str | None, model: str | None, capability: Capability,
                      visitor: Visitor | None = None):
        """The provider (default: the first that can answer `visitor`) and the resolved model id."""
        if provider_id:
            provider = self.registry.get(provider_id)
        else:
            provider = self.registry.default_for(capability, visitor)
            if provider is None:
                raise InputError(f"No provider offers {capability.value}.")
        if not provider.supports(capability):
            raise InputError(f"{provider.label} does not offer {capability.value}.")
        known = None
        if model and not provider.accepts_any_model:
            known = await provider.list_models(capability)
        return provider, provider.get_model(capability, model, known=known)

    # -- chat ------------------------------------------------------------------------
    async def chat(
        self,
        messages: list[Message],
        *,
        provider_id: str | None,
        model: str | None,
        visitor: Visitor,
        capability: Capability = Capability.TEXT,
        system_prompt: str = "",
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        web_search: bool = False,
        continue_last: bool = False,
        conversation: str = "",
        response_format: ResponseFormat | None = None,
    ) -> AsyncIterator[Turn]:
        """Stream a turn; yields the same Turn after every event. Raises PlaygroundError.

        With `continue_last` the conversation ends with the assistant answer to extend.
        `conversation` names which of the visitor's conversations this is ("text", "compare-2"…):
        providers keep their server-side state per conversation. `response_format` asks for structured
        output; a provider that does not declare `supports_structured_output` refuses it at once.
        """
        if not messages:
            raise InputError("Type a message first: it is empty.")
        expected = "assistant" if continue_last else "user"
        if messages[-1].role != expected:
            raise InputError(f"The conversation must end with {'an' if continue_last else 'a'} {expected} message.")
        last = messages[-1]
        if continue_last or last.images:
            if len(last.text) > self.max_prompt_chars:
                self.check_prompt(last.text)
        else:
            self.check_prompt(last.text)
        if capability is Capability.VISION and not any(m.images for m in messages):
            raise InputError("Add an image to ask the vision model about.")
        self.check_request(messages, system_prompt or "")
        provider, resolved = await self.resolve(provider_id, model, capability, visitor)
        if continue_last and not provider.supports_continue:
            raise InputError(f"{provider.label} cannot continue an answer; ask it to go on instead.")
        check_offered(provider, response_format)
        request = ChatRequest(
            messages=messages,
            model=resolved,
            system_prompt=system_prompt or "",
            **sampling_params(temperature, max_tokens, top_p),
            web_search=web_search,
            continue_last=continue_last,
            capability=capability,
            conversation_id=conversation,
            response_format=response_format,
        )
        with self.fair_use.admit(visitor_limit_key(visitor)):
            async with aclosing(self._stream(provider, request, visitor)) as turns:  # Stop closes it at once
                async for turn in turns:
                    yield turn

    async def _stream(self, provider: Provider, request: ChatRequest, visitor: Visitor) -> AsyncIterator[Turn]:
        turn = Turn(provider_id=provider.id, provider=provider.label, model=request.model)
        stream = provider.chat(request, visitor.in_conversation(request.conversation_id))
        try:
            async for event in stream:
                if isinstance(event, TextDelta) and event.text:
                    if turn.first_token_at is None:
                        turn.first_token_at = time.perf_counter()
                    turn.deltas += 1
                turn.reply.apply(event)
                yield turn
        except PlaygroundError as exc:
            turn.error = exc
            raise
        except (asyncio.CancelledError, GeneratorExit):
            raise
        except Exception as exc:
            turn.error = internal_error(provider.label, exc)  # a bug of ours: logged with its traceback
            raise turn.error from exc
        finally:
            turn.ended = time.perf_counter()
            await aclose_quietly(stream)
        if not turn.reply.has_content:
            turn.error = ProtocolError(provider.label, "the service returned an empty answer")
            raise turn.error
        provider.reached()  # it answered: no longer shown as unreachable after an earlier status check

    # -- images ----------------------------------------------------------------------
    async def image_request(self, prompt: str, *, provider_id: str | None, model: str | None,
                            visitor: Visitor | None = None, negative_prompt: str = "", width: int | None = 1024,
                            height: int | None = 1024, steps: int | None = None, guidance: float | None = None,
                            seed: int | None = -1) -> tuple[Provider, ImageRequest]:
        """The provider and the checked request `image` sends (also what "View code" shows). Raises InputError."""
        self.check_prompt(prompt, what="prompt")
        provider, resolved = await self.resolve(provider_id, model, Capability.IMAGE, visitor)
        options = provider.image_options(resolved)  # steps and guidance are kept within what the model takes
        low, high = max(options.steps[0], IMAGE_STEPS_RANGE[0]), min(options.steps[1], IMAGE_STEPS_RANGE[1])
        if options.guidance is None:
            guidance = None
        elif guidance is not None:
            g_low, g_high = max(options.guidance[0], GUIDANCE_RANGE[0]), min(options.guidance[1], GUIDANCE_RANGE[1])
            guidance = clamp(guidance, g_low, g_high, options.default_guidance or g_low, what="guidance")
        request = ImageRequest(
            prompt=prompt,
            model=resolved,
            negative_prompt=(negative_prompt or "") if options.negative_prompt else "",
            width=_snap(width, "width"),
            height=_snap(height, "height"),
            steps=None if steps is None else int(clamp(steps, low, high, options.default_steps or low, what="steps")),
            guidance=guidance,
            seed=int(clamp(seed, -1, SEED_MAX, -1, what="seed")),
        )
        return provider, request

    async def image(
        self,
        prompt: str,
        *,
        provider_id: str | None,
        model: str | None,
        visitor: Visitor,
        negative_prompt: str = "",
        width: int | None = 1024,
        height: int | None = 1024,
        steps: int | None = None,
        guidance: float | None = None,
        seed: int | None = -1,
        on_progress: ProgressSink | None = None,
    ) -> tuple[ImageResult, float]:
        """Generate one image; returns it with the seconds taken. Sizes snap to multiples of 32.

        `on_progress` receives the provider's `Progress` reports (queue position, steps) as they come.
        """
        provider, request = await self.image_request(
            prompt, provider_id=provider_id, model=model, visitor=visitor, negative_prompt=negative_prompt,
            width=width, height=height, steps=steps, guidance=guidance, seed=seed)
        started = time.perf_counter()
        try:
            with self.fair_use.admit(visitor_limit_key(visitor)), listening_for_progress(on_progress):
                result = await provider.generate_image(request, visitor)
        except PlaygroundError:
            raise
        except Exception as exc:
            raise internal_error(provider.label, exc) from exc
        if not result.data:
            raise ProtocolError(provider.label, "the service returned no image")
        provider.reached()
        return result, time.perf_counter() - started


    async def image_events(self, prompt: str, *, heartbeat: float = IMAGE_HEARTBEAT,
                           **options) -> AsyncIterator[Progress | ImageDone]:
        """`image` as a stream: `Progress` (with the seconds so far) whenever the provider reports
        some, and at least every `heartbeat` seconds, then `ImageDone`. Raises PlaygroundError.

        Closing the stream (Cancel) cancels the generation and waits until the provider has let
        go of what it held (a Space job is released or cancelled there).
        """
        updates: asyncio.Queue[Progress | None] = asyncio.Queue()
        started = time.perf_counter()
        task = asyncio.create_task(self.image(prompt, on_progress=updates.put_nowait, **options))
        task.add_done_callback(lambda _: updates.put_nowait(None))
        latest = Progress()
        try:
            yield latest
            while True:
                try:
                    update = await asyncio.wait_for(updates.get(), heartbeat)
                except asyncio.TimeoutError:
                    update = latest
                if update is None:
                    break
                latest = update
                yield replace(latest, elapsed=time.perf_counter() - started)
            result, seconds = task.result()
            yield ImageDone(result, seconds)
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)  # the provider's clean-up has run
            elif not task.cancelled():
                task.exception()  # retrieved: a failure nobody read again is not logged as lost


def _snap(side: int | float | None, what: str) -> int:
    low, high = IMAGE_SIDE_RANGE
    value = int(clamp(side, low, high, 1024, what=what))
    return max(low, min(high, round(value / 32) * 32))


def describe_error(exc: BaseException) -> str:
    """The message a visitor sees for any failure; a provider's failure is logged as the operator reads it
    (the service's detail and any setting to check), which the visitor's message never names."""
    if isinstance(exc, ProviderError):
        logger.info("Shown to a visitor: %s", exc)
    if isinstance(exc, PlaygroundError):
        return exc.user_message
    return f"Unexpected error: {type(exc).__name__}"


__all__ = ["ImageDone", "Playground", "Turn", "describe_error", "clamp", "ProviderError"]
