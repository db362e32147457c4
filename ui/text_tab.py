"""Text chat tab: pick a provider and model, chat with streaming."""

from __future__ import annotations

import gradio as gr

from playground.structured import response_format
from providers import Capability, InputError, Message
from providers.messages import append_turn

from . import layout
from .banner import Banner, banner_for_error
from .chat import build_chat, continue_answer, error_messages, offers_continue, stream_turn, without_failed_prompts
from .code_view import view_code
from .context import AppContext
from .memory import ConversationMemory
from .parameters import sampling_controls
from .pickers import ModelPicker
from .structured_view import StructuredControls, structured_controls, structured_frame


def build_text_tab(ctx: AppContext, banner: Banner | None = None) -> layout.ChatTab:
    """Text chat; a turn that fails for want of a credential shows `banner` (sign in / Open Settings)."""
    with layout.chat_layout() as columns:
        with columns.side, layout.parameters_panel() as parameters:
            controls = sampling_controls()
            system_prompt, temperature, max_tokens, top_p = (controls.system_prompt, controls.temperature,
                                                             controls.max_tokens, controls.top_p)
            web_search = gr.Checkbox(label="Web search (where the provider offers it)", value=False)
            structured = structured_controls()
        with columns.main:
            with layout.picker_bar():
                layout.history_button()
                picker = ModelPicker(ctx.registry, Capability.TEXT)
            _build_chat(ctx, picker, columns.side, system_prompt, temperature, max_tokens, top_p, web_search,
                        notices=banner.outputs if banner else [], structured=structured)
    return layout.ChatTab(picker=picker, parameters=parameters)


def _build_chat(ctx: AppContext, picker: ModelPicker, side: gr.Column, system_prompt: gr.Textbox,
                temperature: gr.Slider, max_tokens: gr.Slider, top_p: gr.Slider, web_search: gr.Checkbox,
                notices: list[gr.components.Component], structured: StructuredControls) -> None:
    """The text chat with Continue, answering with the picker's choice and the side panel's parameters."""
    # Offered only under an answer cut short at the length limit, by a provider that can continue it.
    extend = gr.Button("Continue the last answer", size="sm", variant="secondary", scale=0, min_width=200,
                       visible=False, render=False, elem_id="text-continue")

    async def respond(message: str, history: list, provider_id: str, model: str, system: str,
                      temp: float, max_new: float, nucleus: float, search: bool, mode: str, schema: str,
                      request: gr.Request):
        hidden = gr.update(visible=False)
        unchanged = [gr.update() for _ in notices]
        try:
            messages = await ctx.read_history(without_failed_prompts(history))
        except Exception as exc:  # history is ours; a bad one must not break the chat
            yield error_messages(exc), hidden, *unchanged
            return
        append_turn(messages, Message(role="user", text=message or ""))
        try:
            fmt = response_format(mode, schema)  # a bad schema is refused before anything is sent
        except InputError as exc:
            yield error_messages(exc), hidden, *unchanged
            return
        frame, turn = None, None
        async for frame, turn in stream_turn(
            ctx, messages, provider_id=provider_id, model=model, request=request,
            capability=Capability.TEXT, system_prompt=system, temperature=temp,
            max_tokens=int(max_new), top_p=nucleus, web_search=bool(search), response_format=fmt,
            remember={"structured_output": mode, "json_schema": schema},
        ):
            yield frame, hidden, *unchanged
        if frame is not None:
            frame = structured_frame(frame, turn, fmt)  # the answer as checked, formatted JSON
            failure = banner_for_error(turn.error) if notices and turn is not None else unchanged
            yield frame, gr.update(visible=offers_continue(ctx, turn)), *failure

    chat = build_chat(
        ctx, respond, conversation=Capability.TEXT.value,
        textbox=gr.Textbox(label="Message", placeholder="Ask anything…", lines=1, max_lines=12,
                           submit_btn="Send", stop_btn="Stop"),
        additional_inputs=[picker.provider, picker.model, system_prompt, temperature, max_tokens, top_p,
                           web_search, structured.mode, structured.schema],
        placeholder="Pick a provider and a model above, then type a message.",
        additional_outputs=[extend, *notices],
        remembers=ConversationMemory("text", picker, {
            "system_prompt": system_prompt, "temperature": temperature, "max_tokens": max_tokens,
            "top_p": top_p, "web_search": web_search, "structured_output": structured.mode,
            "json_schema": structured.schema}),
        side=side,
    )
    with side:  # View code: this tab's request as Python, JavaScript or curl
        view_code(ctx, "text", picker,
                  [chat.chatbot, system_prompt, temperature, max_tokens, top_p, structured.mode, structured.schema],
                  ["history", "system_prompt", "temperature", "max_tokens", "top_p", "structured_output",
                   "json_schema"])
    with gr.Row():
        extend.render()

    async def on_continue(history: list, provider_id: str, model: str, system: str, temp: float,
                          max_new: float, nucleus: float, request: gr.Request):
        updated, turn = history, None
        async for updated, turn in continue_answer(ctx, history, request, provider_id=provider_id, model=model,
                                                   system_prompt=system, temperature=temp,
                                                   max_tokens=int(max_new), top_p=nucleus):
            yield updated, updated, gr.update()
        yield updated, updated, gr.update(visible=offers_continue(ctx, turn))

    extend.click(on_continue, [chat.chatbot, picker.provider, picker.model, system_prompt, temperature,
                               max_tokens, top_p], [chat.chatbot, chat.chatbot_state, extend],
                 api_visibility="private", concurrency_limit=ctx.settings.concurrency_limit)
