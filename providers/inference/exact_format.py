"""Sending `response_format` exactly as the OpenAI chat API takes it, through `AsyncInferenceClient`.

For a custom base URL (the router, a self-hosted server) huggingface_hub rewrites a `json_schema`
response format into TGI's old `{"type": "json_object", "value": schema}`, which OpenAI-compatible
servers (vLLM, llama.cpp, Ollama) and the router's providers read as plain JSON mode: the schema is
dropped. So the wanted format travels as JSON text in a body field of its own (`structured_fields`,
through `extra_body`, which the library passes on untouched) and `ExactFormatClient` puts it in
place as `response_format` just before the request is sent.
"""

from __future__ import annotations

import json
from typing import Any

from huggingface_hub import AsyncInferenceClient

from ..base import ChatRequest

#: The body field carrying the wanted `response_format` (JSON text, so no library step edits it).
FIELD = "x_playground_response_format"


def structured_fields(request: ChatRequest) -> dict[str, Any]:
    """The extra body field asking for the request's structured output, or none."""
    if request.response_format is None:
        return {}
    return {FIELD: json.dumps(request.response_format.openai())}


class ExactFormatClient(AsyncInferenceClient):
    """`AsyncInferenceClient` whose requests carry `FIELD`'s format as their `response_format`."""

    async def _inner_post(self, request_parameters: Any, *, stream: bool = False) -> Any:
        body = request_parameters.json
        if isinstance(body, dict) and FIELD in body:
            body["response_format"] = json.loads(body.pop(FIELD))
        return await super()._inner_post(request_parameters, stream=stream)
