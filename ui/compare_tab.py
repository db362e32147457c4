"""Compare tab: one prompt to 2-4 models side by side, and a blind arena with a leaderboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import gradio as gr

from providers import Capability, Message, PlaygroundError, Registry
from providers.messages import append_turn

from .arena import (
    LEADERBOARD_HEADERS,
    Arena,
    Battle,
    Contender,
    arena_pool,
    leaderboard_rows,
)
from .compare import MAX_TARGETS, MIN_TARGETS, Column, Job, Target, column_conversations, compare
from .context import AppContext, gradio_error
from .frames import frames
from .inert import markdown_code, markdown_text
from .parameters import sampling_controls
from .pickers import ModelPicker
from .render import error_block, turn_messages

WAITING = gr.ChatMessage(role="assistant", content="",
                         metadata={"title": "Waiting for the first token…", "status": "pending"})
VOTES = {"a": "A is better", "b": "B is better", "tie": "Tie", "both_bad": "Both are bad"}
VOTE_BUTTONS = {"a": "👈 A is better", "b": "👉 B is better", "tie": "🤝 Tie", "both_bad": "👎 Both are bad"}


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
            _build_arena(ctx)


# -- rendering ------------------------------------------------------------------------------
def column_messages(column: Column, *, anonymous: bool = False) -> list[gr.ChatMessage]:
    """A column's assistant messages; `anonymous` leaves out the caption and the provider's name."""
    error = column.error
    if error and anonymous:
        error = "This model could not answer; who it was and why is shown after your vote."
    if column.turn is None:
        if error:
            return [error_block(error)]
        return [WAITING]
    return turn_messages(column.turn, done=column.done and not anonymous, error=error)


def column_stats(column: Column) -> str:
    """"0.21 s to first token · 1.4 s total · 35 tok/s", or the column's error."""
    if column.error and not (column.turn and column.turn.reply.text):
        return f"⚠️ {markdown_text(column.error)}"
    stats = column.as_dict()
    parts = []
    if stats["time_to_first_token"] is not None:
        parts.append(f"{stats['time_to_first_token']:.2f} s to first token")
    if stats["seconds"] is not None:
        parts.append(f"{stats['seconds']:.1f} s total" if column.done else f"{stats['seconds']:.1f} s so far")
    if stats["tokens_per_second"] is not None:
        parts.append(f"{'~' if stats['tokens_estimated'] else ''}{stats['tokens_per_second']:.0f} tok/s")
    text = " · ".join(parts) or "Waiting for the first token…"
    return f"{text} · ⚠️ {markdown_text(column.error)}" if column.error else text


async def _conversation(ctx: AppContext, history: list | None, prompt: str) -> list[Message]:
    messages = await ctx.read_history(history or [])
    return append_turn(messages, Message(role="user", text=prompt))


def _params(system: str, temperature: float, max_tokens: float, top_p: float) -> dict[str, Any]:
    return {"system_prompt": system or "", "temperature": temperature, "max_tokens": int(max_tokens),
            "top_p": top_p}


def _start(ctx: AppContext, prompt: str) -> tuple[dict, str, dict, dict]:
    """Take the prompt out of the box and show Stop; a bad prompt stops the chain with a toast."""
    try:
        ctx.playground.check_prompt(prompt)
    except PlaygroundError as exc:
        raise gradio_error(exc) from exc
    return gr.update(value=""), prompt, gr.update(visible=False), gr.update(visible=True)


def _idle() -> tuple[dict, dict]:
    return gr.update(visible=True), gr.update(visible=False)


# -- side by side -----------------------------------------------------------------------------
def _build_side_by_side(ctx: AppContext) -> None:
    gr.Markdown("Send one prompt to several models at once. Each column keeps its own conversation, "
                "so follow-ups go to every model with its own earlier answers.")
    count = gr.Radio([str(n) for n in range(MIN_TARGETS, MAX_TARGETS + 1)], value=str(MIN_TARGETS),
                     label="Models to compare", elem_id="compare-count")
    pool = arena_pool(ctx.registry)
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
        params = _params(values[system], values[temperature], values[max_tokens], values[top_p])
        histories = [values[s.chatbot] or [] for s in active]
        shown = [list(h) + [{"role": "user", "content": prompt}] for h in histories]
        try:
            jobs = [Job(Target(values[s.picker.provider] or "", values[s.picker.model] or ""),
                        await _conversation(ctx, h, prompt)) for s, h in zip(active, histories)]
        except PlaygroundError as exc:
            raise gradio_error(exc) from exc
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
    started = gr.on([send.click, prompt.submit], lambda p: _start(ctx, p), prompt, [prompt, pending, send, stop],
                    api_visibility="private", queue=False, show_progress="hidden")
    inputs = ({pending, count, system, temperature, max_tokens, top_p} | set(chatbots)
              | {s.picker.provider for s in slots} | {s.picker.model for s in slots})
    running = started.success(run, inputs, chatbots + stats, api_visibility="private",
                              concurrency_limit=ctx.settings.concurrency_limit, show_progress="hidden")
    running.then(_idle, None, [send, stop], api_visibility="private", queue=False, show_progress="hidden")
    stop.click(_idle, None, [send, stop], cancels=[running], api_visibility="private", queue=False,
               show_progress="hidden")
    def clear_all(request: gr.Request) -> list:
        ctx.forget_conversations(request, column_conversations("compare"))
        return [[]] * MAX_TARGETS + [""] * MAX_TARGETS

    clear.click(clear_all, None, chatbots + stats, api_visibility="private", queue=False, show_progress="hidden")


def _preselect(picker: ModelPicker, registry: Registry, contender: Contender) -> None:
    """Start a column on a given model, so the columns differ before anyone picks."""
    provider = registry.get(contender.provider)
    models = provider.model_list(Capability.TEXT)
    picker.provider.value = provider.id
    picker.model.choices = [(m, m) for m in models]
    picker.model.value = contender.model
    picker.model.allow_custom_value = provider.accepts_any_model


# -- blind arena -------------------------------------------------------------------------------
def _build_arena(ctx: AppContext) -> None:
    gr.Markdown("Two anonymous models answer the same prompt. Vote for the better answer, then see who "
                "they were. Follow-ups go to the same pair until you vote; the next prompt starts a new battle.")
    battle = gr.State(None)
    with gr.Row(equal_height=False):
        chat_a = gr.Chatbot(label="Model A", height=420, buttons=["copy"], layout="bubble", elem_id="arena-a")
        chat_b = gr.Chatbot(label="Model B", height=420, buttons=["copy"], layout="bubble", elem_id="arena-b")
    prompt = gr.Textbox(label="Prompt", placeholder="Ask both models…", lines=1, max_lines=12,
                        elem_id="arena-prompt")
    with gr.Row():
        send = gr.Button("Send to both", variant="primary", elem_id="arena-send")
        stop = gr.Button("Stop", variant="stop", visible=False, elem_id="arena-stop")
        new = gr.Button("New battle", elem_id="arena-new")
    with gr.Row():
        buttons = {key: gr.Button(label, interactive=False, elem_id=f"arena-vote-{key}")
                   for key, label in VOTE_BUTTONS.items()}
    reveal = gr.Markdown(elem_id="arena-reveal")
    table = gr.Dataframe(headers=LEADERBOARD_HEADERS, label="Leaderboard (Elo; a tie or “both bad” is a draw)",
                         interactive=False, elem_id="arena-leaderboard")
    pending = gr.State("")
    votes = list(buttons.values())
    arena = Arena.from_env()  # one vote per battle, per-visitor limits, the leaderboard kept in memory

    def standings() -> list[list]:
        return leaderboard_rows(arena.standings(), ctx.registry)

    async def run(prompt: str, state: dict | None, hist_a: list, hist_b: list,
                  request: gr.Request) -> AsyncIterator[list]:
        visitor = ctx.visitor(request)
        if state is None or state.get("voted"):
            try:
                started = arena.start_battle(arena_pool(ctx.registry, visitor), visitor)  # or over the limit
            except PlaygroundError as exc:
                raise gradio_error(exc) from exc
            state = {**started.as_dict(), "voted": False, "errors": {}}
            hist_a, hist_b = [], []
            for conversation in column_conversations("arena", 2):  # the last battle's are over
                visitor.release_conversation(conversation)
        contenders = [Contender(**state["a"]), Contender(**state["b"])]
        histories = [hist_a or [], hist_b or []]
        try:
            jobs = [Job(Target(c.provider, c.model), await _conversation(ctx, h, prompt))
                    for c, h in zip(contenders, histories)]
        except PlaygroundError as exc:
            raise gradio_error(exc) from exc
        shown = [list(h) + [{"role": "user", "content": prompt}] for h in histories]
        no_votes = [gr.update(interactive=False)] * len(votes)
        yield shown + [state, ""] + no_votes
        columns: list[Column] = []
        async for columns in frames(compare(ctx.playground, jobs, visitor=visitor, scope="arena"), ctx.pacer):
            yield [shown[i] + column_messages(c, anonymous=True) for i, c in enumerate(columns)] + [
                gr.update(), gr.update()] + no_votes
        state = {**state, "errors": {side: c.error for side, c in zip("ab", columns) if c.error}}
        yield [gr.update(), gr.update(), state, gr.update()] + [gr.update(interactive=True)] * len(votes)

    def vote(outcome: str, state: dict | None, request: gr.Request) -> list:
        if not state or state.get("voted"):
            gr.Warning("Send a prompt to start a battle first.")
            return [gr.update()] * (3 + len(votes))
        current = Battle.from_dict(state)
        try:
            arena.vote(current, outcome, ctx.visitor(request))
        except PlaygroundError as exc:  # already voted (say, a second click), over the limit, too old
            raise gradio_error(exc) from exc
        return [{**state, "voted": True},
                _reveal(ctx.registry, current.a, current.b, outcome, state.get("errors") or {}),
                standings()] + [gr.update(interactive=False)] * len(votes)

    def voter(outcome: str):
        def cast(state: dict | None, request: gr.Request) -> list:
            return vote(outcome, state, request)
        return cast

    def stopped(state: dict | None) -> list:
        can_vote = bool(state) and not state.get("voted")
        return list(_idle()) + [gr.update(interactive=can_vote)] * len(votes)

    gr.on(None, standings, None, table, api_visibility="private", queue=False, show_progress="hidden")  # on load
    started = gr.on([send.click, prompt.submit], lambda p: _start(ctx, p), prompt, [prompt, pending, send, stop],
                    api_visibility="private", queue=False, show_progress="hidden")
    running = started.success(run, [pending, battle, chat_a, chat_b], [chat_a, chat_b, battle, reveal] + votes,
                              api_visibility="private", concurrency_limit=ctx.settings.concurrency_limit,
                              show_progress="hidden")
    running.then(_idle, None, [send, stop], api_visibility="private", queue=False, show_progress="hidden")
    # Gradio's page runs `then` only after success: a refused battle (over the limit) must bring Send back too.
    running.failure(_idle, None, [send, stop], api_visibility="private", queue=False, show_progress="hidden")
    stop.click(stopped, battle, [send, stop] + votes, cancels=[running], api_visibility="private", queue=False,
               show_progress="hidden")
    for key, button in buttons.items():
        button.click(voter(key), battle, [battle, reveal, table] + votes,
                     api_visibility="private", show_progress="hidden")
    new.click(lambda: [[], [], None, ""] + [gr.update(interactive=False)] * len(votes), None,
              [chat_a, chat_b, battle, reveal] + votes, api_visibility="private", queue=False,
              show_progress="hidden")


def _reveal(registry: Registry, a: Contender, b: Contender, outcome: str, errors: dict[str, str]) -> str:
    lines = [f"**Model A** was {_name(registry, a)}; **Model B** was {_name(registry, b)}. "
             f"Your vote: **{VOTES[outcome]}**. Send a new prompt to start the next battle."]
    lines += [f"⚠️ Model {side.upper()}: {markdown_text(message)}"
              for side, message in sorted(errors.items())]
    return "\n\n".join(lines)


def _name(registry: Registry, contender: Contender) -> str:
    try:
        label = registry.get(contender.provider).label
    except PlaygroundError:
        label = contender.provider
    return f"{label} · {markdown_code(contender.model)}"
