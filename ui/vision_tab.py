"""Vision chat tab: ask vision models about images; images stay in the history."""

from __future__ import annotations

import gradio as gr

from providers import Capability, InputError, Message
from providers.media import prepare_images
from providers.messages import append_turn

from .chat_flow import stream_turn_messages
from .context import AppContext
from .pickers import ModelPicker


def build_vision_tab(ctx: AppContext) -> ModelPicker:
    with gr.Row(equal_height=True):
        picker = ModelPicker(ctx.registry, Capability.VISION)
    with gr.Accordion("Parameters", open=False):
        with gr.Row():
            temperature = gr.Slider(0.0, 2.0, value=0.7, step=0.05, label="Temperature")
            max_tokens = gr.Slider(16, 8192, value=1024, step=16, label="Max tokens")

    async def respond(message: dict, history: list, provider_id: str, model: str,
                      temp: float, max_new: float, request: gr.Request):
        text = (message or {}).get("text") or ""
        files = (message or {}).get("files") or []
        try:
            messages = ctx.history_reader().read(history)
            images = prepare_images([f if isinstance(f, str) else f.get("path") for f in files])
        except InputError as exc:
            gr.Warning(str(exc))
            yield gr.ChatMessage(role="assistant", content=str(exc), metadata={"title": "⚠️ Error"})
            return
        append_turn(messages, Message(role="user", text=text, images=images))
        async for frame in stream_turn_messages(
            ctx, messages, provider_id=provider_id, model=model, request=request,
            capability=Capability.VISION, temperature=temp, max_tokens=int(max_new),
        ):
            yield frame

    gr.ChatInterface(
        respond,
        multimodal=True,
        chatbot=gr.Chatbot(label="Conversation", height=520, buttons=["copy"]),
        textbox=gr.MultimodalTextbox(
            label="Message and images", file_types=["image"], file_count="multiple",
            placeholder="Add an image and ask about it…", sources=["upload"],
        ),
        additional_inputs=[picker.provider, picker.model, temperature, max_tokens],
        editable=True,
        api_visibility="private",
        concurrency_limit=ctx.settings.concurrency_limit,
        fill_height=False,
    )
    return picker
