"""The reference for the benchmarks: a bare Gradio relay.

One streaming event (`/chat`, same inputs as the playground's) forwards the request to the
OpenAI-compatible server at OPENAI_COMPAT_BASE_URL with one shared httpx client and yields
the cumulative text after every token. Run: `python benchmarks/bare_relay.py` (port from GRADIO_SERVER_PORT).
"""

from __future__ import annotations

import json
import os

import gradio as gr
import httpx

BASE = os.environ["OPENAI_COMPAT_BASE_URL"].rstrip("/")
client: httpx.AsyncClient | None = None


async def chat(messages, provider, model, system_prompt, temperature, max_tokens, top_p):
    global client
    if client is None:
        client = httpx.AsyncClient(timeout=60, trust_env=False,
                                   limits=httpx.Limits(max_connections=200, max_keepalive_connections=50))
    body = {"model": model, "messages": messages, "stream": True, "max_tokens": int(max_tokens),
            "temperature": temperature, "top_p": top_p}
    text = ""
    async with client.stream("POST", f"{BASE}/chat/completions", json=body) as response:
        async for line in response.aiter_lines():
            if not line.startswith("data:") or line.strip() == "data: [DONE]":
                continue
            delta = json.loads(line[5:])["choices"][0]["delta"].get("content") or ""
            if delta:
                text += delta
                yield text


with gr.Blocks() as demo:
    inputs = [gr.JSON(), gr.Textbox(), gr.Textbox(), gr.Textbox(), gr.Number(), gr.Number(), gr.Number()]
    out = gr.Textbox()
    gr.Button().click(chat, inputs, out, api_name="chat", concurrency_limit=64, show_progress="hidden")
demo.queue(default_concurrency_limit=64, max_size=256)

if __name__ == "__main__":
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
