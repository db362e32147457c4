"""Compare's blind arena: two anonymous models answer; a vote reveals them and feeds the leaderboard."""

from __future__ import annotations

from collections.abc import AsyncIterator

import gradio as gr

from playground.arena import (
    LEADERBOARD_HEADERS,
    Arena,
    Battle,
    Contender,
    arena_pool,
    leaderboard_rows,
)
from playground.compare import Column, Job, Target, column_conversations, compare
from playground.service import describe_error
from providers import PlaygroundError, Registry

from .columns import column_messages, conversation_for, idle, mark_stopped, start
from .context import AppContext, gradio_error
from .frames import frames
from .inert import html_text, markdown_code, markdown_text
from .ratings_plot import ratings_svg

VOTES = {"a": "A is better", "b": "B is better", "tie": "Tie", "both_bad": "Both are bad"}


VOTE_BUTTONS = {"a": "👈 A is better", "b": "👉 B is better", "tie": "🤝 Tie", "both_bad": "👎 Both are bad"}

#: The panels' labels while the models are anonymous.
ANONYMOUS = ("Model A", "Model B")
#: Seconds a vote waits for the leaderboard's refit that includes it (the table shows the vote either way).
RATINGS_WAIT = 5.0
#: Longest revealed panel label ("Provider · model").
MAX_LABEL_CHARS = 80


# -- blind arena -------------------------------------------------------------------------------
def build_arena(ctx: AppContext) -> None:
    gr.Markdown("Two anonymous models answer the same prompt. Vote for the better answer, then see who "
                "they were. Follow-ups go to the same pair until you vote; the next prompt starts a new battle.")
    battle = gr.State(None)
    with gr.Row(equal_height=False):
        chat_a, chat_b = (gr.Chatbot(label=label, height=420, buttons=["copy"], layout="bubble",
                                     elem_id=f"arena-{side}") for label, side in zip(ANONYMOUS, "ab"))
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
    table = gr.Dataframe(headers=LEADERBOARD_HEADERS, label="Leaderboard (Bradley–Terry rating with its 95% "
                         "interval, as LMArena ranks models; a tie or “both bad” is a draw)",
                         interactive=False, elem_id="arena-leaderboard")
    plot = gr.HTML(elem_id="arena-ratings-plot")
    refresh = gr.Button("↻ Refresh leaderboard", size="sm", elem_id="arena-refresh")
    pending = gr.State("")
    votes = list(buttons.values())
    arena = Arena.from_env()  # one vote per battle, per-visitor limits, the leaderboard kept in memory

    def standings() -> list:
        """The leaderboard and its plot from the in-memory snapshot (no database access)."""
        current = arena.standings()
        return [leaderboard_rows(current, ctx.registry),
                ratings_svg(current, lambda s: f"{s.contender.model} ({_provider_label(ctx.registry, s.contender)})")]

    async def run(prompt: str, state: dict | None, hist_a: list, hist_b: list,
                  request: gr.Request) -> AsyncIterator[list]:
        visitor = ctx.visitor(request)
        if state is None or state.get("voted"):
            try:
                started = arena.start_battle(arena_pool(ctx.registry, visitor), visitor)  # or over the limit
            except PlaygroundError as exc:
                # A toast, and the panels left as they were: raising would mark both chat panels as failed.
                gr.Warning(html_text(describe_error(exc)))
                yield [gr.update()] * (4 + len(votes))
                return
            state = {**started.as_dict(), "voted": False, "errors": {}}
            hist_a, hist_b = [], []
            for conversation in column_conversations("arena", 2):  # the last battle's are over
                visitor.release_conversation(conversation)
        contenders = [Contender(**state["a"]), Contender(**state["b"])]
        histories = [hist_a or [], hist_b or []]
        try:
            jobs = [Job(Target(c.provider, c.model), await conversation_for(ctx, h, prompt))
                    for c, h in zip(contenders, histories)]
        except PlaygroundError as exc:
            raise gradio_error(exc) from exc
        shown = [list(h) + [{"role": "user", "content": prompt}] for h in histories]
        no_votes = [gr.update(interactive=False)] * len(votes)
        yield [gr.update(value=h, label=label) for h, label in zip(shown, ANONYMOUS)] + [state, ""] + no_votes
        columns: list[Column] = []
        async for columns in frames(compare(ctx.playground, jobs, visitor=visitor, scope="arena"), ctx.pacer):
            yield [shown[i] + column_messages(c, anonymous=True) for i, c in enumerate(columns)] + [
                gr.update(), gr.update()] + no_votes
        state = {**state, "errors": {side: c.error for side, c in zip("ab", columns) if c.error}}
        yield [gr.update(), gr.update(), state, gr.update()] + [gr.update(interactive=True)] * len(votes)

    def vote(outcome: str, state: dict | None, request: gr.Request) -> list:
        if not state or state.get("voted"):
            gr.Warning("Send a prompt to start a battle first.")
            return [gr.update()] * (6 + len(votes))
        current = Battle.from_dict(state)
        try:
            arena.vote(current, outcome, ctx.visitor(request))  # a short database write, in Gradio's worker thread
        except PlaygroundError as exc:  # already voted (say, a second click), over the limit, too old
            raise gradio_error(exc) from exc
        arena.ledger.wait_for_ratings(RATINGS_WAIT)  # the background refit with this vote (usually milliseconds)
        return [{**state, "voted": True},
                _reveal(ctx.registry, current.a, current.b, outcome, state.get("errors") or {}),
                *standings()] + [gr.update(interactive=False)] * len(votes) + [
                gr.update(label=_panel_label(ctx.registry, c)) for c in (current.a, current.b)]

    def voter(outcome: str):
        def cast(state: dict | None, request: gr.Request) -> list:
            return vote(outcome, state, request)
        return cast

    def stopped(state: dict | None, history_a: list, history_b: list) -> list:
        can_vote = bool(state) and not state.get("voted")
        return [*idle(), *[gr.update(interactive=can_vote)] * len(votes), mark_stopped(history_a),
                mark_stopped(history_b)]

    gr.on([refresh.click], standings, None, [table, plot], api_visibility="private", queue=False,
          show_progress="hidden")
    gr.on(None, standings, None, [table, plot], api_visibility="private", queue=False, show_progress="hidden")  # load
    started = gr.on([send.click, prompt.submit], lambda p: start(ctx, p), prompt, [prompt, pending, send, stop],
                    api_visibility="private", queue=False, show_progress="hidden")
    running = started.success(run, [pending, battle, chat_a, chat_b], [chat_a, chat_b, battle, reveal] + votes,
                              api_visibility="private", concurrency_limit=ctx.settings.concurrency_limit,
                              show_progress="hidden")
    running.then(idle, None, [send, stop], api_visibility="private", queue=False, show_progress="hidden")
    # Gradio's page runs `then` only after success: a refused battle (over the limit) must bring Send back too.
    running.failure(idle, None, [send, stop], api_visibility="private", queue=False, show_progress="hidden")
    stop.click(stopped, [battle, chat_a, chat_b], [send, stop, *votes, chat_a, chat_b], cancels=[running],
               api_visibility="private", queue=False, show_progress="hidden")
    for key, button in buttons.items():
        button.click(voter(key), battle, [battle, reveal, table, plot] + votes + [chat_a, chat_b],
                     api_visibility="private", show_progress="hidden")
    new.click(lambda: [gr.update(value=[], label=label) for label in ANONYMOUS] + [None, ""]
              + [gr.update(interactive=False)] * len(votes), None,
              [chat_a, chat_b, battle, reveal] + votes, api_visibility="private", queue=False,
              show_progress="hidden")


def _reveal(registry: Registry, a: Contender, b: Contender, outcome: str, errors: dict[str, str]) -> str:
    lines = [f"**Model A** was {_name(registry, a)}; **Model B** was {_name(registry, b)}. "
             f"Your vote: **{VOTES[outcome]}**. Send a new prompt to start the next battle."]
    lines += [f"⚠️ Model {side.upper()}: {markdown_text(message)}"
              for side, message in sorted(errors.items())]
    return "\n\n".join(lines)


def _name(registry: Registry, contender: Contender) -> str:
    return f"{_provider_label(registry, contender)} · {markdown_code(contender.model)}"


def _panel_label(registry: Registry, contender: Contender) -> str:
    """"Provider · model" as a panel label after the vote: plain text (Gradio shows labels as text), one line,
    bounded."""
    label = " ".join(f"{_provider_label(registry, contender)} · {contender.model}".split())
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def _provider_label(registry: Registry, contender: Contender) -> str:
    try:
        return registry.get(contender.provider).label
    except PlaygroundError:
        return contender.provider
