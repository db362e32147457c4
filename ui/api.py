"""The public API: /chat, /vision, /image, /providers and /compare, for programs using gradio_client.

It imports no tab: what tabs and endpoints share lives in `context`, `images` and the core.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from playground.compare import Job, compare, parse_targets
from playground.service import sampling_params
from providers import Capability, InputError, Message, PlaygroundError
from providers.media import prepare_images, run_image_work
from providers.messages import append_turn, names_files

from .context import AppContext, api_error
from .frames import frames
from .images import generate


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


def compare_jobs(ctx: AppContext, prompt: str, raw_targets: Any) -> list[Job]:
    """Validate the API input. A target may carry its own earlier turns as `history`
    (the same shape as `/chat`'s `messages`), so each column can be followed up."""
    ctx.playground.check_prompt(prompt)
    targets = parse_targets(raw_targets)
    reader = ctx.history_reader()
    jobs = []
    for target, raw in zip(targets, raw_targets):
        messages = reader.read(raw.get("history") or [])
        append_turn(messages, Message(role="user", text=prompt))
        jobs.append(Job(target, messages))
    return jobs


def build_compare_api(ctx: AppContext) -> None:
    """Register `/compare` on hidden components (call inside the Blocks)."""
    with gr.Column(visible=False):
        trigger = gr.Button("compare", visible=False)
        prompt = gr.Textbox(label="prompt")
        targets = gr.JSON(label="targets")
        system_prompt = gr.Textbox(label="system_prompt")
        temperature = gr.Number(label="temperature", value=0.7)
        max_tokens = gr.Number(label="max_tokens", value=1024)
        top_p = gr.Number(label="top_p", value=0.95)
        replies = gr.JSON(label="replies")

    async def compare_endpoint(prompt: str, targets: list, system_prompt: str, temperature: float,
                               max_tokens: int, top_p: float, request: gr.Request) -> AsyncIterator[list]:
        """Stream a list with one entry per target: {provider, model, answered_by (who answered for
        Auto, else null), reply (cumulative), error, done, time_to_first_token, seconds,
        tokens_per_second, tokens_estimated}. The targets run concurrently; one failing
        target reports its `error` while the others carry on."""
        try:
            sampling_params(temperature, max_tokens, top_p)  # a bad number fails once, not per column
            jobs = await run_image_work(compare_jobs, ctx, prompt, targets) if names_files(targets) \
                else compare_jobs(ctx, prompt, targets)
        except PlaygroundError as exc:
            raise api_error(exc) from exc
        stream = compare(ctx.playground, jobs, visitor=ctx.visitor(request), scope="api-compare",
                         system_prompt=system_prompt or "",
                         temperature=temperature, max_tokens=max_tokens, top_p=top_p)
        async for columns in frames(stream, ctx.pacer):
            yield [c.as_dict() for c in columns]

    trigger.click(compare_endpoint, [prompt, targets, system_prompt, temperature, max_tokens, top_p], replies,
                  api_name="compare", concurrency_limit=ctx.settings.concurrency_limit, show_progress="hidden")
