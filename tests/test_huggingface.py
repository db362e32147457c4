"""The Hugging Face adapter with the real AsyncInferenceClient against a local server.

Most tests point HF_INFERENCE_BASE_URL at the server (a self-hosted TGI / OpenAI-compatible
server); tests/test_hf_router.py covers the router's own layouts.
"""

from __future__ import annotations

import asyncio
import io

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from providers import (
    AuthRequiredError,
    BadRequestError,
    Capability,
    ChatRequest,
    Finish,
    ForbiddenError,
    ImageRequest,
    Message,
    ModelNotSupportedError,
    PaymentRequiredError,
    ProtocolError,
    RateLimitedError,
    Registry,
    Status,
    TextDelta,
    UnavailableError,
    Visitor,
)
from providers.credentials import is_hf_host
from providers.errors import GoneError
from providers.huggingface.prompt_formats import CHATML, LLAMA3, MISTRAL, PLAIN, build_prompt, choose_format
from providers.huggingface.provider import TEXT_MODELS, HuggingFaceProvider
from providers.inference.openai_compat import OpenAICompatProvider
from providers.media import prepare_image
from tests.support.hf_server import HfServer
from tests.support.servers import free_port, launch_blocks, serving
from ui.app import build_demo
from ui.config import AppSettings

VISITOR_TOKEN = "hf_visitorTokenAAAA1111"
OPERATOR_TOKEN = "hf_operatorTokenBBBB2222"


@pytest.fixture(scope="module")
def hf_server():
    with serving(HfServer(slow_seconds=3.0)) as server:
        yield server


@pytest.fixture
def server(hf_server, monkeypatch):
    """The local server as HF_INFERENCE_BASE_URL and HF_ENDPOINT, trusted as Hugging Face's."""
    hf_server.reset()
    monkeypatch.setenv("HF_INFERENCE_BASE_URL", hf_server.url)
    monkeypatch.setenv("HF_ENDPOINT", hf_server.url)
    monkeypatch.setenv("HF_TRUSTED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("HF_INFERENCE_TIMEOUT", "1")
    monkeypatch.setenv("HF_LOADING_MAX_WAIT", "2")
    for name in ("HF_TOKEN", "HF_INFERENCE_API", "HF_INFERENCE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return hf_server


@pytest.fixture
async def provider():
    provider = HuggingFaceProvider()
    yield provider
    await provider._pool.aclose()


def visitor(token: str | None = VISITOR_TOKEN) -> Visitor:
    return Visitor(session_id="s", hf_token=token)


def request(text: str = "hi there", model: str = "local/chat-model", **kwargs) -> ChatRequest:
    return ChatRequest(messages=[Message("user", text)], model=model, **kwargs)


async def collect(provider, req: ChatRequest, who: Visitor | None = None) -> list:
    return [event async for event in provider.chat(req, who or visitor())]


async def collect_until_error(provider, req: ChatRequest) -> tuple[list, Exception]:
    events = []
    with pytest.raises(Exception) as info:
        async for event in provider.chat(req, visitor()):
            events.append(event)
    return events, info.value


def text_of(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def png(size=(64, 48), colour=(200, 10, 10)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


# -- chat ---------------------------------------------------------------------------------------------
async def test_chat_streams_token_by_token_with_parameters(server, provider):
    events = await collect(provider, request(system_prompt="be nice", temperature=0.3, max_tokens=50, top_p=0.9))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert deltas == ["Hello", " from", " local/chat-model:", " hi", " there"]
    assert events[-1] == Finish("stop")
    body = server.calls("/v1/chat/completions")[0].body
    assert body["messages"] == [{"role": "system", "content": "be nice"}, {"role": "user", "content": "hi there"}]
    assert (body["model"], body["temperature"], body["max_tokens"], body["top_p"], body["stream"]) == (
        "local/chat-model", 0.3, 50, 0.9, True)


async def test_visitor_token_wins_over_operator_token(server, provider, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", OPERATOR_TOKEN)
    await collect(provider, request(), visitor(VISITOR_TOKEN))
    await collect(provider, request(), visitor(None))
    assert server.authorizations("/v1/") == [f"Bearer {VISITOR_TOKEN}", f"Bearer {OPERATOR_TOKEN}"]


async def test_without_any_token_the_user_is_told_how_to_get_one(server, provider):
    with pytest.raises(AuthRequiredError) as info:
        await collect(provider, request(), visitor(None))
    assert "https://huggingface.co/settings/tokens" in str(info.value)
    with pytest.raises(AuthRequiredError):
        await provider.generate_image(ImageRequest("x", "local/image-model"), visitor(None))
    assert server.calls("/v1/") == [] and server.calls("/models/") == []


async def test_hf_token_never_reaches_a_non_hugging_face_host(server, provider, monkeypatch):
    monkeypatch.delenv("HF_TRUSTED_HOSTS")
    monkeypatch.setenv("HF_TOKEN", OPERATOR_TOKEN)
    await collect(provider, request())
    await provider.generate_image(ImageRequest("x", "local/image-model", width=256, height=256), visitor())
    monkeypatch.setenv("HF_INFERENCE_API", "text-generation")
    await collect(provider, request())
    assert len(server.requests) >= 3
    assert all("hf_" not in (r.authorization or "") for r in server.requests)
    inference = server.authorizations("/v1/") + server.authorizations("/models/") + server.authorizations("/generate")
    assert len(inference) == 3 and set(inference) == {"Bearer no-key"}
    assert set(server.authorizations("/api/")) == {None}  # Hub metadata goes without a token

    monkeypatch.setenv("HF_INFERENCE_API_KEY", "sk-own-key-for-this-server")
    monkeypatch.delenv("HF_INFERENCE_API")
    server.requests.clear()
    await collect(provider, request())
    assert server.authorizations("/v1/") == ["Bearer sk-own-key-for-this-server"]


async def test_concurrent_sessions_each_send_their_own_token(server, provider):
    server.token_delay = 0.02  # the two streams overlap
    tokens = {f"session{i}": f"hf_sessionToken{i}XXXXXXXX" for i in range(2)}

    async def one(name: str):
        return text_of(await collect(provider, request(name), Visitor(session_id=name, hf_token=tokens[name])))

    replies = await asyncio.gather(*(one(name) for name in tokens))
    assert replies == [f"Hello from local/chat-model: {name}" for name in tokens]
    seen = {r.body["messages"][-1]["content"]: r.authorization for r in server.calls("/v1/chat")}
    assert seen == {name: f"Bearer {token}" for name, token in tokens.items()}


async def test_clients_are_reused_per_credential_and_bounded(server, monkeypatch):
    monkeypatch.setenv("HF_CLIENT_POOL_SIZE", "2")
    provider = HuggingFaceProvider()
    for _ in range(3):
        await collect(provider, request(), visitor("hf_sameTokenZZZZZZZ"))
    assert len(provider._pool) == 1
    for i in range(3):
        await collect(provider, request(), visitor(f"hf_otherToken{i}YYYYYY"))
    assert len(provider._pool) == 2
    await provider._pool.aclose()


async def test_any_model_id_may_be_typed(server, provider):
    assert provider.get_model(Capability.TEXT, "someone/brand-new-model") == "someone/brand-new-model"
    assert provider.get_model(Capability.TEXT, "") == TEXT_MODELS[0]


# -- vision -------------------------------------------------------------------------------------------------
async def test_vision_sends_data_urls_and_keeps_earlier_images(server, provider):
    first, second = prepare_image(png((64, 48))), prepare_image(png((32, 32), (0, 0, 255)))
    messages = [Message("user", "what is this?", [first]), Message("assistant", "a red box"),
                Message("user", "and this?", [second])]
    events = await collect(provider, ChatRequest(messages, "local/vision-model", capability=Capability.VISION))
    assert text_of(events) == "I got 2 image(s) about and this?"
    sent = server.calls("/v1/chat")[0].body["messages"]
    assert sent[0]["content"][0] == {"type": "text", "text": "what is this?"}
    urls = [p["image_url"]["url"] for m in sent if isinstance(m["content"], list)
            for p in m["content"] if p["type"] == "image_url"]
    assert urls == [first.data_url(), second.data_url()]
    assert urls[0].startswith("data:image/jpeg;base64,")


# -- text-to-image ---------------------------------------------------------------------------------------
async def test_image_parameters_and_seed_round_trip(server, provider):
    result = await provider.generate_image(
        ImageRequest("a cat", "local/image-model", negative_prompt="dogs", width=320, height=256, steps=4,
                     guidance=3.5, seed=42), visitor())
    with Image.open(io.BytesIO(result.data)) as image:
        assert image.size == (320, 256) and image.getpixel((0, 0)) == (42, 0, 7)
    assert (result.seed, result.width, result.height, result.model) == (42, 320, 256, "local/image-model")
    call = server.calls("/models/local/image-model")[0]
    assert call.body["inputs"] == "a cat"
    assert call.body["parameters"] == {"negative_prompt": "dogs", "width": 320, "height": 256,
                                       "num_inference_steps": 4, "guidance_scale": 3.5, "seed": 42}
    assert call.authorization == f"Bearer {VISITOR_TOKEN}"


async def test_random_seed_is_chosen_sent_and_reported(server, provider):
    result = await provider.generate_image(ImageRequest("x", "local/image-model", width=64, height=64, seed=-1),
                                           visitor())
    assert result.seed is not None and result.seed >= 0
    assert server.calls("/models/")[0].body["parameters"]["seed"] == result.seed


async def test_image_errors_are_typed(server, provider):
    with pytest.raises(PaymentRequiredError, match="credits"):
        await provider.generate_image(ImageRequest("x", "status-402"), visitor())


# -- failures --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model, error, words", [
    ("status-401", AuthRequiredError, ["token", "settings/tokens"]),
    ("status-402", PaymentRequiredError, ["credits", "billing"]),
    ("status-403", ForbiddenError, ["gated", "accept its terms", "/status-403"]),
    ("status-404", ModelNotSupportedError, ["unknown model 'status-404'"]),
    ("status-410", GoneError, ["no longer served", "HF_INFERENCE_BASE_URL"]),
    ("status-429", RateLimitedError, ["rate limited", "7 s"]),
    ("status-500", UnavailableError, ["service unavailable"]),
])
async def test_http_failures_have_clear_messages(server, provider, model, error, words):
    events, exc = await collect_until_error(provider, request(model=model))
    assert isinstance(exc, error) and events == []
    for word in words:
        assert word in str(exc)
    assert str(exc).startswith("Hugging Face: ")


async def test_model_loading_is_retried_while_the_user_sees_it(server, provider):
    events = await collect(provider, request(model="loading-2"))
    statuses = [e.text for e in events if isinstance(e, Status)]
    assert statuses == ["model loading, retrying in 1 s"] * 2
    assert text_of(events) == "Hello from loading-2: hi there"
    assert len(server.calls("/v1/chat")) == 3


async def test_model_loading_gives_up_after_the_bound(server, provider, monkeypatch):
    monkeypatch.setenv("HF_LOADING_MAX_WAIT", "0.3")
    events, exc = await collect_until_error(provider, request(model="status-503"))
    assert isinstance(exc, UnavailableError) and "did not finish loading" in str(exc)
    assert [e.text for e in events] == ["model loading, retrying in 1 s"]
    monkeypatch.setenv("HF_LOADING_MAX_WAIT", "0")
    events, exc = await collect_until_error(provider, request(model="status-503"))
    assert isinstance(exc, UnavailableError) and "still loading" in str(exc) and events == []


@pytest.mark.parametrize("model, error, words", [
    ("malformed", ProtocolError, "malformed line"),
    ("cut", UnavailableError, "dropped mid-answer"),
    ("slow-mid", UnavailableError, "timed out"),
    ("stream-error", UnavailableError, "overloaded"),
])
async def test_failures_mid_stream_keep_the_partial_answer(server, provider, model, error, words):
    events, exc = await collect_until_error(provider, request(model=model))
    assert isinstance(exc, error) and words in str(exc)
    assert [e.text for e in events] == ["Hello", " from"]


async def test_slow_server_times_out_and_unreachable_server_is_clear(server, provider, monkeypatch):
    events, exc = await collect_until_error(provider, request(model="slow-start"))
    assert isinstance(exc, UnavailableError) and "timed out" in str(exc) and events == []
    monkeypatch.setenv("HF_INFERENCE_BASE_URL", f"http://127.0.0.1:{free_port()}")
    events, exc = await collect_until_error(provider, request())
    assert isinstance(exc, UnavailableError) and "could not connect" in str(exc)


# -- raw text generation: TGI's own routes ------------------------------------------------------------------
async def test_raw_mode_streams_from_tgis_generate_stream_in_the_models_prompt_format(server, provider, monkeypatch):
    monkeypatch.setenv("HF_INFERENCE_API", "text-generation")
    events = await collect(provider, request("hello", model="local/echo-prompt", system_prompt="be brief"))
    assert text_of(events) == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nbe brief<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nhello<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n")
    assert events[-1] == Finish("stop")
    assert [r.path for r in server.requests if r.method == "POST"] == ["/generate_stream"]
    call = server.calls("/generate_stream")[0]
    assert call.body["stream"] is True and call.body["parameters"]["return_full_text"] is False
    assert call.authorization == f"Bearer {VISITOR_TOKEN}"


async def test_raw_mode_takes_a_base_url_given_with_v1(server, provider, monkeypatch):
    monkeypatch.setenv("HF_INFERENCE_API", "text-generation")
    monkeypatch.setenv("HF_INFERENCE_BASE_URL", server.url + "/v1")
    assert text_of(await collect(provider, request("x", model="local/echo-prompt"))).startswith("<|begin_of_text|>")
    assert len(server.calls("/generate_stream")) == 1


async def test_raw_mode_continue_extends_the_last_answer(server, provider, monkeypatch):
    monkeypatch.setenv("HF_INFERENCE_API", "text-generation")
    messages = [Message("user", "tell a story"), Message("assistant", "Once upon")]
    events = await collect(provider, ChatRequest(messages, "local/echo-prompt", continue_last=True))
    assert text_of(events).endswith("<|start_header_id|>assistant<|end_header_id|>\n\nOnce upon")


async def test_non_chat_models_use_raw_mode_automatically(server, provider):
    server.tgi_model = "local/base-model"
    events = await collect(provider, request(model="local/base-model"))
    assert text_of(events) == "Raw answer from local/base-model"
    assert server.calls("/v1/") == [] and len(server.calls("/generate_stream")) == 1
    prompt = server.calls("/generate_stream")[0].body["inputs"]
    assert prompt == "<|im_start|>user\nhi there\n<|im_end|>\n<|im_start|>assistant\n"  # ChatML from eos


@pytest.mark.parametrize("tgi_model, outcome", [
    ("tgi-length", Finish("length")),
    ("cut", (UnavailableError, "dropped mid-answer", ["Raw", " answer"])),
    ("stream-error", (UnavailableError, "overloaded", ["Raw", " answer"])),
    ("status-429", (UnavailableError, "overloaded", [])),
    ("status-422", (BadRequestError, "scripted 422", [])),
])
async def test_raw_mode_finish_reason_and_tgi_errors(server, provider, monkeypatch, tgi_model, outcome):
    """TGI's errors are `{"error", "error_type"}` bodies, before or inside the stream."""
    monkeypatch.setenv("HF_INFERENCE_API", "text-generation")
    server.tgi_model = tgi_model
    if isinstance(outcome, Finish):
        assert (await collect(provider, request(model="local/echo-prompt")))[-1] == outcome
        return
    error, words, partial = outcome
    events, exc = await collect_until_error(provider, request(model="local/echo-prompt"))
    assert isinstance(exc, error) and words in str(exc), exc
    assert [e.text for e in events] == partial


@pytest.mark.parametrize("model_id, model_type, eos, expected", [
    ("openai-community/gpt2", "gpt2", "<|endoftext|>", PLAIN),
    ("mistralai/Mistral-7B-Instruct-v0.3", "mistral", "</s>", MISTRAL),
    ("Qwen/Qwen2.5-7B", "qwen2", "<|im_end|>", CHATML),
    ("meta-llama/Llama-3.1-8B", "llama", "<|eot_id|>", LLAMA3),
    ("someone/llama-3-finetune", "", "", LLAMA3),
    ("someone/mystery", "", "", PLAIN),
])
def test_prompt_format_is_chosen_from_metadata(model_id, model_type, eos, expected):
    assert choose_format(model_id, model_type, eos) == expected


def test_prompt_formats_render_history_and_continue():
    turns = [("user", "Hi"), ("assistant", "Hello"), ("user", "Bye")]
    assert build_prompt(MISTRAL, turns, system="S") == "<s>[INST] S\n\nHi [/INST] Hello</s><s>[INST] Bye [/INST]"
    assert build_prompt(PLAIN, turns) == "User: Hi\nAssistant: Hello\nUser: Bye\nAssistant:"
    assert build_prompt(PLAIN, turns[:2], continue_last=True) == "User: Hi\nAssistant: Hello"
    tagged = choose_format("x/y", "", "</s>")
    assert build_prompt(tagged, turns[:1]) == "<|user|>\nHi</s>\n<|assistant|>\n"
    assert build_prompt(choose_format("x/y", "", "<｜end▁of▁sentence｜>"), turns[:2], continue_last=True) == (
        "<｜User｜>Hi<｜end▁of▁sentence｜><｜Assistant｜>Hello")


# -- discovery -----------------------------------------------------------------------------------------------------
async def test_model_lists_come_from_the_hub_filtered_and_cached(server, provider):
    text = await provider.list_models(Capability.TEXT)
    assert text[:2] == ["local/chat-model", "local/popular-chat"]
    assert "local/unpopular" not in text and text[2:] == TEXT_MODELS
    images = await provider.list_models(Capability.IMAGE)
    assert images[0] == "local/image-model" and "local/cold-image" not in images
    assert (await provider.list_models(Capability.VISION))[0] == "local/vision-model"
    listing = server.calls("/api/models")[0]
    assert listing.authorization is None
    calls = len(server.calls("/api/models"))
    assert await provider.list_models(Capability.TEXT) == text
    assert len(server.calls("/api/models")) == calls


async def test_model_lists_fall_back_to_built_ins(server, provider, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    assert await provider.list_models(Capability.TEXT) == TEXT_MODELS
    assert provider.model_list(Capability.TEXT) == TEXT_MODELS  # describe() never touches the network


def test_hugging_face_hosts(monkeypatch):
    monkeypatch.delenv("HF_TRUSTED_HOSTS", raising=False)
    assert is_hf_host(None) and is_hf_host("https://router.huggingface.co/v1")
    assert is_hf_host("https://me-space.hf.space") and is_hf_host("https://x.endpoints.huggingface.cloud")
    for url in ("http://127.0.0.1:8080", "https://huggingface.co.evil.com", "https://evilhuggingface.co",
                "https://api.openai.com/v1", "not a url"):
        assert not is_hf_host(url), url
    monkeypatch.setenv("HF_TRUSTED_HOSTS", "127.0.0.1, my-proxy.internal")
    assert is_hf_host("http://127.0.0.1:8080") and is_hf_host("https://my-proxy.internal/v1")


# -- end to end through the app ------------------------------------------------------------------------------------
def test_app_endpoints_end_to_end(server, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_COMPAT_BASE_URL", server.url + "/v1")
    demo = build_demo(Registry([HuggingFaceProvider(), OpenAICompatProvider()]), AppSettings.from_env())
    with launch_blocks(demo) as url:
        client = Client(url, verbose=False, headers={"x-hf-token": "hf_apiCallerToken1234"})
        try:
            listing = {p["id"]: p for p in client.predict(api_name="/providers")}
            assert listing["huggingface"]["capabilities"] == ["image", "text", "vision"]
            assert listing["huggingface"]["availability"] == "ready"  # the caller's x-hf-token counts
            assert listing["openai-compatible"]["availability"] == "ready"

            job = client.submit(messages=[{"role": "user", "content": "hi there"}], provider="huggingface",
                                model="local/chat-model", system_prompt="", temperature=0.7, max_tokens=64,
                                top_p=0.9, api_name="/chat")
            assert job.result(timeout=60) == "Hello from local/chat-model: hi there"
            assert server.calls("/v1/chat")[-1].authorization == "Bearer hf_apiCallerToken1234"

            dropped = r"Hugging Face stopped mid-answer \(the connection dropped\): try again"
            with pytest.raises(AppError, match=dropped):
                client.predict(messages=[{"role": "user", "content": "x"}], provider="huggingface", model="cut",
                               system_prompt="", temperature=0.7, max_tokens=64, top_p=0.9, api_name="/chat")

            path = tmp_path / "a.png"
            path.write_bytes(png())
            reply = client.predict(prompt="what?", images=[handle_file(str(path))], history=[],
                                   provider="huggingface", model="local/vision-model", temperature=0.5,
                                   max_tokens=64, api_name="/vision")
            assert reply == "I got 1 image(s) about what?"

            image_path, info = client.predict(prompt="a cat", provider="huggingface", model="local/image-model",
                                              negative_prompt="", width=256, height=256, steps=4, guidance=3.5,
                                              seed=7, api_name="/image")
            with Image.open(image_path) as image:
                assert image.size == (256, 256) and image.getpixel((0, 0)) == (7, 0, 7)
            assert (info["provider"], info["seed"]) == ("huggingface", 7)

            reply = client.predict(messages=[{"role": "user", "content": "yo"}], provider="openai-compatible",
                                   model="", system_prompt="", temperature=0.7, max_tokens=64, top_p=0.9,
                                   api_name="/chat")
            assert reply == "Hello from served/model-a: yo"
            assert server.calls("/v1/chat")[-1].authorization == "Bearer no-key"
        finally:
            client.close()
