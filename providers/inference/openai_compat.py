"""Any OpenAI-compatible server (Ollama, vLLM, llama.cpp server, LM Studio, TGI): text and vision chat.

Present when the operator sets `OPENAI_COMPAT_BASE_URL` (visitors cannot choose the
URL); `OPENAI_COMPAT_API_KEY` is its key (a placeholder otherwise; a Hugging Face
token is never sent here). Models come from the server's `/v1/models`, cached. Text
chat defaults to the first one; vision chat to `OPENAI_COMPAT_VISION_MODEL`, or, when
the known list lacks it, the first listed model whose id suggests vision.
Continue sends `continue_final_message` (see `inference`): vLLM and TGI extend the
last answer; servers that ignore the field answer it as a new turn. Structured output goes
as OpenAI's `response_format` (`json_object` or `json_schema`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import httpx

from ..base import Capability, ChatRequest
from ..cache import TTLCache
from ..code import OPENAI, CodeTarget
from ..errors import ModelNotSupportedError, NotConfiguredError
from ..events import ChatEvent
from ..http import request_json
from ..session import Visitor
from ..settings import HuggingFaceSettings, OpenAICompatSettings
from .base import InferenceClientProvider, request_timeout
from .clients import NO_KEY, Endpoint
from .errors import Hints

logger = logging.getLogger(__name__)

#: Model ids that suggest a vision model (Qwen2.5-VL, InternVL, Llama-3.2-Vision, LLaVA, Pixtral, Gemma 3…).
VISION_HINTS = re.compile(r"vl|vision|llava|pixtral|gemma-?3|multimodal|moondream|minicpm-v", re.IGNORECASE)


def _base_url() -> str:
    """The configured server without a trailing `/v1` (the client appends `/v1/chat/completions`)."""
    base = OpenAICompatSettings.current().base_url.rstrip("/")
    return base[:-3] if base.endswith("/v1") else base


class OpenAICompatProvider(InferenceClientProvider):
    id = "openai-compatible"
    label = "OpenAI-compatible server"
    capabilities = frozenset({Capability.TEXT, Capability.VISION})
    accepts_any_model = True
    note = "A server the operator configured with OPENAI_COMPAT_BASE_URL."
    listed_only_when_configured = True
    supports_continue = True  # through continue_final_message
    supports_structured_output = True  # `response_format` (vLLM, llama.cpp, Ollama and LM Studio honour it)

    def __init__(self) -> None:
        super().__init__()
        self._models: TTLCache[list[str]] = TTLCache(OpenAICompatSettings.current().models_ttl)

    def is_configured(self) -> bool:
        return bool(_base_url())

    # -- models ---------------------------------------------------------------------------
    def model_list(self, capability: Capability) -> list[str]:
        """The models last fetched from the server, else OPENAI_COMPAT_MODELS (no network)."""
        return list(self._models.peek(_base_url()) or OpenAICompatSettings.current().models)

    def default_model(self, capability: Capability) -> str:
        """Text: the first model known. Vision: OPENAI_COMPAT_VISION_MODEL, unless the known list lacks
        it and names a model that suggests vision (the first such one)."""
        models = self.model_list(capability)
        if capability is not Capability.VISION:
            return models[0] if models else ""
        configured = OpenAICompatSettings.current().vision_model
        if not models or configured in models:
            return configured
        return next((m for m in models if VISION_HINTS.search(m)), configured)

    async def list_models(self, capability: Capability) -> list[str]:
        base = _base_url()
        if not base:
            return []

        async def fetch() -> list[str]:
            data = await request_json(self.label, "GET", f"{base}/v1/models", headers=self._auth_headers(),
                                      timeout=httpx.Timeout(HuggingFaceSettings.current().hub_timeout))
            items = data.get("data") if isinstance(data, dict) else None
            ids = [str(m["id"]) for m in items or [] if isinstance(m, dict) and m.get("id")]
            if not ids:
                raise ValueError("the server lists no models")
            return ids

        return await self._models.get(base, fetch, list(OpenAICompatSettings.current().models))

    def _api_key(self) -> str:
        return OpenAICompatSettings.current().api_key or NO_KEY

    def _auth_headers(self) -> dict[str, str]:
        key = OpenAICompatSettings.current().api_key
        return {"Authorization": f"Bearer {key}"} if key else {}

    # -- chat -------------------------------------------------------------------------------
    def endpoint(self, visitor: Visitor) -> Endpoint:
        base = _base_url()
        if not base:
            raise NotConfiguredError(self.label, "OPENAI_COMPAT_BASE_URL is not set")
        return Endpoint(base, self._api_key(), None, request_timeout())

    def hints(self, model: str) -> Hints:
        return Hints(auth="Check OPENAI_COMPAT_API_KEY for this server")

    async def code_target(self, request: ChatRequest) -> CodeTarget:  # type: ignore[override]
        """The `openai` client on the configured server, with the model `chat` would send."""
        model = request.model
        if not model:
            await self.list_models(request.capability)
            model = self.default_model(request.capability)
        return CodeTarget(OPENAI, base_url=f"{_base_url()}/v1", key_env="OPENAI_COMPAT_API_KEY", model=model)

    async def chat(self, request: ChatRequest, visitor: Visitor) -> AsyncIterator[ChatEvent]:
        endpoint = self.endpoint(visitor)
        if not request.model:
            await self.list_models(request.capability)
        model = request.model or self.default_model(request.capability)
        if not model:
            raise ModelNotSupportedError(self.label, "no model chosen and the server lists none",
                                         hint="Type a model id, or set OPENAI_COMPAT_MODELS")
        if model not in self.model_list(request.capability):  # ids the server lists are its own
            model = self.check_model_id(model)
        async for event in self.stream_chat(endpoint, request, model, continue_final=True):
            yield event
