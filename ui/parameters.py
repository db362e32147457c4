"""The sampling controls shared by the chat tabs and Compare (one definition of ranges and defaults)."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr


@dataclass
class SamplingControls:
    system_prompt: gr.Textbox | None
    temperature: gr.Slider
    max_tokens: gr.Slider
    top_p: gr.Slider | None


def sampling_controls(*, system_prompt: bool = True, top_p: bool = True) -> SamplingControls:
    """Render the system prompt (optional) and the temperature / max tokens / top-p sliders."""
    system = (gr.Textbox(label="System prompt", lines=2, placeholder="You are a helpful assistant.")
              if system_prompt else None)
    with gr.Row():
        temperature = gr.Slider(0.0, 2.0, value=0.7, step=0.05, label="Temperature", min_width=160)
        max_tokens = gr.Slider(16, 8192, value=1024, step=16, label="Max tokens", min_width=160)
        nucleus = gr.Slider(0.05, 1.0, value=0.95, step=0.05, label="Top-p", min_width=160) if top_p else None
    return SamplingControls(system, temperature, max_tokens, nucleus)
