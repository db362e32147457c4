"""The start-up reference: a bare Gradio app (one textbox, one event). Run: `python benchmarks/bare_app.py`."""

from __future__ import annotations

import os

import gradio as gr

with gr.Blocks() as demo:
    box = gr.Textbox()
    out = gr.Textbox()
    gr.Button().click(lambda text: text, box, out, api_name="echo")

if __name__ == "__main__":
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
