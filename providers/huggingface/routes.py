"""Where Hugging Face requests go: the Inference Providers router's URL layouts and a self-hosted TGI's.

The router (`HF_ROUTER_URL`, default `https://router.huggingface.co`) serves:

- chat and vision: `POST {router}/v1/chat/completions`, OpenAI-style, with `model` as
  `org/name` (the router picks a provider) or `org/name:provider` (`:together`,
  `:hf-inference`, or a policy such as `:fastest`);
- the hf-inference task routes: `POST {router}/hf-inference/models/{id}` with
  `{"inputs", "parameters"}`: raw text generation (`"stream": true` answers TGI's
  `data:` token stream) and text-to-image (`Accept: image/png`, image bytes back);
- other providers' task routes, `{router}/{provider}/...`, each with its own payload.

huggingface_hub 2 has no setting for the router's host (`constants.INFERENCE_PROXY_TEMPLATE`
is fixed; `HF_INFERENCE_ENDPOINT` is the retired serverless host), so the adapter builds
the chat and hf-inference URLs itself and hands them to the client as `base_url` or as
a URL model (the client's documented way to target an endpoint). Other providers' image
routes are built by huggingface_hub, at its fixed host only.

A self-hosted server (`HF_INFERENCE_BASE_URL`) serves chat at `{base}/v1/chat/completions`
(TGI, vLLM, any OpenAI-compatible server), raw text generation at TGI's
`POST {base}/generate_stream`, and text-to-image at `{base}/models/{id}` (the
hf-inference task layout). See docs/huggingface.md.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import quote

from ..settings import HuggingFaceSettings
from .models import ServedBy

DEFAULT_ROUTER = "https://router.huggingface.co"
HF_INFERENCE = "hf-inference"
#: Routing policies the router accepts in place of a provider name.
POLICIES = frozenset({"auto", "fastest", "cheapest", "preferred"})
#: Mapping tasks under which hf-inference serves a model that its text-generation route can run.
RAW_TASKS = frozenset({"text-generation", "conversational"})
IMAGE_TASKS = frozenset({"text-to-image"})


def router_url() -> str:
    """The Inference Providers router (HF_ROUTER_URL, default https://router.huggingface.co)."""
    return (HuggingFaceSettings.current().router_url or DEFAULT_ROUTER).rstrip("/")


def custom_base_url() -> str | None:
    """The operator's own server (HF_INFERENCE_BASE_URL), or None for the router."""
    return HuggingFaceSettings.current().base_url.rstrip("/") or None


def split_model(model: str) -> tuple[str, str | None]:
    """A router model id `org/name[:provider]` as (Hub id, provider or policy or None)."""
    hub_id, _, suffix = model.partition(":")
    return hub_id, suffix or None


def wanted_provider(model: str) -> str:
    """The provider asked for: the id's suffix, else HF_INFERENCE_PROVIDER (default `auto`)."""
    return split_model(model)[1] or HuggingFaceSettings.current().provider.lower()


def router_chat_model(model: str) -> str:
    """The `model` of a router chat request: the id as typed, or with HF_INFERENCE_PROVIDER as its suffix."""
    provider = wanted_provider(model)
    if split_model(model)[1] or provider == "auto":
        return model
    return f"{model}:{provider}"


def pick_provider(served: tuple[ServedBy, ...], tasks: Collection[str], wanted: str) -> str | None:
    """The first provider serving one of `tasks` (only `wanted` unless it is a policy); None if none does."""
    for entry in served:
        if entry.task in tasks and (wanted in POLICIES or entry.provider == wanted):
            return entry.provider
    return None


def _model_path(model: str) -> str:
    return quote(model, safe="/")


def hf_inference_url(router: str, hub_id: str) -> str:
    """The router's hf-inference task route for a model."""
    return f"{router}/{HF_INFERENCE}/models/{_model_path(hub_id)}"


def task_url(base: str, model: str) -> str:
    """A self-hosted server's task route in the hf-inference layout (text-to-image)."""
    return f"{base}/models/{_model_path(model)}"


def tgi_stream_url(base: str) -> str:
    """TGI's streaming text-generation route (a base given with its OpenAI `/v1` suffix is taken without it)."""
    root = base[:-3] if base.endswith("/v1") else base
    return f"{root}/generate_stream"
