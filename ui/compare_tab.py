"""Compare: side by side (one prompt to 2-4 models at once, each column its own conversation) and the blind arena."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import gradio as gr

from playground.arena import Contender, arena_pool
from playground.compare import MAX_TARGETS, MIN_TARGETS, Job, Target, column_conversations, compare
from providers import Capability, PlaygroundError, Registry

from .arena_tab import build_arena
from .columns import WAITING, column_messages, column_stats, conversation_for, idle, mark_stopped, sampling, start
from .context import AppContext, gradio_error
from .frames import frames
from .parameters import sampling_controls
from .pickers import ModelPicker, model_dropdown_update


@dataclass
class Slot:
    """One side-by-side column: its picker, its own conversation and its timings."""

    box: gr.Column
    picker: ModelPicker
    chatbot: gr.Chatbot
    stats: gr.Markdown


def build_compare_tab(ctx: AppContext) -> None:
    with gr.Tabs():
        with gr.Tab("Side by side", id="compare-side", elem_id="compare-side"):
            _build_side_by_side(ctx)
        with gr.Tab("Blind arena", id="compare-arena", elem_id="compare-arena"):
            build_arena(ctx)


# -- side by side -----------------------------------------------------------------------------
def _build_side_by_side(ctx: AppContext) -> None:
    gr.Markdown("Send one prompt to several models at once. Each column keeps its own conversation, "
                "so follow-ups go to every model with its own earlier answers.")
    count = gr.Radio([str(n) for n in range(MIN_TARGETS, MAX_TARGETS + 1)], value=str(MIN_TARGETS),
                     label="Models to compare", elem_id="compare-count")
    pool = spread_over_providers(arena_pool(ctx.registry))
    slots: list[Slot] = []
    with gr.Row(equal_height=False):
        for i in range(MAX_TARGETS):
            with gr.Column(visible=i < MIN_TARGETS, min_width=280, elem_id=f"compare-col-{i + 1}") as box:
                picker = ModelPicker(ctx.registry, Capability.TEXT)
                if pool:
                    _preselect(picker, ctx.registry, pool[i % len(pool)])
                chatbot = gr.Chatbot(label=f"Model {i + 1}", height=420, buttons=["copy"], layout="bubble",
                                     elem_id=f"compare-chat-{i + 1}")
                stats = gr.Markdown(elem_id=f"compare-stats-{i + 1}", elem_classes="compare-stats")
            slots.append(Slot(box, picker, chatbot, stats))
    prompt = gr.Textbox(label="Prompt", placeholder="Ask every model the same thing…", lines=1, max_lines=12,
                        elem_id="compare-prompt")
    with gr.Row():
        send = gr.Button("Send to all", variant="primary", elem_id="compare-send")
        stop = gr.Button("Stop", variant="stop", visible=False, elem_id="compare-stop")
        clear = gr.Button("Clear", elem_id="compare-clear")
    with gr.Accordion("Parameters (all models)", open=False):
        controls = sampling_controls()
        system, temperature, max_tokens, top_p = (controls.system_prompt, controls.temperature,
                                                  controls.max_tokens, controls.top_p)
    pending = gr.State("")
    chatbots = [s.chatbot for s in slots]
    stats = [s.stats for s in slots]

    async def run(values: dict, request: gr.Request) -> AsyncIterator[dict]:
        prompt, n = values[pending], int(values[count])
        active = slots[:n]
        params = sampling(values[system], values[temperature], values[max_tokens], values[top_p])
        histories = [values[s.chatbot] or [] for s in active]
        shown = [list(h) + [{"role": "user", "content": prompt}] for h in histories]
        try:
            jobs = [Job(Target(values[s.picker.provider] or "", values[s.picker.model] or ""),
                        await conversation_for(ctx, h, prompt)) for s, h in zip(active, histories)]
        except PlaygroundError as exc:
            raise gradio_error(exc) from exc
        # The prompt shows at once, every column waiting, before any provider has said a word.
        yield {**{s.chatbot: past + [WAITING] for s, past in zip(active, shown)},
               **{s.stats: "" for s in active}}
        stream = compare(ctx.playground, jobs, visitor=ctx.visitor(request), **params)
        async for columns in frames(stream, ctx.pacer):
            update: dict = {}
            for slot, past, column in zip(active, shown, columns):
                update[slot.chatbot] = past + column_messages(column)
                update[slot.stats] = column_stats(column)
            yield update

    def show_columns(count: str) -> list[dict]:
        return [gr.update(visible=i < int(count)) for i in range(MAX_TARGETS)]

    count.change(show_columns, count, [s.box for s in slots], api_visibility="private", queue=False,
                 show_progress="hidden")
    started = gr.on([send.click, prompt.submit], lambda p: start(ctx, p), prompt, [prompt, pending, send, stop],
                    api_visibility="private", queue=False, show_progress="hidden")
    inputs = ({pending, count, system, temperature, max_tokens, top_p} | set(chatbots)
              | {s.picker.provider for s in slots} | {s.picker.model for s in slots})
    running = started.success(run, inputs, chatbots + stats, api_visibility="private",
                              concurrency_limit=ctx.settings.concurrency_limit, show_progress="hidden")
    running.then(idle, None, [send, stop], api_visibility="private", queue=False, show_progress="hidden")
    def stop_all(*histories: list) -> list:
        return [*idle(), *[mark_stopped(h) for h in histories]]

    stop.click(stop_all, chatbots, [send, stop, *chatbots], cancels=[running], api_visibility="private",
               queue=False, show_progress="hidden")
    def clear_all(request: gr.Request) -> list:
        ctx.forget_conversations(request, column_conversations("compare"))
        return [[]] * MAX_TARGETS + [""] * MAX_TARGETS

    clear.click(clear_all, None, chatbots + stats, api_visibility="private", queue=False, show_progress="hidden")


def spread_over_providers(pool: list[Contender]) -> list[Contender]:
    """The pool reordered so consecutive columns start on different providers where there are several:
    each provider's models in turn (first models first), keeping each provider's own order."""
    by_provider: dict[str, list[Contender]] = {}
    for contender in pool:
        by_provider.setdefault(contender.provider, []).append(contender)
    queues = list(by_provider.values())
    spread: list[Contender] = []
    for rank in range(max((len(q) for q in queues), default=0)):
        spread.extend(q[rank] for q in queues if rank < len(q))
    return spread


def _preselect(picker: ModelPicker, registry: Registry, contender: Contender) -> None:
    """Start a column on a given model, so the columns differ before anyone picks; the model picker
    (choices, free typing, the hint under it) is the one that provider's picker would show."""
    provider = registry.get(contender.provider)
    shown = model_dropdown_update(provider, Capability.TEXT, provider.model_list(Capability.TEXT), contender.model)
    picker.provider.value = provider.id
    picker.model.choices = [(m, m) for m in shown["choices"]]
    picker.model.value = shown["value"]
    picker.model.allow_custom_value = shown["allow_custom_value"]
    picker.model.info = shown["info"]
