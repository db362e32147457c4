"""The public API: /chat, /vision, /image, /providers and /compare, for programs using gradio_client
and, as tools, for MCP clients (Gradio's MCP server reads each function's docstring and parameters).

Only the prompt (or the messages) is required: the provider defaults to the first that can answer
the caller, the model to that provider's default, the parameters to the UI's (for images, the
model's own steps and guidance). It imports no tab: what tabs and endpoints share lives in
`context`, `images` and the core.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from playground.compare import Job
from playground.compare import compare as compare_columns
from playground.compare import parse_targets
from playground.service import sampling_params
from playground.structured import MODES, check_answer, response_format
from providers import Capability, InputError, Message, PlaygroundError, Registry, Visitor
from providers.base import ResponseFormat
from providers.media import run_image_work
from providers.messages import append_turn, names_files

from .api_schema import HISTORY, IMAGES, JSON_SCHEMA, MESSAGES, TARGETS, typed_json
from .context import AppContext, api_error
from .frames import frames
from .images import generate
from .mcp import caller

#: The sampling parameters' defaults, as the UI's sliders start (ui/parameters.py).
TEMPERATURE, MAX_TOKENS, TOP_P = 0.7, 1024, 0.95
#: How much of a mismatching structured answer its error quotes.
QUOTED_ANSWER_CHARS = 2000


def _history_list(raw: Any, name: str) -> list:
    """An API history parameter as a list (empty for none); anything else is an input error."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise InputError(f"'{name}' must be a list of {{\"role\", \"content\"}} objects.")
    return raw


def _image_parts(raw: Any) -> list[dict]:
    """`/vision`'s images as message parts, read like a history's: uploaded files (checked to be this app's
    uploads), or data: URLs; a link is refused, never fetched."""
    if raw in (None, ""):
        return []
    items = raw if isinstance(raw, list) else [raw]
    parts = []
    for item in items:
        if isinstance(item, dict):
            parts.append({"type": "file", "file": item})
        elif isinstance(item, str) and item.partition(":")[0].lower() in ("data", "http", "https"):
            parts.append({"type": "image_url", "image_url": {"url": item}})
        elif isinstance(item, str):
            parts.append({"type": "file", "file": {"path": item}})
        else:
            raise InputError("'images' must be a list of uploaded files or data: URLs.")
    return parts


def _messages_list(raw: Any) -> list:
    """`/chat`'s messages: a list of {"role", "content"} objects, or one user message as plain text."""
    if isinstance(raw, str):
        return [{"role": "user", "content": raw}]
    return _history_list(raw, "messages")


def _structured(mode: str | None, schema: Any) -> ResponseFormat | None:
    """The requested structured output; a schema given alone turns "json_schema" on."""
    if (mode or "off") == "off" and schema not in (None, "", {}):
        mode = "json_schema"
    return response_format(mode, schema)


def _checked(answer: str, fmt: ResponseFormat) -> str:
    """The structured answer formatted, or an error saying how it fails (quoting the answer)."""
    checked = check_answer(answer, fmt)
    if not checked.matches:
        quoted = answer if len(answer) <= QUOTED_ANSWER_CHARS else answer[:QUOTED_ANSWER_CHARS] + "…"
        raise gr.Error(f"{checked.verdict()}. The answer was: {quoted}", print_exception=False)
    return checked.pretty()


def default_targets(registry: Registry, visitor: Visitor) -> list[dict]:
    """`/compare`'s targets when none are given: the default models of the first two text providers
    ready for the visitor, else the first ready provider's first two models."""
    ready = [p for p in registry.for_capability(Capability.TEXT)
             if not p.delegating and p.availability(visitor).ready]
    targets = [{"provider": p.id, "model": p.default_model(Capability.TEXT)} for p in ready[:2]]
    if len(targets) == 1:
        first = ready[0]
        others = [m for m in first.model_list(Capability.TEXT) if m != targets[0]["model"]]
        targets += [{"provider": first.id, "model": m} for m in others[:1]]
    if len(targets) < 2:
        raise InputError("Name the 2 to 4 models to compare in 'targets': fewer than two can answer you now.")
    return targets


def build_api(ctx: AppContext) -> None:
    """Register the public endpoints on hidden components (call inside the Blocks).

    Numeric parameters have no `precision`, so Gradio hands every value through unchanged
    and the use cases answer NaN, ±Infinity and non-numbers with a clear input error
    (with `precision=0` Gradio itself fails on them, with no message). A parameter with a
    default has it as the component's value, or (None) as the function's default.
    """
    limit = ctx.settings.concurrency_limit
    with gr.Column(visible=False):
        trigger = gr.Button("api", visible=False)
        messages = typed_json("messages", MESSAGES)
        history = typed_json("history", HISTORY)
        provider = gr.Textbox(label="provider", value="")
        model = gr.Textbox(label="model", value="")
        system_prompt = gr.Textbox(label="system_prompt", value="")
        prompt = gr.Textbox(label="prompt")
        negative_prompt = gr.Textbox(label="negative_prompt", value="")
        temperature = gr.Number(label="temperature", value=TEMPERATURE)
        max_tokens = gr.Number(label="max_tokens", value=MAX_TOKENS)
        top_p = gr.Number(label="top_p", value=TOP_P)
        images = typed_json("images", IMAGES)
        width = gr.Number(label="width", value=1024)
        height = gr.Number(label="height", value=1024)
        steps = gr.Number(label="steps", value=None)
        guidance = gr.Number(label="guidance", value=None)
        seed = gr.Number(label="seed", value=-1)
        structured_output = gr.Dropdown(list(MODES), value="off", label="structured_output")
        json_schema = typed_json("json_schema", JSON_SCHEMA)
        reply = gr.Textbox(label="reply")
        image_file = gr.Image(label="image", type="filepath", format="png")
        info = gr.JSON(label="info")
        listing = gr.JSON(label="providers")

    async def stream_reply(turns: list[Message], provider_id: str, model_id: str, request: gr.Request | None,
                           capability: Capability, **params) -> AsyncIterator[str]:
        visitor = ctx.visitor(caller(request, ctx.credentials))
        last = ""
        turn = None
        try:
            stream = ctx.playground.chat(turns, provider_id=provider_id or None, model=model_id or None,
                                         visitor=visitor, capability=capability, conversation="api", **params)
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

    async def chat(messages: list | str, provider: str = "", model: str = "", system_prompt: str = "",
                   temperature: float = TEMPERATURE, max_tokens: int = MAX_TOKENS, top_p: float = TOP_P,
                   structured_output: str = "off", json_schema: dict | str | None = None,
                   request: gr.Request | None = None) -> AsyncIterator[str]:
        """Chat with a text model; only `messages` is required. Streams the reply as it grows.

        Args:
            messages: The conversation: the user's message as plain text, or a list of {"role": "user" or "assistant", "content": text} ending with the user's message.
            provider: Provider id (see the providers tool); empty: the first provider that can answer you.
            model: Model id or alias; empty: the provider's default model.
            system_prompt: Instructions for the model; empty: none.
            temperature: Sampling temperature, 0 to 2.
            max_tokens: Longest answer in tokens.
            top_p: Nucleus sampling, 0.01 to 1.
            structured_output: "off", "json" (any JSON object) or "json_schema" (JSON following json_schema); providers without structured output refuse it.
            json_schema: A JSON schema for the answer (an object schema, as JSON or its text); giving one turns json_schema on.
        Returns:
            The reply. With structured output, the JSON answer, formatted; an answer that does not match is an error naming what is wrong.
        """
        try:
            turns = await ctx.read_history(_messages_list(messages))
            fmt = _structured(structured_output, json_schema)
        except PlaygroundError as exc:
            raise api_error(exc) from exc
        answer = ""
        async for answer in stream_reply(turns, provider, model, request, Capability.TEXT,
                                         system_prompt=system_prompt or "", temperature=temperature,
                                         max_tokens=max_tokens, top_p=top_p, response_format=fmt):
            yield answer
        if fmt is not None:
            yield _checked(answer, fmt)

    async def vision(prompt: str, images: list | None = None, history: list | None = None, provider: str = "",
                     model: str = "", temperature: float = TEMPERATURE, max_tokens: int = MAX_TOKENS,
                     request: gr.Request | None = None) -> AsyncIterator[str]:
        """Ask a vision model about images; `prompt` and at least one image are needed. Streams the reply.

        Args:
            prompt: The question about the images.
            images: The images: uploaded files (MCP: data: URLs; links are not fetched).
            history: Earlier turns, as a list of {"role", "content"} messages; empty: none.
            provider: Provider id; empty: the first provider that can answer you.
            model: Model id or alias; empty: the provider's default vision model.
            temperature: Sampling temperature, 0 to 2.
            max_tokens: Longest answer in tokens.
        Returns:
            The reply.
        """
        def read_turns() -> list[Message]:  # decodes and re-encodes images: in the image pool
            reader = ctx.history_reader()
            turns = reader.read(_history_list(history, "history"))
            asked = reader.read([{"role": "user", "content": _image_parts(images)}])
            prepared = asked[0].images if asked else []
            return append_turn(turns, Message(role="user", text=prompt or "", images=prepared))

        try:
            turns = await run_image_work(read_turns)
        except PlaygroundError as exc:
            raise api_error(exc) from exc
        async for text in stream_reply(turns, provider, model, request, Capability.VISION,
                                       temperature=temperature, max_tokens=max_tokens):
            yield text

    async def image(prompt: str, provider: str = "", model: str = "", negative_prompt: str = "",
                    width: int = 1024, height: int = 1024, steps: int | None = None, guidance: float | None = None,
                    seed: int = -1, request: gr.Request | None = None) -> tuple[str, dict]:
        """Generate an image from a text prompt; only `prompt` is required.

        Args:
            prompt: What the image shows.
            provider: Provider id; empty: the first provider that can answer you.
            model: Model id or alias; empty: the provider's default image model.
            negative_prompt: What the image should not show (models that take one).
            width: Width in pixels, 256 to 2048 (snapped to a multiple of 32).
            height: Height in pixels, 256 to 2048 (snapped to a multiple of 32).
            steps: Inference steps; empty: the model's default.
            guidance: Guidance scale; empty: the model's default.
            seed: Seed; -1 picks one at random (the one used is returned).
        Returns:
            The image, and {provider, model, seed, width, height, seconds}.
        """
        try:
            return await generate(ctx, caller(request, ctx.credentials), prompt, provider or None, model or None,
                                  negative_prompt or "", width, height, steps, guidance, seed)
        except PlaygroundError as exc:
            raise api_error(exc) from exc

    def providers(request: gr.Request | None = None) -> list[dict]:
        """List every provider with its capabilities, models, default models, whether it offers structured
        output and its availability for you (a credential sent in its header, e.g. x-hf-token, counts)."""
        visitor = ctx.visitor(caller(request, ctx.credentials))
        return [p.describe(visitor) for p in ctx.registry.all()]

    trigger.click(chat, [messages, provider, model, system_prompt, temperature, max_tokens, top_p,
                         structured_output, json_schema], reply,
                  api_name="chat", concurrency_limit=limit, show_progress="hidden")
    trigger.click(vision, [prompt, images, history, provider, model, temperature, max_tokens], reply,
                  api_name="vision", concurrency_limit=limit, show_progress="hidden")
    trigger.click(image, [prompt, provider, model, negative_prompt, width, height, steps, guidance, seed],
                  [image_file, info], api_name="image", concurrency_limit=limit)
    trigger.click(providers, None, listing, api_name="providers", queue=False)


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
        targets = typed_json("targets", TARGETS)
        system_prompt = gr.Textbox(label="system_prompt", value="")
        temperature = gr.Number(label="temperature", value=TEMPERATURE)
        max_tokens = gr.Number(label="max_tokens", value=MAX_TOKENS)
        top_p = gr.Number(label="top_p", value=TOP_P)
        replies = gr.JSON(label="replies")

    async def compare(prompt: str, targets: list | None = None, system_prompt: str = "",
                      temperature: float = TEMPERATURE, max_tokens: int = MAX_TOKENS, top_p: float = TOP_P,
                      request: gr.Request | None = None) -> AsyncIterator[list]:
        """Ask 2 to 4 models the same prompt at once; only `prompt` is required. Streams one entry per target.

        Args:
            prompt: The message every model answers.
            targets: The models, as a list of {"provider", "model"} (a target may carry its own "history"); empty: two models that can answer you.
            system_prompt: Instructions for every model; empty: none.
            temperature: Sampling temperature, 0 to 2.
            max_tokens: Longest answer in tokens.
            top_p: Nucleus sampling, 0.01 to 1.
        Returns:
            A list with one entry per target: {provider, model, answered_by (who answered for Auto, else null), reply (cumulative), error, done, time_to_first_token, seconds, tokens_per_second, tokens_estimated}. The targets run concurrently; one failing target reports its error while the others carry on.
        """
        visitor = ctx.visitor(caller(request, ctx.credentials))
        try:
            sampling_params(temperature, max_tokens, top_p)  # a bad number fails once, not per column
            if targets in (None, "", []):
                targets = default_targets(ctx.registry, visitor)
            jobs = await run_image_work(compare_jobs, ctx, prompt, targets) if names_files(targets) \
                else compare_jobs(ctx, prompt, targets)
        except PlaygroundError as exc:
            raise api_error(exc) from exc
        stream = compare_columns(ctx.playground, jobs, visitor=visitor, scope="api-compare",
                                 system_prompt=system_prompt or "",
                                 temperature=temperature, max_tokens=max_tokens, top_p=top_p)
        async for columns in frames(stream, ctx.pacer):
            yield [c.as_dict() for c in columns]

    trigger.click(compare, [prompt, targets, system_prompt, temperature, max_tokens, top_p], replies,
                  api_name="compare", concurrency_limit=ctx.settings.concurrency_limit, show_progress="hidden")
