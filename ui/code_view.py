"""View code: a panel beside each tab showing its request as code, and the `/code` API endpoint.

The snippets come from `playground.snippets`; this module only gathers the tab's provider,
model, parameters and conversation. A chat's request is the one that produced its last answer
(the conversation up to its last user message); an empty chat shows an example message.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Sequence
from typing import Any

import gradio as gr
from gradio.context import LocalContext

from playground.service import describe_error
from playground.snippets import APP_ENDPOINTS, LANGUAGES, AppParams, build_snippet
from playground.structured import MODES
from providers import InputError, Message, PlaygroundError

from .api_schema import HISTORY, JSON_SCHEMA, typed_json
from .chat import without_failed_prompts
from .context import AppContext
from .pickers import ModelPicker

logger = logging.getLogger(__name__)

#: gr.Code's highlighting per snippet language.
HIGHLIGHT = {"python": "python", "javascript": "javascript", "curl": "shell"}
#: The message shown in the code of a chat that has none yet.
EXAMPLE_MESSAGE = "Hello!"


def app_address(request: gr.Request | None) -> str:
    """This app's address as the caller reached it (for snippets calling its own API)."""
    headers = getattr(request, "headers", None) or {}
    host = headers.get("x-forwarded-host") or headers.get("host") or "127.0.0.1:7860"
    scheme = (headers.get("x-forwarded-proto") or "http").split(",")[0].strip()
    return f"{scheme}://{host}/"


_APP_PARAMS: weakref.WeakKeyDictionary[gr.Blocks, AppParams] = weakref.WeakKeyDictionary()


def api_params(blocks: gr.Blocks) -> AppParams:
    """An app's own endpoints' parameters, as its API page lists them (read once per app)."""
    if blocks not in _APP_PARAMS:
        named = blocks.get_api_info().get("named_endpoints", {})
        _APP_PARAMS[blocks] = {
            name: [(p["parameter_name"], p.get("parameter_default")) for p in named[name]["parameters"]]
            for name in APP_ENDPOINTS.values() if name in named}
    return _APP_PARAMS[blocks]


def app_params() -> AppParams:
    """The running app's own endpoints' parameters (none outside an event)."""
    blocks = LocalContext.blocks.get(None)
    return api_params(blocks) if blocks is not None else {}


def up_to_last_question(messages: list[Message]) -> list[Message]:
    """The conversation as it was sent for its last answer: trailing answers left out."""
    end = len(messages)
    while end and messages[end - 1].role != "user":
        end -= 1
    return messages[:end]


async def conversation(ctx: AppContext, history: Any, prompt: str = "") -> list[Message]:
    """The chat's request messages from a page or API history, with `prompt` as a new user turn."""
    if history not in (None, "") and not isinstance(history, list):
        raise InputError("'messages' must be a list of {\"role\", \"content\"} objects.")
    messages = up_to_last_question(await ctx.read_history(without_failed_prompts(history or [])))
    if prompt.strip():
        messages.append(Message("user", prompt))
    return messages or [Message("user", EXAMPLE_MESSAGE)]


async def snippet_for(ctx: AppContext, request: gr.Request | None, tab: str, language: str, provider: str,
                      model: str, history: Any = None, prompt: str = "", **params: Any) -> str:
    """The snippet for a tab's state. Raises PlaygroundError."""
    language = (language or "python").strip().lower()
    if tab in ("text", "vision"):
        request_args: dict[str, Any] = {"messages": await conversation(ctx, history, prompt or "")}
    else:
        request_args = {"prompt": prompt or ""}
    return await build_snippet(ctx.playground, tab, language, visitor=ctx.visitor(request),
                               provider_id=provider or None, model=model or None,
                               app_url=app_address(request), app_params=app_params(), **request_args, **params)


def build_code_api(ctx: AppContext) -> None:
    """Register `/code` on hidden components (call inside the Blocks)."""
    with gr.Column(visible=False):
        trigger = gr.Button("code", visible=False)
        text = {name: gr.Textbox(label=name, value="") for name in ("provider", "model", "prompt", "system_prompt",
                                                                  "negative_prompt")}
        inputs = [gr.Textbox(label="tab", value="text"), text["provider"], text["model"], typed_json("messages", HISTORY),
                  text["prompt"], text["system_prompt"], gr.Number(label="temperature"),
                  gr.Number(label="max_tokens"), gr.Number(label="top_p"), text["negative_prompt"],
                  gr.Number(label="width", value=1024), gr.Number(label="height", value=1024),
                  gr.Number(label="steps"), gr.Number(label="guidance"), gr.Number(label="seed", value=-1),
                  gr.Textbox(label="language", value="python"),
                  gr.Dropdown(list(MODES), value="off", label="structured_output"), typed_json("json_schema", JSON_SCHEMA)]
        snippet = gr.Textbox(label="code")

    async def code(tab: str = "text", provider: str = "", model: str = "", messages: list | None = None,
                   prompt: str = "", system_prompt: str = "", temperature: float | None = None,
                   max_tokens: float | None = None, top_p: float | None = None, negative_prompt: str = "",
                   width: float = 1024, height: float = 1024, steps: float | None = None,
                   guidance: float | None = None, seed: float | None = -1, language: str = "python",
                   structured_output: str = "off", json_schema: dict | str | None = None,
                   request: gr.Request = None) -> str:
        """The request the playground would send for `tab` (text, vision or image), as `language` code
        (python, javascript or curl). Chat tabs take `messages` (and/or `prompt` as a new message), the image
        tab `prompt`; keys are read from the environment, never included.

        Args:
            tab: "text", "vision" or "image", as in the app's links.
            provider: Provider id (see the providers tool); empty: the first provider that can answer you.
            model: Model id or alias; empty: the provider's default model.
            messages: The conversation, a list of {"role", "content"} messages (text and vision); empty: none.
            prompt: A new user message (text and vision), or the image prompt (image).
            system_prompt: Instructions for the model (text).
            temperature: Sampling temperature, 0 to 2 (text and vision).
            max_tokens: Longest answer in tokens (text and vision).
            top_p: Nucleus sampling, 0.01 to 1 (text).
            negative_prompt: What the image should not show (image).
            width: Image width in pixels (image).
            height: Image height in pixels (image).
            steps: Inference steps; empty: the model's default (image).
            guidance: Guidance scale; empty: the model's default (image).
            seed: Seed; -1 for a random one (image).
            language: "python", "javascript" or "curl".
            structured_output: "off", "json" or "json_schema" (text).
            json_schema: A JSON schema for the answer (text, with json_schema).
        Returns:
            The code, with keys read from the environment (never included).
        """
        params = {"system_prompt": system_prompt, "temperature": temperature, "max_tokens": max_tokens,
                  "top_p": top_p, "structured_output": structured_output,
                  "json_schema": json_schema} if tab != "image" else {
            "negative_prompt": negative_prompt, "width": width, "height": height, "steps": steps,
            "guidance": guidance, "seed": seed}
        try:
            return await snippet_for(ctx, request, (tab or "text").strip().lower(), language, provider, model,
                                     messages, prompt, **params)
        except PlaygroundError as exc:
            raise gr.Error(describe_error(exc), print_exception=False) from exc

    trigger.click(code, inputs, snippet, api_name="code", concurrency_limit=ctx.settings.concurrency_limit,
                  show_progress="hidden")


def view_code(ctx: AppContext, tab: str, picker: ModelPicker, inputs: Sequence[gr.components.Component],
              names: Sequence[str]) -> gr.Button:
    """A "View code" button and its panel (language choice, code with a copy button) for a tab.

    `inputs` are the tab's components whose values are passed to the snippet as `names`
    (`history` for a chat's conversation, `prompt`, `randomise` for an image seed, or a parameter).
    """
    button = gr.Button("View code", size="sm", variant="secondary", elem_classes="view-code-button",
                       elem_id=f"{tab}-view-code")
    with gr.Column(visible=False, elem_id=f"{tab}-code-panel") as panel:
        language = gr.Radio(list(LANGUAGES), value="python", label="Language", elem_id=f"{tab}-code-language")
        code = gr.Code(language="python", label="Code for this request", interactive=False, buttons=["copy"],
                       max_lines=30, elem_id=f"{tab}-code")
        close = gr.Button("Close", size="sm", variant="secondary")

    async def show(request: gr.Request, lang: str, provider: str, model: str, *values: Any):
        params = dict(zip(names, values))
        if params.pop("randomise", False):
            params["seed"] = -1
        try:
            text = await snippet_for(ctx, request, tab, lang, provider, model, **params)
        except PlaygroundError as exc:
            text = f"# The code cannot be written yet: {describe_error(exc)}"
        except Exception:  # a bug of ours must not break the tab
            logger.exception("Writing the code for %s failed", tab)
            text = "# The code could not be written (see the logs)."
        return gr.update(visible=True), gr.update(value=text, language=HIGHLIGHT.get(lang, "python"))

    wired = [language, picker.provider, picker.model, *inputs]
    quiet = {"api_visibility": "private", "show_progress": "hidden"}
    button.click(show, wired, [panel, code], **quiet)
    language.change(show, wired, [panel, code], **quiet)
    close.click(lambda: gr.update(visible=False), None, panel, queue=False, **quiet)
    return button
