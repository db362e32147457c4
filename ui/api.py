"""The public API: /chat, /vision, /image and /providers, documented in the README.

Each endpoint is an event on hidden components, so `gradio_client` sees typed,
named parameters. Failures reach callers as AppError with the UI's message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from providers import Capability, InputError, Message, PlaygroundError
from providers.media import prepare_images, run_image_work
from providers.messages import append_turn

from .context import AppContext, api_error
from .frames import frames
from .image_tab import generate


def _history_list(raw: Any, name: str) -> list:
    """An API history parameter as a list (empty for none); anything else is an input error."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise InputError(f"'{name}' must be a list of {{\"role\", \"content\"}} objects.")
    return raw


def build_api(ctx: AppContext) -> None:
    """Register the public endpoints on hidden components (call inside the Blocks).

    Numeric parameters have no `precision`, so Gradio hands every value through unchanged
    and the use cases answer NaN, ±Infinity and non-numbers with a clear input error
    (with `precision=0` Gradio itself fails on them, with no message).
    """
    limit = ctx.settings.concurrency_limit
    with gr.Column(visible=False):
        trigger = gr.Button("api", visible=False)
        messages = gr.JSON(label="messages")
        history = gr.JSON(label="history")
        provider = gr.Textbox(label="provider")
        model = gr.Textbox(label="model")
        system_prompt = gr.Textbox(label="system_prompt")
        prompt = gr.Textbox(label="prompt")
        negative_prompt = gr.Textbox(label="negative_prompt")
        temperature = gr.Number(label="temperature", value=0.7)
        max_tokens = gr.Number(label="max_tokens", value=1024)
        top_p = gr.Number(label="top_p", value=0.95)
        images = gr.File(label="images", file_count="multiple", type="filepath")
        width = gr.Number(label="width", value=1024)
        height = gr.Number(label="height", value=1024)
        steps = gr.Number(label="steps", value=None)
        guidance = gr.Number(label="guidance", value=None)
        seed = gr.Number(label="seed", value=-1)
        reply = gr.Textbox(label="reply")
        image = gr.Image(label="image", type="filepath", format="png")
        info = gr.JSON(label="info")
        listing = gr.JSON(label="providers")

    async def stream_reply(turns: list[Message], provider_id: str, model_id: str, request: gr.Request,
                           capability: Capability, **params) -> AsyncIterator[str]:
        visitor = ctx.visitor(request)
        last = ""
        turn = None
        try:
            stream = ctx.playground.chat(turns, provider_id=provider_id, model=model_id, visitor=visitor,
                                         capability=capability, conversation="api", **params)
            async for turn in frames(stream, ctx.pacer):
                if turn.reply.text != last:
                    last = turn.reply.text
                    yield last
        except PlaygroundError as exc:
            if turn is not None and turn.reply.text != last:
                yield turn.reply.text  # the whole partial answer, not just the last frame sent
            raise api_error(exc) from exc
        if not last:  # an answer without text (e.g. only reasoning) still ends with a value
            yield last

    async def chat(messages: list, provider: str, model: str, system_prompt: str, temperature: float,
                   max_tokens: int, top_p: float, request: gr.Request):
        """Stream the cumulative reply to a conversation; the final value is the whole reply."""
        try:
            turns = await ctx.read_history(_history_list(messages, "messages"))
        except PlaygroundError as exc:
            raise api_error(exc) from exc
        async for text in stream_reply(turns, provider, model, request, Capability.TEXT,
                                       system_prompt=system_prompt or "", temperature=temperature,
                                       max_tokens=max_tokens, top_p=top_p):
            yield text

    async def vision(prompt: str, images: list | None, history: list, provider: str, model: str,
                     temperature: float, max_tokens: int, request: gr.Request):
        """Stream the cumulative reply about the given images (and earlier turns)."""
        def read_turns() -> list[Message]:  # decodes and re-encodes images: in the image pool
            turns = ctx.history_reader().read(_history_list(history, "history"))
            prepared = prepare_images(list(images or []))
            return append_turn(turns, Message(role="user", text=prompt or "", images=prepared))

        try:
            turns = await run_image_work(read_turns)
        except PlaygroundError as exc:
            raise api_error(exc) from exc
        async for text in stream_reply(turns, provider, model, request, Capability.VISION,
                                       temperature=temperature, max_tokens=max_tokens):
            yield text

    async def image_endpoint(prompt: str, provider: str, model: str, negative_prompt: str, width: int,
                             height: int, steps: int | None, guidance: float | None, seed: int,
                             request: gr.Request):
        """Generate an image; returns the file and {provider, model, seed, width, height, seconds}."""
        try:
            return await generate(ctx, request, prompt, provider, model, negative_prompt, width, height,
                                  steps, guidance, seed)
        except PlaygroundError as exc:
            raise api_error(exc) from exc

    def providers_endpoint(request: gr.Request) -> list[dict]:
        """Every registered provider with its capabilities, models and availability for the caller
        (a credential sent in its header, e.g. x-hf-token, counts)."""
        visitor = ctx.visitor(request)
        return [p.describe(visitor) for p in ctx.registry.all()]

    trigger.click(chat, [messages, provider, model, system_prompt, temperature, max_tokens, top_p], reply,
                  api_name="chat", concurrency_limit=limit, show_progress="hidden")
    trigger.click(vision, [prompt, images, history, provider, model, temperature, max_tokens], reply,
                  api_name="vision", concurrency_limit=limit, show_progress="hidden")
    trigger.click(image_endpoint, [prompt, provider, model, negative_prompt, width, height, steps, guidance,
                                   seed], [image, info], api_name="image", concurrency_limit=limit)
    trigger.click(providers_endpoint, None, listing, api_name="providers", queue=False)
