"""Each conversation keeps its provider, model and parameters.

A finished turn records the choices it was made with in its caption message's metadata `id`
(the one free-form field Gradio keeps with a message, on the page and in the browser's saved
conversations) as "choices:{json}". Reopening a conversation (a reload, or picking it from the
history list) puts them back in the pickers and parameter controls, so the next question goes
to the same model with the same settings.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import gradio as gr

from .deeplink import DeepLink
from .pickers import ModelPicker

logger = logging.getLogger(__name__)

PREFIX = "choices:"
#: The turn parameters a conversation remembers (besides provider and model), as `stream_turn` names them
#: (or its `remember` extras: the structured-output mode and schema as the visitor typed them).
REMEMBERED = ("system_prompt", "temperature", "max_tokens", "top_p", "web_search", "structured_output",
              "json_schema")
#: Texts left out, longest first, while a record is longer than MAX_RECORD_CHARS (rather than bloat every caption).
DROPPABLE = ("system_prompt", "json_schema")
MAX_RECORD_CHARS = 4000


def record(provider_id: str, model: str, params: dict[str, Any]) -> str:
    """The metadata id recording a turn's choices."""
    choices: dict[str, Any] = {"provider": provider_id, "model": model}
    choices.update({k: params[k] for k in REMEMBERED if params.get(k) is not None})
    text = json.dumps(choices, separators=(",", ":"))
    for name in sorted(DROPPABLE, key=lambda key: -len(str(choices.get(key) or ""))):
        if len(text) <= MAX_RECORD_CHARS:
            break
        choices.pop(name, None)
        text = json.dumps(choices, separators=(",", ":"))
    return PREFIX + text


def choices_of(conversation: list | None) -> dict[str, Any] | None:
    """The choices of the conversation's last finished turn, or None when no turn recorded any."""
    for entry in reversed(conversation or []):
        metadata = (entry.get("metadata") if isinstance(entry, dict) else getattr(entry, "metadata", None)) or {}
        marker = metadata.get("id")
        if isinstance(marker, str) and marker.startswith(PREFIX):
            try:
                choices = json.loads(marker[len(PREFIX):])
            except ValueError:
                continue
            if isinstance(choices, dict) and isinstance(choices.get("provider"), str):
                return choices
    return None


class ConversationMemory:
    """Puts a conversation's recorded choices back into one tab's picker and parameter controls."""

    def __init__(self, tab: str, picker: ModelPicker, controls: dict[str, gr.components.Component]) -> None:
        self.tab = tab
        self.picker = picker
        self.controls = {name: control for name, control in controls.items() if name in REMEMBERED}

    @property
    def outputs(self) -> list[gr.components.Component]:
        return [self.picker.provider, self.picker.model, *self.controls.values()]

    def unchanged(self) -> list[dict]:
        return [gr.update() for _ in self.outputs]

    async def restore(self, conversation: list | None) -> list[dict]:
        """Updates selecting the conversation's provider, model and parameters (nothing when it has none)."""
        choices = choices_of(conversation)
        if choices is None:
            return self.unchanged()
        provider, model = await self.picker.choose(choices.get("provider"), str(choices.get("model") or ""))
        updates = [provider, model]
        for name, control in self.controls.items():
            value = choices.get(name)
            updates.append(gr.update(value=value) if value is not None else gr.update())
        return updates

    async def restore_unless_linked(self, conversation: list | None, request: gr.Request | None) -> list[dict]:
        """As `restore`, except when the page was opened by a link choosing this tab's provider or model."""
        link = DeepLink.from_query(dict(getattr(request, "query_params", None) or {}))
        if (link.tab or "text") == self.tab and (link.provider or link.model):
            return self.unchanged()
        return await self.restore(conversation)
