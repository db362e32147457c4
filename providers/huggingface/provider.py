"""Hugging Face Inference: text and vision chat, text-to-image, raw TGI text generation.

Requests go through `AsyncInferenceClient` to the Inference Providers router
(`HF_ROUTER_URL`), or to `HF_INFERENCE_BASE_URL` (a self-hosted TGI, vLLM or
OpenAI-compatible server); `hf_routes` holds both URL layouts. Chat goes to the
router's `/v1/chat/completions` (`model` or `model:provider`); raw text generation and
text-to-image go to the router's hf-inference task route when the Hub's provider
mapping says hf-inference serves the model, text-to-image through another provider
via huggingface_hub's own routing; a self-hosted server gets TGI's `/generate_stream`.
Continue in chat mode asks a self-hosted server for `continue_final_message`; through the
router the trailing assistant message is sent as is (providers differ in what they do
with it), while raw mode reopens the answer in the prompt.

The visitor's token wins over the operator's `HF_TOKEN`; a Hugging Face token only ever
goes to Hugging Face's hosts (see `credentials`), other servers get `HF_INFERENCE_API_KEY`
or a placeholder; on a public Space the operator's token serves anonymous visitors only
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

from ..base import Capability, ChatRequest, ImageRequest, ImageResult
from ..code import HUGGINGFACE, CodeTarget
from ..credentials import HF_TOKEN, shared_credentials_allowed
from ..errors import AuthRequiredError, ModelNotSupportedError, NotConfiguredError, ProtocolError, UnavailableError
from ..events import ChatEvent, Finish, Status, TextDelta
from ..inference.base import InferenceClientProvider, request_timeout
from ..inference.clients import NO_KEY, Endpoint
from ..inference.errors import CLIENT_ERRORS, TOKENS_URL, Hints
from ..media import returned_image
from ..model_ids import hub_model_id, server_model_id, shown
from ..session import Visitor
from ..settings import HuggingFaceSettings
from .models import HubCatalog, ListQuery, hub_endpoint
from .prompt_formats import build_prompt, choose_format
from .routes import (
    DEFAULT_ROUTER,
    HF_INFERENCE,
    IMAGE_TASKS,
    POLICIES,
    RAW_TASKS,
    custom_base_url,
    hf_inference_url,
    pick_provider,
    router_chat_model,
    router_url,
    split_model,
    task_url,
    tgi_stream_url,
    wanted_provider,
)

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
    supports_continue = True  # raw mode reopens the answer; chat mode: continue_final_message on own servers
    supports_structured_output = True  # chat mode's `response_format`; raw text generation refuses it
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
        if custom_base_url():
            return server_model_id(name, self.label)
        return hub_model_id(name, self.label)

    def needs_credential(self) -> bool:
        """A Hugging Face token is needed for Hugging Face's hosts (the router among them), never for a
        self-hosted server."""
        return HF_TOKEN.may_go_to(custom_base_url())

    def endpoint(self, visitor: Visitor) -> Endpoint:
        """The router with the visitor's (or shared) HF token, or the self-hosted server with its own key."""
        base_url = custom_base_url()
        router = base_url is None
        if router:
            base_url = router_url()
            if not HF_TOKEN.may_go_to(base_url):
                raise NotConfiguredError(self.label, "HF_ROUTER_URL is not a Hugging Face host",
                                         hint="List its host in HF_TRUSTED_HOSTS to send Hugging Face tokens there")
        if HF_TOKEN.may_go_to(base_url):  # the credential's own declaration decides where it may go
            token = HF_TOKEN.value_for(visitor)
            if not token:
                hint = NO_TOKEN_HINT if shared_credentials_allowed() else NO_SHARED_TOKEN_HINT
                raise AuthRequiredError(self.label, "no Hugging Face token", hint=hint, credential=HF_TOKEN.label,
                                        sent=False)
            key = token
        else:  # a self-hosted server: never the HF token
            key = HuggingFaceSettings.current().api_key or NO_KEY
        return Endpoint(base_url, key, None, request_timeout(), router=router)

    def hints(self, model: str) -> Hints:
        self_hosted = not HF_TOKEN.may_go_to(custom_base_url())
        return Hints(
            auth=("Check HF_INFERENCE_API_KEY for this server" if self_hosted
                  else f"Check your Hugging Face token, or create one at {TOKENS_URL}"),
            payment="Your Hugging Face credits are used up: see https://huggingface.co/settings/billing",
            credential="" if self_hosted else HF_TOKEN.label,
            gated_url=f"{hub_endpoint()}/{split_model(model)[0]}",
            gone=("This server no longer offers that API; the old api-inference.huggingface.co host was "
                  "retired: leave HF_INFERENCE_BASE_URL unset to use the Inference Providers router"),
        )

    async def _serving_provider(self, model: str, tasks: frozenset[str], what: str, *,
                                only: str | None = None) -> str:
        """The provider that serves `model` for `what` on the router, from the Hub's provider mapping.

        The id's `:provider` suffix or HF_INFERENCE_PROVIDER names one; a policy (`auto`,
        `fastest`...) takes the first the mapping lists. `only` restricts the choice to the
        one provider whose route the caller can use. When the Hub cannot say, the wanted
        provider (else `only`, else hf-inference) is tried and the router's answer decides.
        """
        hub_id = split_model(model)[0]
        wanted = wanted_provider(model)
        if only and wanted not in POLICIES and wanted != only:
            raise ModelNotSupportedError(self.label, f"{what} goes through {only} only, not {wanted}",
                                         hint=f"Drop the :{wanted} suffix or set HF_INFERENCE_PROVIDER=auto")
        served = await self.catalog.served_by(hub_id)
        if served is None:
            return only or (wanted if wanted not in POLICIES else HF_INFERENCE)
        provider = pick_provider(served, tasks, only or wanted)
        if provider is not None:
            return provider
        others = sorted({entry.provider for entry in served if entry.task in tasks})
        detail = f"no Inference Provider serves {shown(hub_id)} for {what}"
        if only:
            detail = f"{only} does not serve {shown(hub_id)} for {what}"
        hint = (f"It is served by {', '.join(others)}" if others and not only
                else "Pick a chat model, or point HF_INFERENCE_BASE_URL at your own TGI server" if only
                else "Pick another model")
        raise ModelNotSupportedError(self.label, detail, hint=hint)

    async def _warm_routing(self, endpoint: Endpoint, model: str) -> None:
        """Resolve huggingface_hub's own provider mapping off the event loop (provider-routed calls only).

        When the library routes a call itself (`base_url` None), it looks up which providers
        serve the model with a blocking Hub call (cached per process) inside its async
        methods; doing it first in a thread keeps the event loop free.
        """
        if endpoint.base_url:
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
        if await self._use_raw_mode(request, model):
            if request.response_format is not None:
                raise ModelNotSupportedError(self.label, "structured output needs a chat model, and this one "
                                             "only generates raw text", hint="Pick a chat model")
            stream = self._raw_chat(endpoint, request, model)
        elif endpoint.router:
            stream = self.stream_chat(endpoint, request, router_chat_model(model))
        else:
            stream = self.stream_chat(endpoint, request, model, continue_final=True)
        async for event in stream:
            yield event

    async def _use_raw_mode(self, request: ChatRequest, model: str) -> bool:
        if request.capability is Capability.VISION:
            return False
        if HuggingFaceSettings.current().api.lower() == "text-generation":
            return True
        return not (await self.catalog.info(split_model(model)[0])).is_chat_model

    async def _raw_target(self, endpoint: Endpoint, model: str) -> str:
        """TGI's `/generate_stream` on a self-hosted server; the hf-inference task route on the router."""
        assert endpoint.base_url is not None
        if not endpoint.router:
            return tgi_stream_url(endpoint.base_url)
        await self._serving_provider(model, RAW_TASKS, "raw text generation", only=HF_INFERENCE)
        return hf_inference_url(endpoint.base_url, split_model(model)[0])

    async def _raw_chat(self, endpoint: Endpoint, request: ChatRequest, model: str) -> AsyncIterator[ChatEvent]:
        """TGI's token stream: a prompt built in the model's format, tokens until a special one."""
        target = await self._raw_target(endpoint, model)
        info = await self.catalog.info(split_model(model)[0])
        fmt = choose_format(model, info.model_type, info.eos_token)
        prompt = build_prompt(fmt, [(m.role, m.text) for m in request.messages], system=request.system_prompt,
                              continue_last=request.continue_last)
        max_new = request.max_tokens
        cap = _MAX_NEW_TOKENS.get(info.model_type)
        if cap and (max_new is None or max_new > cap):
            max_new = cap

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
    async def _image_route(self, endpoint: Endpoint, model: str) -> tuple[Endpoint, str]:
        """Where a text-to-image request goes, and the model target to hand the client."""
        assert endpoint.base_url is not None
        if not endpoint.router:
            return endpoint, task_url(endpoint.base_url, model)
        hub_id = split_model(model)[0]
        provider = await self._serving_provider(model, IMAGE_TASKS, "text-to-image")
        if provider == HF_INFERENCE:
            return endpoint, hf_inference_url(endpoint.base_url, hub_id)
        if endpoint.base_url != DEFAULT_ROUTER:
            raise NotConfiguredError(self.label, f"{provider}'s image route is only reachable at {DEFAULT_ROUTER}",
                                     hint="huggingface_hub builds it; unset HF_ROUTER_URL or pick a model "
                                          "hf-inference serves")
        routed = Endpoint(None, endpoint.api_key, provider, endpoint.timeout, router=True)
        await self._warm_routing(routed, hub_id)
        return routed, hub_id

    # -- View code ---------------------------------------------------------------------------
    async def code_target(self, request: ChatRequest | ImageRequest) -> CodeTarget:
        """The router (or the self-hosted server) as `chat`/`generate_image` reach it, with the key's variable."""
        base = custom_base_url()
        where = base or router_url()
        hf = HF_TOKEN.may_go_to(where)
        key = {"key_env": "HF_TOKEN" if hf else "HF_INFERENCE_API_KEY", "key_required": hf}
        image = isinstance(request, ImageRequest)
        capability = Capability.IMAGE if image else request.capability
        model = self.check_model_id(request.model or self.default_model(capability))
        if image:
            endpoint, target = await self._image_route(Endpoint(where, "", router=base is None), model)
            return CodeTarget(HUGGINGFACE, base_url=endpoint.base_url or "", model=target,
                              routing=endpoint.provider, **key)
        return CodeTarget(HUGGINGFACE, base_url=where, model=model if base else router_chat_model(model), **key)

    # -- images -----------------------------------------------------------------------------
    async def generate_image(self, request: ImageRequest, visitor: Visitor) -> ImageResult:
        endpoint = self.endpoint(visitor)
        model = self.check_model_id(request.model or self.default_model(Capability.IMAGE))
        endpoint, target = await self._image_route(endpoint, model)
        seed = request.resolved_seed()
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
