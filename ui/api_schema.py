"""The JSON parameters of the public API, with real JSON schemas (for /view_api, gradio_client and MCP).

`gr.JSON` declares no type for its value (`{"type": {}}`, which MCP clients cannot read), so each
JSON input states what it takes. `/vision`'s images are such a JSON input too: Gradio's list of
files refers to `#/$defs/FileData` from inside the parameter, which MCP's argument check cannot
resolve (every MCP vision call failed with "PointerToNowhere"), and Gradio's MCP server does not
turn strings inside a list into uploads.
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
#: `/vision`'s images: uploaded files (gradio_client's `handle_file`), or images as data: URLs (what MCP
#: callers send). Written without Gradio's FileData marker, so Gradio's MCP server passes the strings on
#: as they are (it cannot convert strings inside a list into uploads) and never fetches a link.
IMAGES: dict[str, Any] = {"type": "array", "items": {"anyOf": [
    {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"],
     "description": "an uploaded file (gradio_client: handle_file(path))"},
    {"type": "string", "description": "an image as a data: URL (data:image/png;base64,...)"},
]}}
#: A JSON schema, as an object or as its text.
JSON_SCHEMA: dict[str, Any] = {"anyOf": [{"type": "object"}, {"type": "string"}]}


def typed_json(label: str, schema: dict[str, Any]) -> gr.JSON:
    """A JSON input (for hidden API components) whose API type is `schema`."""
    component = gr.JSON(label=label)
    component.api_info_as_input = lambda: schema  # read when Gradio builds the config and the API info
    return component
