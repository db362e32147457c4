"""Assembling the app: the tabs, deep links, the public API and session clean-up."""

from __future__ import annotations

from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from providers import Registry, build_registry

from . import layout
from .api import build_api, build_compare_api
from .banner import build_banner, wire_banner
from .body_limit import RequestBodyLimit
from .closed_routes import ClosedRoutes
from .code_view import build_code_api
from .compare_tab import build_compare_tab
from .config import AppSettings
from .context import AppContext
from .deeplink import DeepLink
from .event_costs import skip_missing_matplotlib
from .image_tab import build_image_tab
from .pickers import ModelPicker
from .remote_files import RemoteFileRoutes, refuse_remote_files
from .session_state import install as install_lazy_sessions
from .settings_tab import SettingsTab, build_settings_tab
from .text_tab import build_text_tab
from .upload_limit import UploadBudget
from .vision_tab import build_vision_tab

INTRO = (
    "Chat with text models, ask vision models about images and generate images, "
    "switching freely between providers."
)

#: Extra page styles, passed to `launch(css=...)` by app.py (the chat layout's are in ui/layout.py).
CSS = layout.CSS + """
#image-caption, .playground-link { font-size: var(--text-sm); color: var(--body-text-color-subdued); }
#image-output img { max-height: min(50vh, 520px); }
@media (max-width: 640px) {  /* the result first; the controls, after it in the page's order, never anchor the scroll */
  #image-result { order: -1; scroll-margin-top: 8px; } #image-output img { max-height: 42vh; }
  #image-controls { overflow-anchor: none; } }
"""
#: The page script, passed to `launch(js=...)` by app.py.
JS = layout.JS

#: Builds the full link from the query the server chose and copies it. The feedback takes no room in
#: the page: the button reads "Copied ✓" for two seconds; when the clipboard is refused, a small popover
#: under the button shows the link, selected, to copy by hand (Escape or a click elsewhere closes it).
COPY_LINK_JS = """async (query) => {
  const url = window.location.origin + window.location.pathname + (query || "");
  const button = document.getElementById("copy-link");
  let copied = false;
  try { await navigator.clipboard.writeText(url); copied = true; } catch (refused) { copied = false; }
  document.getElementById("copy-link-popover")?.remove();
  if (copied && button) {
    const label = [...button.childNodes].find((n) => n.nodeType === Node.TEXT_NODE && n.nodeValue.trim());
    if (label) {
      clearTimeout(button._copiedTimer);
      button.dataset.label = button.dataset.label || label.nodeValue;
      button.style.minWidth = button.offsetWidth + "px";
      label.nodeValue = "Copied ✓";
      button._copiedTimer = setTimeout(() => {
        label.nodeValue = button.dataset.label;
        delete button.dataset.label;
        button.style.minWidth = "";
      }, 2000);
    }
  } else if (!copied) {
    const pop = document.createElement("div");
    pop.id = "copy-link-popover";
    pop.setAttribute("role", "dialog");
    pop.setAttribute("aria-label", "Link to this view");
    const page = document.documentElement.clientWidth;
    const box = button ? button.getBoundingClientRect() : { bottom: 8, right: page - 8 };
    const width = Math.min(416, page - 16);
    Object.assign(pop.style, {
      position: "fixed", zIndex: 1000, top: box.bottom + 6 + "px", width: width + "px", boxSizing: "border-box",
      left: Math.max(8, Math.min(box.right - width, page - width - 8)) + "px",
      padding: "8px", borderRadius: "8px", boxShadow: "0 4px 16px rgba(0,0,0,.25)",
      background: "var(--background-fill-primary, #fff)", color: "var(--body-text-color, #111)",
      border: "1px solid var(--border-color-primary, #ccc)", fontSize: "var(--text-sm, 14px)"});
    const note = document.createElement("div");
    note.textContent = "Copying was not allowed here; copy this link:";
    const field = document.createElement("input");
    field.readOnly = true;
    field.value = url;
    field.setAttribute("aria-label", "Link to this view");
    Object.assign(field.style, {width: "100%", boxSizing: "border-box", marginTop: "4px", font: "inherit",
                               padding: "4px", background: "var(--input-background-fill, #fff)", color: "inherit",
                               border: "1px solid var(--border-color-primary, #ccc)", borderRadius: "4px"});
    pop.append(note, field);
    (button?.closest(".gradio-container") || document.body).append(pop);  // where the theme's colours apply
    field.focus();
    field.select();
    const close = (event) => {
      if (event.type === "keydown" ? event.key !== "Escape" : pop.contains(event.target)) return;
      pop.remove();
      document.removeEventListener("keydown", close, true);
      document.removeEventListener("pointerdown", close, true);
    };
    document.addEventListener("keydown", close, true);
    document.addEventListener("pointerdown", close, true);
  }
}"""


def app_kwargs(ctx: AppContext) -> dict[str, Any]:
    """`launch(app_kwargs=…)` for the playground built with `ctx` (`demo.playground`): its own middleware
    (a fresh dict for each launch)."""
    return {"middleware": [Middleware(RequestBodyLimit, max_bytes=ctx.settings.max_request_bytes),
                           Middleware(UploadBudget, budget=ctx.stored_files),
                           Middleware(RemoteFileRoutes),
                           Middleware(ClosedRoutes)]}


def build_demo(registry: Registry | None = None, settings: AppSettings | None = None) -> gr.Blocks:
    """Build the playground. No network calls and no heavy work happen here."""
    settings = settings or AppSettings.from_env()
    ctx = AppContext(registry or build_registry(), settings)
    with gr.Blocks(title=settings.title, fill_width=True,
                   delete_cache=(min(settings.cache_max_age, 3600), settings.cache_max_age)
                   if settings.cache_max_age else None) as demo:
        with gr.Row(equal_height=False, elem_classes="playground-header"):
            gr.Markdown(f"# {settings.title}\n{INTRO}")
            copy_link = gr.Button("Copy link", size="sm", scale=0, min_width=110, variant="secondary",
                                  elem_id="copy-link")
        link = gr.Textbox(label="Link to this tab, provider and model", visible=False, interactive=False,
                          elem_classes="playground-link")
        banner = build_banner()  # between the header and the tabs
        current_tab = gr.State("text")
        with gr.Tabs(selected="text", elem_classes="playground-tabs") as tabs:
            with gr.Tab("Text chat", id="text", elem_id="tab-text") as text_tab:
                text_chat = build_text_tab(ctx, banner)
            with gr.Tab("Vision chat", id="vision", elem_id="tab-vision") as vision_tab:
                vision_chat = build_vision_tab(ctx, banner)
            with gr.Tab("Text-to-image", id="image", elem_id="tab-image") as image_tab:
                image_picker = build_image_tab(ctx)
            with gr.Tab("Compare", id="compare", elem_id="tab-compare") as compare_tab:
                build_compare_tab(ctx)
            with gr.Tab("Settings", id="settings", elem_id="tab-settings") as settings_tab:
                settings_panel = build_settings_tab(ctx, demo)
        build_api(ctx)
        build_compare_api(ctx)
        build_code_api(ctx)

        pickers = {"text": text_chat.picker, "vision": vision_chat.picker, "image": image_picker}
        for tab, tab_id in ((text_tab, "text"), (vision_tab, "vision"), (image_tab, "image"),
                            (compare_tab, "compare"), (settings_tab, "settings")):
            tab.select(lambda t=tab_id: t, None, current_tab, api_visibility="private", queue=False,
                       show_progress="hidden")
        _wire_deep_links(ctx, settings_panel, tabs, current_tab, pickers)
        _wire_availability(ctx, settings_panel, pickers)
        wire_banner(banner, ctx, settings_panel, tabs)
        _wire_copy_link(copy_link, link, current_tab, pickers)
        layout.close_parameters_on_phone(demo, [text_chat.parameters, vision_chat.parameters])
        demo.unload(ctx.release)
    demo.queue(default_concurrency_limit=settings.concurrency_limit, max_size=settings.max_queue_size)
    demo.playground = ctx  # for tests and extensions
    install_lazy_sessions(demo)  # new sessions build per-block config on first use (ui/session_state.py)
    skip_missing_matplotlib()  # Gradio tries to import it twice per event (ui/event_costs.py)
    refuse_remote_files(demo)  # a file given as a link is refused, never fetched (ui/remote_files.py)
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
    """The server builds the query (the link box stays hidden); COPY_LINK_JS copies it and says so."""
    inputs = [current_tab] + [c for p in pickers.values() for c in (p.provider, p.model)]
    names = list(pickers)

    def build_query(tab: str, *choices: str) -> str:
        if tab in pickers:
            index = names.index(tab) * 2
            return DeepLink(tab=tab, provider=choices[index], model=choices[index + 1]).query()
        return DeepLink(tab=tab).query()

    button.click(build_query, inputs, link, api_visibility="private", queue=False, show_progress="hidden").then(
        None, link, None, js=COPY_LINK_JS, api_visibility="private", queue=False, show_progress="hidden")
