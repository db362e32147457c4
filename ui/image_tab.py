"""Text-to-image tab: prompt and parameters in; the image, what was used and a session gallery out."""

from __future__ import annotations

import gradio as gr

from playground.service import describe_error
from providers import Capability, ImageOptions, PlaygroundError
from providers.events import Progress

from .code_view import view_code
from .context import AppContext, gradio_error
from .images import generate_events
from .inert import html_text, markdown_text
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
#: On a phone the result sits above the controls: bring it (with the progress and Cancel) into view.
SHOW_RESULT_JS = """() => {
  const result = document.getElementById("image-result");
  if (result && window.matchMedia("(max-width: 640px)").matches) {
    result.scrollIntoView({block: "start"});  // at once: a smooth scroll is cut short as the result grows
  }
}"""


#: Longest prompt shown in a caption (longer ones are cut, with "…").
CAPTION_PROMPT_CHARS = 100


def short_prompt(prompt: str, limit: int = CAPTION_PROMPT_CHARS) -> str:
    """The prompt on one line, cut to `limit` characters."""
    line = " ".join(str(prompt or "").split())
    return line if len(line) <= limit else line[:limit - 1].rstrip() + "…"


def image_caption(info: dict, provider_label: str, prompt: str = "") -> str:
    """"“A lighthouse at dawn” · Provider · model · seed 42 · 1024×768 · 2.3 s" (plain text)."""
    seed = "seed ?" if info.get("seed") is None else f"seed {info['seed']}"
    parts = [provider_label, str(info.get("model", "")), seed, f"{info.get('width')}×{info.get('height')}",
             f"{info.get('seconds', 0):.1f} s"]
    line = short_prompt(prompt)
    return " · ".join([f"“{line}”", *parts] if line else parts)


def progress_text(progress: Progress) -> str:
    """The status line for an image being made: queue place, step, or just the time so far."""
    if progress.stage == "queued":
        where = "In queue"
        if progress.position is not None:
            where += f": position {progress.position}" + (f" of {progress.queue_size}" if progress.queue_size else "")
        parts = [where] + ([f"about {progress.eta:.0f} s to go"] if progress.eta else [])
    elif progress.fraction is not None:
        parts = [f"Step {progress.step} of {progress.total}", f"{progress.fraction:.0%}"]
    else:
        parts = ["Generating…"]
    if progress.elapsed >= 1:
        parts.append(f"{progress.elapsed:.0f} s")
    return " · ".join(parts)


def status_html(text: str, progress: Progress | None = None) -> str:
    """The status line as HTML: the words (escaped) and, while an image is being made, a bar that
    fills with the steps where the service counts them and is indeterminate otherwise."""
    bar = ""
    if progress is not None:
        fraction = progress.fraction
        filled = f' max="{progress.total}" value="{progress.step}"' if fraction is not None else ""
        bar = f'<progress{filled} aria-label="Image progress"></progress>'
    return f'<div class="image-progress" role="status"><span>{html_text(text)}</span>{bar}</div>'


def progress_html(progress: Progress) -> str:
    return status_html(progress_text(progress), progress)


#: The status line's own styles (scoped to it by gr.HTML).
STATUS_CSS = """
.image-progress { display: flex; align-items: center; gap: 0.75em; min-height: 1.6em;
  font-size: var(--text-sm); color: var(--body-text-color-subdued); }
.image-progress progress { flex: 1; height: 0.5em; accent-color: var(--color-accent); }
"""


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
    with gr.Row(elem_id="image-layout"):
        with gr.Column(scale=2, min_width=300, elem_id="image-controls"):
            # One line that grows: Enter generates (Shift+Enter is a new line), as in the chat tabs.
            prompt = gr.Textbox(label="Prompt", lines=1, max_lines=6,
                                placeholder="A lighthouse on a cliff at dawn, oil painting")
            run = gr.Button("Generate", variant="primary")  # under the prompt: in view however tall the controls
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
            view_code(ctx, "image", picker, [prompt, negative, width, height, steps, guidance, seed, randomise],
                      ["prompt", "negative_prompt", "width", "height", "steps", "guidance", "seed", "randomise"])
        # First on a phone (ui/app.py CSS): the result is seen without scrolling past the controls.
        with gr.Column(scale=3, min_width=300, elem_id="image-result"):
            with gr.Row(equal_height=True, elem_id="image-status-row"):  # the run's progress, and its Cancel
                status = gr.HTML(elem_id="image-status", css_template=STATUS_CSS, js_on_load=None, min_height=30)
                cancel = gr.Button("Cancel", variant="stop", size="sm", visible=False, scale=0, min_width=90)
            image = gr.Image(label="Image", type="filepath", format="png", interactive=False, elem_id="image-output",
                             buttons=["download", "fullscreen"])
            caption = gr.Markdown(elem_id="image-caption", label="Image details")
            gallery = gr.Gallery(label="This session's images", columns=4, height=240, elem_id="image-gallery",
                                 buttons=["download", "download_all", "fullscreen"], object_fit="contain",
                                 fit_columns=False, visible=False)
    images = gr.State([])
    last_seed = gr.State(None)

    async def on_generate(prompt_text, provider_id, model_id, negative_text, w, h, s, g, sd, random_seed,
                          shown: list, request: gr.Request):
        made: tuple[str, dict] | None = None
        try:
            async for event in generate_events(ctx, request, prompt_text, provider_id, model_id, negative_text,
                                               w, h, s, g, -1 if random_seed else sd):
                if isinstance(event, Progress):
                    yield *[gr.skip()] * 5, progress_html(event)
                else:
                    made = event
        except PlaygroundError as exc:
            yield *[gr.skip()] * 5, status_html(f"Not made: {describe_error(exc)}")
            raise gradio_error(exc) from exc
        if made is None:  # the stream always ends with the image or an error
            return
        path, info = made
        label = ctx.registry.get(info["provider"]).label if info["provider"] else ""
        text = image_caption(info, label, prompt_text)
        shown = [(path, text), *shown][:MAX_GALLERY]  # gallery captions are shown as plain text
        yield path, markdown_text(text), gr.update(value=shown, visible=True), shown, info["seed"], ""

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
    # While an image is being made Generate is disabled and Cancel shown; both come back however it ends.
    quiet = {"api_visibility": "private", "queue": False, "show_progress": "hidden"}
    busy = gr.on([run.click, prompt.submit],
                 lambda: (gr.update(interactive=False, value="Generating…"), gr.update(visible=True),
                          progress_html(Progress())), None, [run, cancel, status], **quiet)
    gr.on([run.click, prompt.submit], None, None, None, js=SHOW_RESULT_JS, queue=False, api_visibility="private",
          show_progress="hidden")
    generating = busy.then(on_generate,
                           inputs=[prompt, picker.provider, picker.model, negative, width, height, steps, guidance,
                                   seed, randomise, images],
                           outputs=[image, caption, gallery, images, last_seed, status], api_visibility="private",
                           concurrency_limit=ctx.settings.concurrency_limit, show_progress_on=[image])

    def idle() -> tuple[dict, dict]:
        return gr.update(interactive=True, value="Generate"), gr.update(visible=False)

    for ended in (generating.then, generating.failure):  # the page runs both after a cancel, too
        ended(idle, None, [run, cancel], **quiet)
    # Cancelling ends the handler's task: the generation is cancelled with it and the Space job released.
    # The cancel is registered first, so the page stops listening to the run before "Cancelled" shows.
    cancel.click(None, None, None, cancels=[generating], **quiet)
    cancel.click(lambda: (*idle(), status_html("Cancelled")), None, [run, cancel, status], **quiet)
    return picker
