"""Vision chat tab: ask vision models about images; images stay in the history and are re-sent."""

from __future__ import annotations

import gradio as gr

from providers import Capability, InputError, Message
from providers.media import prepare_images, run_image_work
from providers.messages import append_turn

from . import layout
from .banner import Banner, banner_for_error
from .chat import build_chat, error_messages, stream_turn, without_failed_prompts
from .code_view import view_code
from .context import AppContext
from .memory import ConversationMemory
from .parameters import sampling_controls
from .pickers import ModelPicker


def build_vision_tab(ctx: AppContext, banner: Banner | None = None) -> layout.ChatTab:
    """Vision chat; a turn that fails for want of a credential shows `banner` (sign in / Open Settings)."""
    with layout.chat_layout() as columns:
        with columns.side:
            with layout.parameters_panel() as parameters:
                controls = sampling_controls(system_prompt=False, top_p=False)
            with gr.Accordion("Take a photo with the webcam", open=False):
                webcam = gr.Image(label="Webcam photo (added to your next message)", sources=["webcam"],
                                  type="filepath", height=240)
        with columns.main:
            with layout.picker_bar():
                layout.history_button()
                picker = ModelPicker(ctx.registry, Capability.VISION)
            _build_chat(ctx, picker, columns.side, controls.temperature, controls.max_tokens, webcam,
                        notices=banner.outputs if banner else [])
    return layout.ChatTab(picker=picker, parameters=parameters)


def _build_chat(ctx: AppContext, picker: ModelPicker, side: gr.Column, temperature: gr.Slider,
                max_tokens: gr.Slider, webcam: gr.Image, notices: list[gr.components.Component]) -> None:
    """The vision chat, answering with the picker's choice and the side panel's parameters."""
    unchanged = [gr.update() for _ in notices]

    def with_notices(frame: list, updates: list) -> list | tuple:
        return (frame, *updates) if notices else frame

    async def respond(message: dict, history: list, provider_id: str, model: str,
                      temp: float, max_new: float, request: gr.Request):
        text = (message or {}).get("text") or ""
        files = (message or {}).get("files") or []

        def read_messages() -> list[Message]:  # decodes and re-encodes images: in the image pool
            messages = ctx.history_reader().read(without_failed_prompts(history))
            images = prepare_images([f if isinstance(f, str) else f.get("path") for f in files])
            return append_turn(messages, Message(role="user", text=text, images=images))

        try:
            messages = await run_image_work(read_messages)
        except InputError as exc:
            yield with_notices(error_messages(exc), unchanged)
            return
        frame, turn = None, None
        async for frame, turn in stream_turn(
            ctx, messages, provider_id=provider_id, model=model, request=request,
            capability=Capability.VISION, temperature=temp, max_tokens=int(max_new),
        ):
            yield with_notices(frame, unchanged)
        if frame is not None and notices and turn is not None and turn.error is not None:
            yield with_notices(frame, banner_for_error(turn.error))

    textbox = gr.MultimodalTextbox(
        label="Message and images", file_types=["image"], file_count="multiple", sources=["upload"],
        placeholder="Add, drop or paste an image and ask about it…", submit_btn="Send", stop_btn="Stop",
    )
    chat = build_chat(
        ctx, respond, conversation=Capability.VISION.value, textbox=textbox, multimodal=True,
        additional_inputs=[picker.provider, picker.model, temperature, max_tokens],
        placeholder="Upload, paste or photograph an image, then ask about it.",
        remembers=ConversationMemory("vision", picker, {"temperature": temperature, "max_tokens": max_tokens}),
        side=side,
        additional_outputs=notices,
    )
    with side:  # View code: this tab's request as Python, JavaScript or curl
        view_code(ctx, "vision", picker, [chat.chatbot, temperature, max_tokens],
                  ["history", "temperature", "max_tokens"])
    webcam.input(_attach_photo, [webcam, textbox], [textbox, webcam], api_visibility="private", queue=False)


def _attach_photo(photo: str | None, message: dict | None) -> tuple[dict, None]:
    """Move a webcam photo into the message box, so it is sent (and kept) like an upload."""
    message = dict(message or {})
    files = list(message.get("files") or [])
    if photo:
        files.append(photo)
    return {"text": message.get("text") or "", "files": files}, None
