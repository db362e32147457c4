"""The JSON parameters of the public API, with real JSON schemas (for /view_api, gradio_client and MCP).

`gr.JSON` declares no type for its value (`{"type": {}}`, which MCP clients cannot read), so each
JSON input states what it takes.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

_CONTENT = {"anyOf": [
    {"type": "string"},
    {"type": "array", "items": {"type": "object"},
     "description": 'parts: {"type": "text", "text": ...} or {"type": "file", "file": {"path": ...}}'},
]}
_MESSAGE = {"type": "object", "properties": {"role": {"type": "string", "enum": ["user", "assistant"]},
                                             "content": _CONTENT},
            "required": ["role", "content"]}
#: A conversation: a list of messages, or one user message as plain text.
MESSAGES: dict[str, Any] = {"anyOf": [{"type": "string"}, {"type": "array", "items": _MESSAGE}]}
#: Earlier turns (no plain-text form).
HISTORY: dict[str, Any] = {"type": "array", "items": _MESSAGE}
#: Compare's targets.
TARGETS: dict[str, Any] = {"type": "array", "items": {
    "type": "object", "properties": {"provider": {"type": "string"}, "model": {"type": "string"},
                                     "history": HISTORY},
    "required": ["provider"]}}
#: A JSON schema, as an object or as its text.
JSON_SCHEMA: dict[str, Any] = {"anyOf": [{"type": "object"}, {"type": "string"}]}


def typed_json(label: str, schema: dict[str, Any]) -> gr.JSON:
    """A JSON input (for hidden API components) whose API type is `schema`."""
    component = gr.JSON(label=label)
    component.api_info_as_input = lambda: schema  # read when Gradio builds the config and the API info
    return component
