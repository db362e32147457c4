"""Assembling the app: three tabs, the public API and session clean-up."""

from __future__ import annotations

import gradio as gr

from providers import Registry, build_registry

from .api import build_api
from .config import AppSettings
from .context import AppContext
from .image_tab import build_image_tab
from .text_tab import build_text_tab
from .vision_tab import build_vision_tab

INTRO = (
    "Chat with text models, ask vision models about images and generate images, "
    "switching freely between providers."
)


def build_demo(registry: Registry | None = None, settings: AppSettings | None = None) -> gr.Blocks:
    """Build the playground. No network calls and no heavy work happen here."""
    settings = settings or AppSettings.from_env()
    ctx = AppContext(registry or build_registry(), settings)
    with gr.Blocks(title=settings.title, fill_width=True) as demo:
        gr.Markdown(f"# {settings.title}\n{INTRO}")
        with gr.Tabs():
            with gr.Tab("Text chat", id="text"):
                build_text_tab(ctx)
            with gr.Tab("Vision chat", id="vision"):
                build_vision_tab(ctx)
            with gr.Tab("Text-to-image", id="image"):
                build_image_tab(ctx)
        build_api(ctx)
        demo.unload(ctx.release)
    demo.queue(default_concurrency_limit=settings.concurrency_limit, max_size=settings.max_queue_size)
    demo.playground = ctx  # for tests and extensions
    return demo
