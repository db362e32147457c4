"""Assembling the app: the tabs, deep links, the public API and session clean-up."""

from __future__ import annotations

import gradio as gr

from providers import Registry, build_registry

from .api import build_api, build_compare_api
from .compare_tab import build_compare_tab
from .config import AppSettings
from .context import AppContext
from .deeplink import DeepLink
from .event_costs import skip_missing_matplotlib
from .image_tab import build_image_tab
from .pickers import ModelPicker
from .session_state import install as install_lazy_sessions
from .settings_tab import SettingsTab, build_settings_tab
from .text_tab import build_text_tab
from .vision_tab import build_vision_tab

INTRO = (
    "Chat with text models, ask vision models about images and generate images, "
    "switching freely between providers."
)

#: Extra page styles, passed to `launch(css=...)` by app.py.
CSS = """
#image-caption, .playground-link { font-size: var(--text-sm); color: var(--body-text-color-subdued); }
@media (max-width: 640px) { .gradio-container { padding: 4px !important; } }
"""

#: Builds the full link from the query the server chose and copies it (clipboard may be refused).
COPY_LINK_JS = """(query) => {
  const url = window.location.origin + window.location.pathname + (query || "");
  if (navigator.clipboard) { navigator.clipboard.writeText(url).catch(() => {}); }
  return url;
}"""


def build_demo(registry: Registry | None = None, settings: AppSettings | None = None) -> gr.Blocks:
    """Build the playground. No network calls and no heavy work happen here."""
    settings = settings or AppSettings.from_env()
    ctx = AppContext(registry or build_registry(), settings)
    with gr.Blocks(title=settings.title, fill_width=True,
                   delete_cache=(min(settings.cache_max_age, 3600), settings.cache_max_age)
                   if settings.cache_max_age else None) as demo:
        with gr.Row(equal_height=False):
            gr.Markdown(f"# {settings.title}\n{INTRO}")
            copy_link = gr.Button("Copy link", size="sm", scale=0, min_width=110, variant="secondary")
        link = gr.Textbox(label="Link to this tab, provider and model", visible=False, interactive=False,
                          elem_classes="playground-link")
        current_tab = gr.State("text")
        with gr.Tabs(selected="text") as tabs:
            with gr.Tab("Text chat", id="text", elem_id="tab-text") as text_tab:
                text_picker = build_text_tab(ctx)
            with gr.Tab("Vision chat", id="vision", elem_id="tab-vision") as vision_tab:
                vision_picker = build_vision_tab(ctx)
            with gr.Tab("Text-to-image", id="image", elem_id="tab-image") as image_tab:
                image_picker = build_image_tab(ctx)
            with gr.Tab("Compare", id="compare", elem_id="tab-compare") as compare_tab:
                build_compare_tab(ctx)
            with gr.Tab("Settings", id="settings", elem_id="tab-settings") as settings_tab:
                settings_panel = build_settings_tab(ctx, demo)
        build_api(ctx)
        build_compare_api(ctx)

        pickers = {"text": text_picker, "vision": vision_picker, "image": image_picker}
        for tab, tab_id in ((text_tab, "text"), (vision_tab, "vision"), (image_tab, "image"),
                            (compare_tab, "compare"), (settings_tab, "settings")):
            tab.select(lambda t=tab_id: t, None, current_tab, api_visibility="private", queue=False,
                       show_progress="hidden")
        _wire_deep_links(ctx, settings_panel, tabs, current_tab, pickers)
        _wire_availability(ctx, settings_panel, pickers)
        _wire_copy_link(copy_link, link, current_tab, pickers)
        demo.unload(ctx.release)
    demo.queue(default_concurrency_limit=settings.concurrency_limit, max_size=settings.max_queue_size)
    demo.playground = ctx  # for tests and extensions
    install_lazy_sessions(demo)  # new sessions build per-block config on first use (ui/session_state.py)
    skip_missing_matplotlib()  # Gradio tries to import it twice per event (ui/event_costs.py)
    return demo


def _wire_deep_links(ctx: AppContext, settings: SettingsTab, tabs: gr.Tabs, current_tab: gr.State,
                     pickers: dict[str, ModelPicker]) -> None:
    """On load, once remembered credentials are back: `?tab=…&provider=…&model=…` selects the tab and,
    on a chat or image tab, provider and model; every other picker shows a provider that can answer
    this visitor, labelled as this visitor sees them."""
    choices = [c for p in pickers.values() for c in (p.provider, p.model)]

    async def open_link(shown: dict, request: gr.Request):
        visitor = ctx.visitor(request)
        target = DeepLink.from_query(dict(getattr(request, "query_params", None) or {}))
        updates: list = [gr.update(selected=target.tab) if target.tab else gr.update(), target.tab or "text"]
        for tab_id, picker in pickers.items():
            if tab_id == (target.tab or "text") and (target.provider or target.model):
                provider, model = await picker.choose(target.provider, target.model)
                labels, _ = picker.for_visitor(visitor)
                updates.extend([{**labels, **provider}, model])
            else:
                updates.extend(picker.for_visitor(visitor, shown.get(picker.provider), pick_default=True))
        return updates

    settings.loaded.then(open_link, {p.provider for p in pickers.values()}, [tabs, current_tab, *choices],
                         api_visibility="private", show_progress="hidden")


def _wire_availability(ctx: AppContext, settings: SettingsTab, pickers: dict[str, ModelPicker]) -> None:
    """When the visitor's credentials change, the pickers' labels follow (their choices stay)."""
    providers = [p.provider for p in pickers.values()]

    def relabel(request: gr.Request):
        visitor = ctx.visitor(request)
        return [picker.for_visitor(visitor)[0] for picker in pickers.values()]

    settings.changed.change(relabel, None, providers, api_visibility="private", queue=False,
                            show_progress="hidden")


def _wire_copy_link(button: gr.Button, link: gr.Textbox, current_tab: gr.State,
                    pickers: dict[str, ModelPicker]) -> None:
    inputs = [current_tab] + [c for p in pickers.values() for c in (p.provider, p.model)]
    names = list(pickers)

    def build_query(tab: str, *choices: str) -> dict:
        if tab in pickers:
            index = names.index(tab) * 2
            query = DeepLink(tab=tab, provider=choices[index], model=choices[index + 1]).query()
        else:
            query = DeepLink(tab=tab).query()
        return gr.update(value=query, visible=True)

    button.click(build_query, inputs, link, api_visibility="private", queue=False, show_progress="hidden").then(
        None, link, link, js=COPY_LINK_JS, api_visibility="private", queue=False, show_progress="hidden")
