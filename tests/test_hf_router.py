"""The Hugging Face adapter on its production path: the Inference Providers router's own layouts over HTTP.

HF_ROUTER_URL points the router at a local server (trusted for the token through
HF_TRUSTED_HOSTS) and HF_ENDPOINT points the Hub API there; HF_INFERENCE_BASE_URL is unset,
so nothing switches to the self-hosted branch.
"""

from __future__ import annotations

import pytest

from providers import (
    AuthRequiredError,
    ChatRequest,
    ImageRequest,
    Message,
    ModelNotSupportedError,
    NotConfiguredError,
    PaymentRequiredError,
    RateLimitedError,
    Status,
    TextDelta,
    Visitor,
)
from providers.huggingface.provider import HuggingFaceProvider
from providers.huggingface.routes import DEFAULT_ROUTER
from tests.support.hf_server import HfServer
from tests.support.servers import serving

TOKEN = "hf_routerVisitorTokenCCCC3333"


@pytest.fixture(scope="module")
def hf_server():
    with serving(HfServer(slow_seconds=3.0)) as server:
        yield server


@pytest.fixture
def router(hf_server, monkeypatch):
    """The local server as the router (HF_ROUTER_URL) and the Hub (HF_ENDPOINT); no custom server."""
    hf_server.reset()
    monkeypatch.setenv("HF_ROUTER_URL", hf_server.url)
    monkeypatch.setenv("HF_ENDPOINT", hf_server.url)
    monkeypatch.setenv("HF_TRUSTED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("HF_INFERENCE_TIMEOUT", "5")
    monkeypatch.setenv("HF_LOADING_MAX_WAIT", "5")
    for name in ("HF_INFERENCE_BASE_URL", "HF_TOKEN", "HF_INFERENCE_API", "HF_INFERENCE_API_KEY",
                 "HF_INFERENCE_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    return hf_server


@pytest.fixture
async def provider():
    provider = HuggingFaceProvider()
    yield provider
    await provider._pool.aclose()


def visitor(token: str | None = TOKEN) -> Visitor:
    return Visitor(session_id="router", hf_token=token)


async def chat(provider, model: str, *messages: Message, **kwargs) -> list:
    request = ChatRequest(list(messages) or [Message("user", "hi there")], model, **kwargs)
    return [event async for event in provider.chat(request, visitor())]


def text_of(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def posts(server: HfServer) -> list[str]:
    return [r.path for r in server.requests if r.method == "POST"]


# -- chat: {router}/v1/chat/completions --------------------------------------------------------------------
async def test_chat_goes_to_the_routers_chat_completions_with_the_hub_id(router, provider):
    events = await chat(provider, "local/chat-model")
    assert text_of(events) == "Hello from local/chat-model: hi there"
    assert posts(router) == ["/v1/chat/completions"]
    call = router.calls("/v1/chat/completions")[0]
    assert (call.body["model"], call.body["stream"], call.authorization) == ("local/chat-model", True, f"Bearer {TOKEN}")
    assert not any("expand" in r.query for r in router.requests)  # the router picks the provider itself


async def test_the_routing_provider_travels_as_the_model_suffix(router, provider, monkeypatch):
    monkeypatch.setenv("HF_INFERENCE_PROVIDER", "together")
    await chat(provider, "local/chat-model")
    await chat(provider, "local/chat-model:fastest")  # a typed suffix wins
    assert [r.body["model"] for r in router.calls("/v1/chat")] == ["local/chat-model:together",
                                                                   "local/chat-model:fastest"]


@pytest.mark.parametrize("name, error", [
    ("status-401", AuthRequiredError),
    ("status-402", PaymentRequiredError),
    ("status-400", ModelNotSupportedError),  # the router's "not supported by any provider"
    ("status-404", ModelNotSupportedError),
    ("status-429", RateLimitedError),
])
async def test_router_error_bodies_are_typed(router, provider, name, error):
    events = []
    with pytest.raises(error) as info:
        async for event in provider.chat(ChatRequest([Message("user", "x")], f"local/{name}"), visitor()):
            events.append(event)
    assert events == [] and str(info.value).startswith("Hugging Face: ")
    assert "{" not in str(info.value) and "'message'" not in str(info.value)  # the server's words, not a repr


async def test_a_loading_model_is_retried_on_the_router(router, provider):
    events = await chat(provider, "local/loading-1")
    assert [e.text for e in events if isinstance(e, Status)] == ["model loading, retrying in 1 s"]
    assert text_of(events) == "Hello from local/loading-1: hi there"


async def test_continue_through_the_router_sends_no_server_specific_fields(router, provider):
    """The router's providers differ (some refuse unknown fields): the trailing answer goes as it is."""
    events = await chat(provider, "local/chat-model", Message("user", "hi there"),
                        Message("assistant", "Hello from"), continue_last=True)
    body = router.calls("/v1/chat")[0].body
    assert "continue_final_message" not in body and body["messages"][-1] == {"role": "assistant",
                                                                            "content": "Hello from"}
    assert text_of(events) == "Hello from local/chat-model: Hello from"  # this server starts a new turn


# -- raw text generation: the hf-inference task route ----------------------------------------------------------
async def test_raw_mode_uses_the_hf_inference_route_after_the_provider_mapping(router, provider, monkeypatch):
    monkeypatch.setenv("HF_INFERENCE_API", "text-generation")
    events = await chat(provider, "local/echo-prompt", Message("user", "hello"))
    assert text_of(events).endswith("hello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
    assert posts(router) == ["/hf-inference/models/local/echo-prompt"]
    call = router.calls("/hf-inference/")[0]
    assert call.body["stream"] is True and call.authorization == f"Bearer {TOKEN}"
    lookups = [r for r in router.calls("/api/models/local/echo-prompt") if "expand" in r.query]
    assert [r.query["expand"] for r in lookups] == ["inferenceProviderMapping"]
    assert set(router.authorizations("/api/")) == {None}  # the Hub gets no token


async def test_a_base_model_streams_raw_through_the_router_on_its_own(router, provider):
    events = await chat(provider, "local/base-model")
    assert text_of(events) == "Raw answer from local/base-model"
    assert posts(router) == ["/hf-inference/models/local/base-model"]


async def test_raw_mode_refuses_a_model_hf_inference_does_not_serve(router, provider):
    with pytest.raises(ModelNotSupportedError, match="hf-inference does not serve 'local/together-base'"):
        await chat(provider, "local/together-base")
    with pytest.raises(ModelNotSupportedError, match="goes through hf-inference only, not together"):
        await chat(provider, "local/base-model:together")
    assert posts(router) == []


# -- text-to-image -------------------------------------------------------------------------------------------
async def test_images_use_the_hf_inference_route_when_it_serves_the_model(router, provider):
    result = await provider.generate_image(ImageRequest("a cat", "local/image-model", width=96, height=64, seed=3),
                                           visitor())
    assert (result.width, result.height, result.seed) == (96, 64, 3)
    assert posts(router) == ["/hf-inference/models/local/image-model"]
    call = router.calls("/hf-inference/")[0]
    assert call.body["inputs"] == "a cat" and call.authorization == f"Bearer {TOKEN}"


async def test_image_providers_are_chosen_from_the_mapping(router, provider, monkeypatch):
    with pytest.raises(NotConfiguredError, match="fal-ai's image route is only reachable at"):
        await provider.generate_image(ImageRequest("x", "local/fal-image"), visitor())
    monkeypatch.setenv("HF_INFERENCE_PROVIDER", "together")
    with pytest.raises(ModelNotSupportedError, match="It is served by fal-ai, hf-inference"):
        await provider.generate_image(ImageRequest("x", "local/image-model"), visitor())
    assert posts(router) == []


# -- where the token may go ------------------------------------------------------------------------------------
async def test_an_untrusted_router_host_gets_no_token_and_no_request(router, provider, monkeypatch):
    monkeypatch.delenv("HF_TRUSTED_HOSTS")
    with pytest.raises(NotConfiguredError, match="HF_ROUTER_URL is not a Hugging Face host"):
        await chat(provider, "local/chat-model")
    with pytest.raises(NotConfiguredError):
        await provider.generate_image(ImageRequest("x", "local/image-model"), visitor())
    assert router.requests == []


async def test_without_a_token_nothing_is_sent(router, provider):
    with pytest.raises(AuthRequiredError):
        async for _ in provider.chat(ChatRequest([Message("user", "x")], "local/chat-model"), visitor(None)):
            pass
    assert router.requests == []


def test_the_default_router_endpoint_hides_the_token(monkeypatch):
    for name in ("HF_INFERENCE_BASE_URL", "HF_ROUTER_URL"):
        monkeypatch.delenv(name, raising=False)
    endpoint = HuggingFaceProvider().endpoint(visitor())
    assert (endpoint.base_url, endpoint.router, endpoint.api_key) == (DEFAULT_ROUTER, True, TOKEN)
    assert TOKEN not in repr(endpoint)
