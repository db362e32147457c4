"""Real Gradio apps standing in for the Spaces the Space adapters call.

- `phi4_space`: the Phi-4 two-step session chat. `/process_message(history, message)`
  keeps the new message and its images in `gr.State`; `/bot_response(history)` streams
  an answer from that state, so both steps must share one Gradio session. The answer
  names the session's turn number, so shared sessions show up in tests.
- `phi4_chat_space`: a single multimodal chat endpoint (`gr.ChatInterface`, `/chat`).
- `changed_space`: endpoints that no longer fit either shape.
- `flux_space(dev=..., concurrency=...)`: `/infer` with `gr.Progress` over its steps, returning
  (image, seed); beyond `concurrency` jobs at once, callers wait in its queue.
- `busy_space`: a FLUX-shaped Space whose queue is always full.
- `hostile_space`: a FLUX-shaped Space whose `/infer` answers with whatever the test
  scripted for the prompt (e.g. a path on the caller's machine), not with an image.

Scripted failures, by message text or prompt: "quota" raises the ZeroGPU quota
`gr.Error`; "late-quota" streams a little first; "hang" never finishes (and notes
its cancellation); "slow" streams slowly, FLUX taking 0.3 s a step (and notes a cancellation);
"wait" holds until the test sets `SpaceLog.release`; "boom" raises a plain exception (no verbose errors).
Every call is recorded in a `SpaceLog` with its session and headers.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field

import gradio as gr
from PIL import Image

QUOTA_MESSAGE = ("You have exceeded your GPU quota (60s requested vs. 11s left). "
                 "Create a free account to get more usage quota. Try again in 0:01:05")


@dataclass
class SpaceLog:
    """What a fake Space saw: one dict per call, plus cancelled jobs."""

    calls: list[dict] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Set by a test to let "wait" jobs finish.
    release: threading.Event = field(default_factory=threading.Event)

    def record(self, endpoint: str, request: gr.Request, **details) -> None:
        headers = request.headers
        with self.lock:
            self.calls.append({"endpoint": endpoint, "session": request.session_hash,
                               "ip_token": headers.get("x-ip-token"),
                               "authorization": headers.get("x-hf-authorization"), **details})

    def of(self, endpoint: str) -> list[dict]:
        with self.lock:
            return [c for c in self.calls if c["endpoint"] == endpoint]

    def clear(self) -> None:
        with self.lock:
            self.calls.clear()
            self.cancelled.clear()
        self.release.clear()


async def _scripted(text: str, log: SpaceLog, where: str) -> None:
    if "hang" in text:
        try:
            while True:
                await asyncio.sleep(0.05)
        finally:
            log.cancelled.append(where)
    if text.strip() == "wait":
        while not log.release.is_set():
            await asyncio.sleep(0.05)
    if "boom" in text:
        raise RuntimeError("scripted crash")
    if text.strip() == "quota":
        raise gr.Error(QUOTA_MESSAGE)


def _sizes(paths: list[str]) -> list[str]:
    sizes = []
    for path in paths:
        with Image.open(path) as image:
            sizes.append(f"{image.width}x{image.height}")
    return sizes


def _history_images(history: list) -> int:
    count = 0
    for message in history or []:
        content = message.get("content") if isinstance(message, dict) else None
        parts = content if isinstance(content, list) else [content]
        count += sum(1 for p in parts if isinstance(p, dict) and (p.get("type") == "file" or "path" in p))
    return count


async def _words(text: str, delay: float = 0.01):
    words = text.split()
    for i in range(len(words)):
        await asyncio.sleep(delay)
        yield " ".join(words[: i + 1])


def phi4_space(log: SpaceLog) -> gr.Blocks:
    """The two-step session chat; history images are counted, new images measured."""

    def process_message(history, message, pending, turns, request: gr.Request):
        log.record("/process_message", request, text=message.get("text", ""))
        files = list(message.get("files") or [])
        history = list(history or [])
        for path in files:
            history.append({"role": "user", "content": {"path": path}})
        history.append({"role": "user", "content": message.get("text", "")})
        pending = {"text": message.get("text", ""), "sizes": _sizes(files)}
        return history, None, pending, (turns or 0) + 1

    async def bot_response(history, pending, turns, request: gr.Request):
        log.record("/bot_response", request)
        if not pending:
            raise gr.Error("No message to answer: call /process_message first in this session.")
        text = pending["text"]
        await _scripted(text, log, "/bot_response")
        sizes = ", ".join(pending["sizes"]) or "none"
        earlier = _history_images(history) - len(pending["sizes"])
        answer = (f"Turn {turns}: you said {text!r}; new images: {sizes}; "
                  f"earlier images: {earlier}; messages: {len(history)}.")
        history = list(history) + [{"role": "assistant", "content": ""}]
        try:
            async for partial in _words(answer, 0.3 if text == "slow" else 0.01):
                if text == "late-quota" and len(partial.split()) > 3:
                    raise gr.Error(QUOTA_MESSAGE)
                history[-1] = {"role": "assistant", "content": partial}
                yield history
        except asyncio.CancelledError:
            log.cancelled.append("/bot_response")
            raise

    with gr.Blocks() as demo:
        chatbot = gr.Chatbot()
        box = gr.MultimodalTextbox(file_types=["image"])
        pending = gr.State()
        turns = gr.State(0)
        box.submit(process_message, [chatbot, box, pending, turns], [chatbot, box, pending, turns],
                   api_name="process_message").then(bot_response, [chatbot, pending, turns], chatbot,
                                                     api_name="bot_response")
    demo.queue(default_concurrency_limit=8)
    return demo


def phi4_chat_space(log: SpaceLog) -> gr.Blocks:
    """One multimodal chat endpoint; the session remembers the conversation."""

    async def chat(message, history, request: gr.Request):
        text = message.get("text", "")
        log.record("/chat", request, text=text)
        await _scripted(text, log, "/chat")
        sizes = ", ".join(_sizes(list(message.get("files") or []))) or "none"
        async for partial in _words(f"Chat: you said {text!r}; images: {sizes}; remembered turns: {len(history)}."):
            yield partial

    demo = gr.ChatInterface(chat, multimodal=True, textbox=gr.MultimodalTextbox(), api_name="chat")
    demo.queue(default_concurrency_limit=8)
    return demo


def changed_space() -> gr.Blocks:
    """Endpoints that fit neither Phi-4 shape nor FLUX."""
    with gr.Blocks() as demo:
        text = gr.Textbox()
        size = gr.Number()
        out = gr.Textbox()
        gr.Button().click(lambda t, s: t, [text, size], out, api_name="process_message")
        gr.Button().click(lambda t: t, text, out, api_name="answer")
    return demo


def _flux_image(width: int, height: int, seed: int) -> Image.Image:
    return Image.new("RGB", (int(width), int(height)), (seed % 256, (seed // 256) % 256, 7))


def flux_space(log: SpaceLog, *, dev: bool, concurrency: int = 8) -> gr.Blocks:
    """FLUX /infer: schnell's or dev's parameters, `gr.Progress` over the steps, (image, seed) back.

    `concurrency` jobs run at once; later ones wait in the Space's queue (and learn their place).
    """

    async def run(prompt, seed, randomize_seed, width, height, steps, guidance, request, progress):
        log.record("/infer", request, prompt=prompt, seed=seed, randomize_seed=randomize_seed, width=width,
                   height=height, steps=steps, guidance=guidance)
        await _scripted(prompt, log, "/infer")
        if randomize_seed:
            seed = 4242
        try:
            for _ in progress.tqdm(range(int(steps)), desc="Denoising", unit="steps"):
                await asyncio.sleep(0.3 if "slow" in prompt else 0.005)
        except asyncio.CancelledError:
            log.cancelled.append("/infer")
            raise
        return _flux_image(width, height, int(seed)), int(seed)

    if dev:
        async def infer(prompt, seed=0, randomize_seed=True, width=1024, height=1024, guidance_scale=3.5,
                        num_inference_steps=28, request: gr.Request = None, progress=gr.Progress()):
            return await run(prompt, seed, randomize_seed, width, height, num_inference_steps, guidance_scale,
                             request, progress)
    else:
        async def infer(prompt, seed=0, randomize_seed=True, width=1024, height=1024, num_inference_steps=4,
                        request: gr.Request = None, progress=gr.Progress()):
            return await run(prompt, seed, randomize_seed, width, height, num_inference_steps, None,
                             request, progress)

    with gr.Blocks() as demo:
        inputs = [gr.Text(label="Prompt"), gr.Slider(0, 2**31 - 1, value=0, step=1, label="Seed"),
                  gr.Checkbox(True, label="Randomize seed"),
                  gr.Slider(256, 2048, value=1024, step=32, label="Width"),
                  gr.Slider(256, 2048, value=1024, step=32, label="Height")]
        if dev:
            inputs.append(gr.Slider(1, 15, value=3.5, step=0.1, label="Guidance Scale"))
        inputs.append(gr.Slider(1, 50, value=28 if dev else 4, step=1, label="Number of inference steps"))
        outputs = [gr.Image(label="Result", format="webp"), gr.Number(label="Seed")]
        gr.Button().click(infer, inputs, outputs, api_name="infer")
    demo.queue(default_concurrency_limit=concurrency)
    return demo


def busy_space(log: SpaceLog) -> gr.Blocks:
    """A FLUX-shaped Space whose queue never has room."""
    demo = flux_space(log, dev=False)
    demo.queue(max_size=0)
    return demo


def hostile_space(log: SpaceLog, answers: dict[str, object]) -> gr.Blocks:
    """FLUX's `/infer` signature, but the "image" is `answers[prompt]`, passed through untouched.

    The output is a `gr.JSON`, which sends a string as a plain string and a dict as that
    dict, so a test can answer with a path on the caller's machine, bare or dressed up as a
    FileData (`{"path": ..., "meta": {"_type": "gradio.FileData"}}`).
    """

    def infer(prompt, seed=0, randomize_seed=True, width=1024, height=1024, num_inference_steps=4,
              request: gr.Request = None):
        log.record("/infer", request, prompt=prompt)
        answer = answers.get(prompt)
        return (json.dumps(answer) if isinstance(answer, str) else answer), int(seed)

    with gr.Blocks() as demo:
        inputs = [gr.Text(label="Prompt"), gr.Slider(0, 2**31 - 1, value=0, step=1, label="Seed"),
                  gr.Checkbox(True, label="Randomize seed"),
                  gr.Slider(256, 2048, value=1024, step=32, label="Width"),
                  gr.Slider(256, 2048, value=1024, step=32, label="Height"),
                  gr.Slider(1, 50, value=4, step=1, label="Number of inference steps")]
        gr.Button().click(infer, inputs, [gr.JSON(label="Result"), gr.Number(label="Seed")], api_name="infer")
    demo.queue(default_concurrency_limit=8)
    return demo
