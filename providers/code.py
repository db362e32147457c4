"""How a provider's requests are written as code ("View code"): each adapter declares a `CodeTarget`.

The target names the public client that reaches the service (`client`: a key of the snippet
builders in `playground.snippets`), where requests go and which environment variable holds
the key; never a credential itself. Gradio Spaces and this app's own API declare the calls
to make (`GradioCall`), with images as `ImageFile` placeholders that each language writes as
its client expects (a data URL read from a file, or a file upload).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: huggingface_hub's InferenceClient (JavaScript: @huggingface/inference): the router or a self-hosted server.
HUGGINGFACE = "huggingface"
#: The `openai` client against an OpenAI-compatible server.
OPENAI = "openai"
#: A Gradio Space through gradio_client.
SPACE = "space"
#: This app's own API (/chat, /vision, /image) through gradio_client: providers with no public client.
PLAYGROUND = "playground"


@dataclass(frozen=True)
class ImageFile:
    """The n-th image of the conversation (from 1), saved next to the snippet as `name`."""

    number: int
    mime: str = "image/jpeg"

    @property
    def name(self) -> str:
        suffix = {"image/png": "png", "image/webp": "webp", "image/gif": "gif"}.get(self.mime, "jpg")
        return f"image-{self.number}.{suffix}"


@dataclass(frozen=True)
class PreviousOutput:
    """The first output of the previous call in a chain (e.g. the history a first step returns)."""


@dataclass(frozen=True)
class GradioCall:
    """One endpoint call: `arguments` by parameter name, in the endpoint's order."""

    api_name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class CodeTarget:
    """Where and how "View code" sends a request (see the module docstring)."""

    client: str = PLAYGROUND
    #: The router's or server's base URL, a Space's id or URL, or "" for this app (the page's own address).
    base_url: str = ""
    #: The environment variable holding the key ("" when none is used).
    key_env: str = ""
    #: True when requests fail without the key; otherwise a placeholder (or nothing) is sent without it.
    key_required: bool = False
    #: The request header carrying the key to this app's own API (e.g. x-hf-token).
    key_header: str = ""
    #: The model as sent (a router `:provider` suffix included; a task route's URL for a URL model).
    model: str = ""
    #: huggingface_hub's routing provider for a provider-routed call (None: the base URL or URL model).
    routing: str | None = None
    #: Gradio calls, made in order on one session (Spaces and this app).
    calls: tuple[GradioCall, ...] = field(default_factory=tuple)
