"""Text-to-image tab: prompt and parameters in; the image, what was used and a session gallery out."""

from __future__ import annotations

import gradio as gr

from providers import Capability, ImageOptions, PlaygroundError

from .context import AppContext, gradio_error
from .images import generate
from .inert import markdown_text
from .pickers import ModelPicker

#: Size presets: name -> (width, height), exact ratios on multiples of 32.
SIZE_PRESETS: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024),
    "16:9": (1024, 576),
    "9:16": (576, 1024),
    "4:3": (1152, 864),
    "3:2": (1152, 768),
}
CUSTOM = "Custom"
MAX_GALLERY = 48


def image_caption(info: dict, provider_label: str) -> str:
    """"Provider · model · seed 42 · 1024×768 · 2.3 s"."""
    seed = "seed ?" if info.get("seed") is None else f"seed {info['seed']}"
    return " · ".join([provider_label, str(info.get("model", "")), seed,
                       f"{info.get('width')}×{info.get('height')}", f"{info.get('seconds', 0):.1f} s"])


def preset_size(preset: str) -> tuple[dict, dict]:
    if preset in SIZE_PRESETS:
        width, height = SIZE_PRESETS[preset]
        return gr.update(value=width), gr.update(value=height)
    return gr.update(), gr.update()


def controls_for(ctx: AppContext, provider_id: str | None, model: str | None) -> tuple[dict, dict, dict]:
    """Updates making Steps, Guidance and the negative prompt follow what the model takes."""
    try:
        provider = ctx.registry.get(provider_id or "")
    except PlaygroundError:
        return gr.update(), gr.update(), gr.update()
    options = provider.image_options(model or provider.default_model(Capability.IMAGE))
    steps = gr.update(minimum=options.steps[0], maximum=options.steps[1],
                      **({"value": options.default_steps} if options.default_steps else {}))
    if options.guidance is None:
        guidance = gr.update(visible=False)
    else:
        guidance = gr.update(visible=True, minimum=options.guidance[0], maximum=options.guidance[1],
                             **({"value": options.default_guidance} if options.default_guidance is not None else {}))
    return steps, guidance, gr.update(visible=options.negative_prompt)


def build_image_tab(ctx: AppContext) -> ModelPicker:
    with gr.Row(equal_height=True):
        picker = ModelPicker(ctx.registry, Capability.IMAGE)
    with gr.Row():
        with gr.Column(scale=2, min_width=300):
            # One line that grows: Enter generates (Shift+Enter is a new line), as in the chat tabs.
            prompt = gr.Textbox(label="Prompt", lines=1, max_lines=6,
                                placeholder="A lighthouse on a cliff at dawn, oil painting")
            first = ctx.registry.default_for(Capability.IMAGE)
            options = first.image_options(first.default_model(Capability.IMAGE)) if first else ImageOptions()
            negative = gr.Textbox(label="Negative prompt", lines=1, placeholder="blurry, low quality",
                                  visible=options.negative_prompt)
            preset = gr.Radio([*SIZE_PRESETS, CUSTOM], value="1:1", label="Size")
            with gr.Row():
                width = gr.Slider(256, 2048, value=1024, step=32, label="Width", min_width=140)
                height = gr.Slider(256, 2048, value=1024, step=32, label="Height", min_width=140)
            with gr.Row():
                steps = gr.Slider(*options.steps, value=options.default_steps or 4, step=1, label="Steps",
                                  min_width=140)
                guidance = gr.Slider(*(options.guidance or (0.0, 20.0)), value=options.default_guidance or 3.5,
                                     step=0.5, label="Guidance", min_width=140, visible=options.guidance is not None)
            with gr.Row(equal_height=False):
                seed = gr.Number(value=0, precision=0, minimum=0, label="Seed", min_width=120)
                randomise = gr.Checkbox(value=True, label="Randomise seed", min_width=120)
                reuse = gr.Button("Reuse last seed", size="sm", min_width=120, scale=0)
            run = gr.Button("Generate", variant="primary")
        with gr.Column(scale=3, min_width=300):
            image = gr.Image(label="Image", type="filepath", format="png", interactive=False,
                             buttons=["download", "fullscreen"])
            caption = gr.Markdown(elem_id="image-caption", label="Image details")
            gallery = gr.Gallery(label="This session's images", columns=4, height=300,
                                 buttons=["download", "download_all", "fullscreen"], object_fit="contain")
    images = gr.State([])
    last_seed = gr.State(None)

    async def on_generate(prompt_text, provider_id, model_id, negative_text, w, h, s, g, sd, random_seed,
                          shown: list, request: gr.Request, progress=gr.Progress()):
        progress(0, desc="Generating…")
        try:
            path, info = await generate(ctx, request, prompt_text, provider_id, model_id, negative_text, w, h,
                                        s, g, -1 if random_seed else sd)
        except PlaygroundError as exc:
            raise gradio_error(exc) from exc
        label = ctx.registry.get(info["provider"]).label if info["provider"] else ""
        text = image_caption(info, label)
        shown = [(path, text), *shown][:MAX_GALLERY]  # gallery captions are shown as plain text
        return path, markdown_text(text), shown, shown, info["seed"]

    def on_reuse(seed_used: int | None):
        if seed_used is None:
            gr.Info("Generate an image first; its seed can then be reused.")
            return gr.update(), gr.update()
        return seed_used, False

    picker.model.change(lambda provider_id, model: controls_for(ctx, provider_id, model),
                        [picker.provider, picker.model], [steps, guidance, negative], api_visibility="private",
                        queue=False, show_progress="hidden")
    preset.change(preset_size, preset, [width, height], api_visibility="private", queue=False,
                  show_progress="hidden")
    gr.on([width.input, height.input], lambda: CUSTOM, None, preset, api_visibility="private", queue=False,
          show_progress="hidden")
    reuse.click(on_reuse, last_seed, [seed, randomise], api_visibility="private", queue=False)
    # Generate is disabled while an image is being made, and comes back however the run ends.
    busy = gr.on([run.click, prompt.submit], lambda: gr.update(interactive=False, value="Generating…"), None, run,
                 api_visibility="private", queue=False, show_progress="hidden")
    generating = busy.then(on_generate,
                           inputs=[prompt, picker.provider, picker.model, negative, width, height, steps, guidance,
                                   seed, randomise, images],
                           outputs=[image, caption, gallery, images, last_seed], api_visibility="private",
                           concurrency_limit=ctx.settings.concurrency_limit, show_progress_on=[image])
    for ended in (generating.then, generating.failure):
        ended(lambda: gr.update(interactive=True, value="Generate"), None, run, api_visibility="private",
              queue=False, show_progress="hidden")
    return picker
