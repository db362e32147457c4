"""Hugging Face Inference: text and vision chat, text-to-image, raw TGI text generation.

Requests go through `AsyncInferenceClient` to the Inference Providers router, or to
`HF_INFERENCE_BASE_URL` (any OpenAI-compatible or TGI server). The visitor's token
wins over the operator's `HF_TOKEN`; a Hugging Face token only ever goes to Hugging
Face's hosts (see `credentials`), other servers get `HF_INFERENCE_API_KEY` or a
placeholder; on a public Space the operator's token serves anonymous visitors only
with `ALLOW_SHARED_CREDENTIALS=1`. Typed model ids are checked before any network
call (`model_ids`): the Hub's owner/name grammar for the router, a server model
name for a custom server; neither can ever become an address.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

from huggingface_hub import AsyncInferenceClient, TextGenerationStreamOutput
from PIL import Image, UnidentifiedImageError

from .base import Capability, ChatRequest, ImageRequest, ImageResult
from .config import env_str
from .errors import AuthRequiredError, ProtocolError, UnavailableError
from .events import ChatEvent, Finish, Status, TextDelta
from .credentials import HF_TOKEN, hf_token_for, is_hf_host, shared_credentials_allowed
from .hf_clients import NO_KEY, Endpoint
from .hf_errors import CLIENT_ERRORS, TOKENS_URL, Hints
from .hf_models import HubCatalog, ListQuery, hub_endpoint
from .inference import InferenceClientProvider, request_timeout
from .media import returned_image
from .model_ids import hub_model_id, server_model_id, shown
from .prompt_formats import build_prompt, choose_format
from .session import Visitor

logger = logging.getLogger(__name__)

TEXT_MODELS = [
    "meta-llama/Llama-3.3-70B-Instruct",
    "Qwen/Qwen2.5-72B-Instruct",
    "openai/gpt-oss-120b",
    "deepseek-ai/DeepSeek-V3-0324",
    "Qwen/Qwen3-32B",
    "meta-llama/Llama-3.1-8B-Instruct",
    "mistralai/Mistral-7B-Instruct-v0.3",
]
VISION_MODELS = [
    "Qwen/Qwen2.5-VL-7B-Instruct",
    "meta-llama/Llama-4-Scout-17B-16E-Instruct",
    "google/gemma-3-27b-it",
    "Qwen/Qwen2.5-VL-72B-Instruct",
]
IMAGE_MODELS = [
    "black-forest-labs/FLUX.1-schnell",
    "black-forest-labs/FLUX.1-dev",
    "stabilityai/stable-diffusion-xl-base-1.0",
    "Qwen/Qwen-Image",
]

#: The Hub listings behind each capability (the seed's trending filters).
LISTINGS = {
    Capability.TEXT: ListQuery((("inference", "warm"), ("pipeline_tag", "text-generation"),
                                ("sort", "trendingScore"), ("limit", "100")), min_trending=10),
    Capability.VISION: ListQuery((("inference", "warm"), ("pipeline_tag", "image-text-to-text"),
                                  ("sort", "trendingScore"), ("limit", "100")), min_trending=10),
    Capability.IMAGE: ListQuery((("inference", "warm"), ("pipeline_tag", "text-to-image"),
                                 ("sort", "trendingScore"), ("limit", "100")), min_trending=20),
}

NO_TOKEN_HINT = (f"Sign in with Hugging Face, paste a token in the settings, or ask the operator to set HF_TOKEN. "
                 f"Create a free token at {TOKENS_URL}")
NO_SHARED_TOKEN_HINT = (f"Sign in with Hugging Face or paste your own token in the settings "
                        f"(create a free one at {TOKENS_URL})")
#: Raw mode caps new tokens for small-context models (the seed's gpt2 limit).
_MAX_NEW_TOKENS = {"gpt2": 512}


class HuggingFaceProvider(InferenceClientProvider):
    id = "huggingface"
    label = "Hugging Face"
    url = "https://huggingface.co/inference/models"
    capabilities = frozenset({Capability.TEXT, Capability.VISION, Capability.IMAGE})
    models = {Capability.TEXT: TEXT_MODELS, Capability.VISION: VISION_MODELS, Capability.IMAGE: IMAGE_MODELS}
    accepts_any_model = True
    credential = HF_TOKEN
    supports_continue = True  # raw text-generation mode reopens the last answer; chat mode sends it as a prefix
    note = "Needs a Hugging Face token (sign in, paste one in the settings, or HF_TOKEN)."

    def __init__(self) -> None:
        super().__init__()
        self.catalog = HubCatalog(self.label)

    # -- models ---------------------------------------------------------------------
    async def list_models(self, capability: Capability) -> list[str]:
        builtin = self.model_list(capability)
        discovered = await self.catalog.models(LISTINGS[capability], builtin)
        return discovered + [m for m in builtin if m not in discovered]

    # -- where requests go -----------------------------------------------------------------
    def check_model_id(self, name: str) -> str:
        """The Hub's owner/name grammar through the router; a server's model name on a custom server."""
        if env_str("HF_INFERENCE_BASE_URL"):
            return server_model_id(name, self.label)
        return hub_model_id(name, self.label)

    def needs_credential(self) -> bool:
        """A Hugging Face token is needed for Hugging Face's hosts, never for a self-hosted server."""
        return is_hf_host(env_str("HF_INFERENCE_BASE_URL") or None)

    def endpoint(self, visitor: Visitor) -> Endpoint:
        base_url = env_str("HF_INFERENCE_BASE_URL").rstrip("/") or None
        if is_hf_host(base_url):
            token = hf_token_for(visitor.hf_token)
            if not token:
                hint = NO_TOKEN_HINT if shared_credentials_allowed() else NO_SHARED_TOKEN_HINT
                raise AuthRequiredError(self.label, "no Hugging Face token", hint=hint)
            key = token
        else:  # a self-hosted server: never the HF token
            key = env_str("HF_INFERENCE_API_KEY") or NO_KEY
        provider = None if base_url else env_str("HF_INFERENCE_PROVIDER", "auto")
        return Endpoint(base_url, key, provider, request_timeout())

    def hints(self, model: str) -> Hints:
        self_hosted = not is_hf_host(env_str("HF_INFERENCE_BASE_URL") or None)
        return Hints(
            auth=("Check HF_INFERENCE_API_KEY for this server" if self_hosted
                  else f"Check your Hugging Face token, or create one at {TOKENS_URL}"),
            payment="Your Hugging Face credits are used up: see https://huggingface.co/settings/billing",
            gated_url=f"{hub_endpoint()}/{model}",
            gone=("This server no longer offers that API; the old api-inference.huggingface.co host was "
                  "retired: leave HF_INFERENCE_BASE_URL unset to use the Inference Providers router"),
        )

    def _model_url(self, endpoint: Endpoint, model: str) -> str:
        """A task's model target: the model id (router), or `{base}/models/{id}` on a custom server."""
        return f"{endpoint.base_url}/models/{model}" if endpoint.base_url else model

    async def _warm_routing(self, endpoint: Endpoint, model: str, *, chat: bool = False) -> None:
        """Resolve the router's provider mapping off the event loop.

        Behind the router, huggingface_hub looks up which providers serve a model with a
        blocking Hub call (cached per process) inside its async methods; doing it first in
        a thread keeps the event loop free. Chat with provider "auto" needs no lookup.
        """
        if endpoint.base_url or (chat and endpoint.provider in (None, "auto")):
            return
        try:
            from huggingface_hub.inference._providers._common import _fetch_inference_provider_mapping
        except ImportError:  # a future huggingface_hub: let the client do it
            return
        try:
            await asyncio.to_thread(_fetch_inference_provider_mapping, model)
        except Exception:  # the client call itself reports the failure
            logger.debug("provider mapping lookup for %s failed", shown(model), exc_info=True)

    # -- chat -------------------------------------------------------------------------------
    async def chat(self, request: ChatRequest, visitor: Visitor) -> AsyncIterator[ChatEvent]:
        endpoint = self.endpoint(visitor)
        model = self.check_model_id(request.model or self.default_model(request.capability))
        raw = await self._use_raw_mode(request, model)
        await self._warm_routing(endpoint, model, chat=not raw)
        if raw:
            stream = self._raw_chat(endpoint, request, model)
        else:
            stream = self.stream_chat(endpoint, request, model)
        async for event in stream:
            yield event

    async def _use_raw_mode(self, request: ChatRequest, model: str) -> bool:
        if request.capability is Capability.VISION:
            return False
        if env_str("HF_INFERENCE_API", "chat").lower() == "text-generation":
            return True
        return not (await self.catalog.info(model)).is_chat_model

    async def _raw_chat(self, endpoint: Endpoint, request: ChatRequest, model: str) -> AsyncIterator[ChatEvent]:
        """TGI's legacy stream: a prompt built in the model's format, tokens until a special one."""
        info = await self.catalog.info(model)
        fmt = choose_format(model, info.model_type, info.eos_token)
        prompt = build_prompt(fmt, [(m.role, m.text) for m in request.messages], system=request.system_prompt,
                              continue_last=request.continue_last)
        max_new = request.max_tokens
        cap = _MAX_NEW_TOKENS.get(info.model_type)
        if cap and (max_new is None or max_new > cap):
            max_new = cap
        target = self._model_url(endpoint, model)

        def open_stream(client: AsyncInferenceClient):
            return client.text_generation(
                prompt, model=target, stream=True, details=True, return_full_text=False,
                max_new_tokens=max_new, top_p=request.top_p,
                temperature=request.temperature or None,  # TGI refuses 0: leave it to the server
                stop=list(fmt.stop) or None)

        def events(chunk: TextGenerationStreamOutput) -> Iterator[ChatEvent]:
            if chunk.token.special:  # an end-of-sequence token: a natural stop
                yield Finish("stop")
            elif chunk.token.text:
                yield TextDelta(chunk.token.text)

        async for event in self.stream_events(endpoint, model, open_stream, events, finish="length"):
            yield event

    # -- images -----------------------------------------------------------------------------
    async def generate_image(self, request: ImageRequest, visitor: Visitor) -> ImageResult:
        endpoint = self.endpoint(visitor)
        model = self.check_model_id(request.model or self.default_model(Capability.IMAGE))
        seed = request.resolved_seed()
        target = self._model_url(endpoint, model)
        await self._warm_routing(endpoint, model)
        async with self._pool.lease(endpoint) as client:
            async def call():
                return await client.text_to_image(
                    request.prompt, model=target, negative_prompt=request.negative_prompt or None,
                    width=request.width, height=request.height, num_inference_steps=request.steps,
                    guidance_scale=request.guidance, seed=seed)

            image = None
            try:
                async for item in self.retry_loading(call, model):
                    if isinstance(item, Status):
                        logger.info("%s: %s", shown(model), item.text)
                    else:
                        image = item
            except CLIENT_ERRORS as exc:
                raise self.error(exc, model) from exc
            except UnidentifiedImageError as exc:
                raise ProtocolError(self.label, "the service did not return an image") from exc
            except Image.DecompressionBombError as exc:  # huggingface_hub opens the header itself
                raise ProtocolError(self.label, "the service returned an image too large to decode") from exc
        if image is None:
            raise UnavailableError(self.label, "the service returned no image")
        try:  # the size is checked before the image is decoded, all of it in the image pool
            checked = await returned_image(image, self.label)
        except ValueError as exc:
            raise ProtocolError(self.label, "the service returned an image that could not be read") from exc
        return ImageResult(checked.data, model, seed, checked.width, checked.height, mime=checked.mime)
