"""Text-to-image tab: prompt and parameters in, image and what was used out."""

from __future__ import annotations

import gradio as gr

from providers import Capability, PlaygroundError

from .context import AppContext, gradio_error
from .pickers import ModelPicker
from .render import save_image_bytes


async def generate(ctx: AppContext, request: gr.Request | None, prompt: str, provider_id: str | None,
                   model: str | None, negative_prompt: str, width: float, height: float,
                   steps: float | None, guidance: float | None, seed: float | None) -> tuple[str, dict]:
    """Run one generation; returns the image path and `{provider, model, seed, width, height, seconds}`."""
    visitor = ctx.visitor(request)
    try:
        result, seconds = await ctx.playground.image(
            prompt, provider_id=provider_id, model=model, visitor=visitor,
            negative_prompt=negative_prompt, width=_int(width), height=_int(height),
            steps=_int(steps), guidance=None if guidance is None else float(guidance),
            seed=_int(seed) if seed is not None else -1,
        )
    except PlaygroundError as exc:
        raise gradio_error(exc) from exc
    provider = ctx.registry.get(provider_id) if provider_id else None
    info = {
        "provider": provider.id if provider else "",
        "model": result.model,
        "seed": result.seed,
        "width": result.width,
        "height": result.height,
        "seconds": round(seconds, 3),
    }
    return save_image_bytes(result.data, result.mime), info


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def build_image_tab(ctx: AppContext) -> ModelPicker:
    with gr.Row(equal_height=True):
        picker = ModelPicker(ctx.registry, Capability.IMAGE)
    with gr.Row():
        with gr.Column(scale=2):
            prompt = gr.Textbox(label="Prompt", lines=3, placeholder="A lighthouse on a cliff at dawn, oil painting")
            negative = gr.Textbox(label="Negative prompt", lines=1, placeholder="blurry, low quality")
            with gr.Row():
                width = gr.Slider(256, 2048, value=1024, step=32, label="Width")
                height = gr.Slider(256, 2048, value=1024, step=32, label="Height")
            with gr.Row():
                steps = gr.Slider(1, 100, value=4, step=1, label="Steps")
                guidance = gr.Slider(0.0, 20.0, value=3.5, step=0.5, label="Guidance")
                seed = gr.Number(value=-1, precision=0, label="Seed (-1 = random)")
            run = gr.Button("Generate", variant="primary")
        with gr.Column(scale=3):
            image = gr.Image(label="Image", type="filepath", format="png", interactive=False, buttons=["download"])
            info = gr.JSON(label="Used")

    async def on_generate(prompt_text, provider_id, model_id, negative_text, w, h, s, g, sd,
                          request: gr.Request):
        return await generate(ctx, request, prompt_text, provider_id, model_id, negative_text, w, h, s, g, sd)

    gr.on([run.click, prompt.submit], on_generate,
          inputs=[prompt, picker.provider, picker.model, negative, width, height, steps, guidance, seed],
          outputs=[image, info], api_visibility="private", concurrency_limit=ctx.settings.concurrency_limit)
    return picker
