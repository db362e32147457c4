"""Chat first: the page layout shared by the chat tabs, its styles and its small page script.

On a desktop a chat tab is the picker bar, the conversation and the message box in one column
sized to the window (the box never leaves the viewport), with earlier conversations on the left
and a parameters panel on the right. On a phone the same column fills the screen: the history
is a drawer opened from the picker bar, and the parameters panel is a closed section under the
message box. The message box stays editable while an answer streams (Enter sends only once
the answer is done), so focus and a draft typed meanwhile are never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import gradio as gr

from .pickers import ModelPicker

logger = logging.getLogger(__name__)

#: Width (CSS px) below which the phone layout applies.
PHONE_MAX_WIDTH = 720

#: Styles for the page (passed to `launch(css=...)`).
CSS = f"""
.gradio-container .main {{ padding-left: max(6px, min(32px, calc(100vw - {PHONE_MAX_WIDTH - 32}px))) !important;
  padding-right: max(6px, min(32px, calc(100vw - {PHONE_MAX_WIDTH - 32}px))) !important; }}
.playground-header {{ align-items: center !important; gap: 8px !important; }}
.playground-header h1 {{ font-size: 1.35rem !important; margin: 0 !important; }}
.playground-header p {{ margin: 0 !important; color: var(--body-text-color-subdued); }}
.chat-layout {{ flex-wrap: nowrap !important; align-items: flex-start !important; }}
.chat-layout > .side-panel {{ order: 2; }}
.chat-layout > .chat-main {{ order: 1; }}
.picker-bar {{ gap: 8px !important; flex-wrap: nowrap !important; }}
.picker-bar .history-toggle {{ display: none !important; }}
.chat-main .playground-chatbot {{ --chat-below: 90px;
  height: calc(100dvh - var(--chat-top, 240px) - var(--chat-below)) !important; min-height: 240px !important; }}
#tab-vision .chat-main .playground-chatbot {{ --chat-below: 122px; }}
@media (max-width: {PHONE_MAX_WIDTH}px) {{
  .playground-header p {{ display: none !important; }}
  .playground-header h1 {{ font-size: 1.05rem !important; }}
  .playground-header {{ flex-wrap: nowrap !important; }}
  .playground-tabs .tab-container button {{ padding: 4px 5px !important; font-size: 13px !important; }}
  .picker-bar > .form, .picker-bar .form {{ flex-wrap: nowrap !important; min-width: 0 !important; }}
  .picker-bar .block {{ min-width: 0 !important; flex: 1 1 0 !important; }}
  .picker-bar .history-toggle {{ align-self: stretch; }}
  .chat-layout {{ flex-direction: column !important; }}
  .chat-layout > .side-panel {{ width: 100% !important; }}
  .picker-bar .history-toggle {{ display: inline-flex !important; }}
  .chat-main .history-drawer {{ display: none !important; }}
  .chat-main.history-open .history-drawer {{ display: flex !important; position: fixed; z-index: 50;
    top: 0; left: 0; bottom: 0; width: min(85vw, 320px) !important; overflow-y: auto;
    background: var(--background-fill-primary); padding: 12px; box-shadow: var(--shadow-drop-lg); }}
}}
"""

#: Runs once when the page loads (passed to `launch(js=...)`). It sizes each visible conversation so
#: the message box under it ends inside the window, whatever shows above it (a notice, a banner),
#: and keeps Enter in a chat box from sending a second message while an answer streams (the box
#: stays editable; Stop is where Send was).
JS = """() => {
  const fit = () => document.querySelectorAll(".chat-main .playground-chatbot").forEach((chat) => {
    const rect = chat.getBoundingClientRect();
    if (!rect.width) return;  // in a hidden tab
    const top = Math.round(rect.top + window.scrollY) + "px";
    if (chat.style.getPropertyValue("--chat-top") !== top) chat.style.setProperty("--chat-top", top);
  });
  new ResizeObserver(() => requestAnimationFrame(fit)).observe(document.body);
  window.addEventListener("resize", fit);
  document.addEventListener("click", () => requestAnimationFrame(fit));
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    const box = event.target.closest ? event.target.closest(".chat-input") : null;
    if (box && box.querySelector(".stop-button")) { event.preventDefault(); event.stopImmediatePropagation(); }
  }, true);
}"""

#: Toggles the history drawer of the chat tab the button is in (phone layout).
TOGGLE_HISTORY_JS = """() => {
  const main = document.activeElement && document.activeElement.closest(".chat-main");
  const target = main || document.querySelector(".tabitem:not([style*='display: none']) .chat-main");
  if (target) target.classList.toggle("history-open");
}"""

#: Closes an open history drawer (after a conversation is picked or a new one started).
CLOSE_HISTORY_JS = """() => { document.querySelectorAll(".chat-main.history-open")
  .forEach((main) => main.classList.remove("history-open")); }"""


@dataclass
class ChatTab:
    """What the app wires across tabs: a tab's picker and its parameters section (if any)."""

    picker: ModelPicker
    parameters: gr.Accordion | None = None


@dataclass
class ChatLayout:
    """The two columns of a chat tab: `side` (parameters, export) and `main` (pickers, chat)."""

    side: gr.Column
    main: gr.Column
    history_toggle: gr.Button | None = None


@contextmanager
def chat_layout() -> Iterator[ChatLayout]:
    """A chat tab's columns. Build the side panel's controls first (`with layout.side:`), then the
    picker bar and the chat in `layout.main`; CSS shows the side panel on the right."""
    with gr.Row(equal_height=False, elem_classes="chat-layout"):
        side = gr.Column(scale=1, min_width=260, elem_classes="side-panel")
        main = gr.Column(scale=4, min_width=300, elem_classes="chat-main")
        yield ChatLayout(side=side, main=main)


def picker_bar() -> gr.Row:
    """The compact row above a chat holding the history button (phone only) and the pickers."""
    return gr.Row(equal_height=True, elem_classes="picker-bar")


def history_button() -> gr.Button:
    """"History", shown on a phone only: opens the drawer of earlier conversations."""
    button = gr.Button("☰", size="sm", scale=0, min_width=44, elem_classes="history-toggle",
                       variant="secondary")
    button.click(None, js=TOGGLE_HISTORY_JS, api_visibility="private", queue=False)
    return button


def parameters_panel() -> gr.Accordion:
    """The parameters section: open beside the chat on a desktop, closed under it on a phone."""
    return gr.Accordion("Parameters", open=True, elem_classes="parameters-panel")


def close_parameters_on_phone(demo: gr.Blocks, panels: list[gr.Accordion]) -> None:
    """On a narrow screen, start with the parameters sections closed (the page tells its width)."""
    if not panels:
        return
    width = gr.Number(visible=False)

    def fit(page_width: float | None):
        narrow = bool(page_width) and page_width <= PHONE_MAX_WIDTH
        return [gr.update(open=False) if narrow else gr.update() for _ in panels]

    demo.load(fit, width, panels, js="() => window.innerWidth", api_visibility="private", queue=False,
              show_progress="hidden")


def keep_draft_after_answer(chat: gr.ChatInterface) -> None:
    """Gradio clears the message box when an answer ends, losing a draft typed while it streamed
    (the box stays editable in this app): its reset step is replaced by one that only re-enables."""
    chat.textbox.elem_classes = [*(chat.textbox.elem_classes or []), "chat-input"]
    replaced = 0
    for block_fn in _event_functions(chat):
        outputs = [getattr(o, "_id", None) for o in block_fn.outputs]
        qualname = getattr(block_fn.fn, "__qualname__", "")
        if outputs != [chat.textbox._id] or qualname != "ChatInterface._setup_events.<locals>.<lambda>":
            continue  # (the stop events' lambdas build components: never call those)
        try:
            reset = block_fn.fn()
        except TypeError:  # takes arguments: not the reset
            continue
        if isinstance(reset, dict) and "value" in reset and reset["value"] is None and reset.get("interactive"):
            block_fn.fn = _enable_keeping_draft
            block_fn.show_progress = "hidden"  # no loading veil over the box the visitor is typing in
            replaced += 1
    if not replaced:
        logger.warning("The chat box's reset step was not found; it is cleared after each answer")


def _event_functions(chat: gr.ChatInterface) -> list:
    root = gr.context.get_blocks_context()
    fns = root.fns if root is not None else chat.fns
    return list(fns.values())


def _enable_keeping_draft() -> dict:
    return gr.update(interactive=True)
