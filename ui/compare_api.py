"""The public `/compare` endpoint: one prompt to 2-4 models at once, streamed together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from providers import Message, PlaygroundError
from providers.media import run_image_work
from providers.messages import append_turn, names_files

from .compare import Job, compare, parse_targets
from .context import AppContext, api_error
from .frames import frames
from .service import sampling_params


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
