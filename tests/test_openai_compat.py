"""The OpenAI-compatible provider with the real AsyncInferenceClient against a local server."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from providers import (
    AuthRequiredError,
    Capability,
    ChatRequest,
    Finish,
    Message,
    NotConfiguredError,
    ProtocolError,
    TextDelta,
    UnavailableError,
    Visitor,
)
from playground.structured import check_answer
from providers.base import ResponseFormat
from providers.inference.openai_compat import OpenAICompatProvider
from providers.media import prepare_image
from tests.support.hf_server import HfServer
from tests.support.servers import free_port, serve_asgi

HF_TOKEN = "hf_mustNeverLeaveQQQQ9999"


@pytest.fixture(scope="module")
def compat_server():
    server = HfServer(slow_seconds=3.0)
    with serve_asgi(server.app) as url:
        server.url = url
        yield server


@pytest.fixture
def server(compat_server, monkeypatch):
    compat_server.requests.clear()
    monkeypatch.setenv("OPENAI_COMPAT_BASE_URL", compat_server.url + "/v1")
    monkeypatch.setenv("HF_INFERENCE_TIMEOUT", "1")
    monkeypatch.setenv("HF_TOKEN", HF_TOKEN)
    monkeypatch.setenv("HF_TRUSTED_HOSTS", "127.0.0.1")  # even a "trusted" host gets no HF token here
    for name in ("OPENAI_COMPAT_API_KEY", "OPENAI_COMPAT_MODELS"):
        monkeypatch.delenv(name, raising=False)
    return compat_server


@pytest.fixture
async def provider():
    provider = OpenAICompatProvider()
    yield provider
    await provider._pool.aclose()


def visitor() -> Visitor:
    return Visitor(session_id="s", hf_token=HF_TOKEN)


async def collect(provider, req: ChatRequest) -> list:
    return [event async for event in provider.chat(req, visitor())]


def text_of(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_absent_until_the_operator_sets_a_base_url(monkeypatch):
    monkeypatch.delenv("OPENAI_COMPAT_BASE_URL", raising=False)
    provider = OpenAICompatProvider()
    assert provider.is_configured() is False and provider.describe()["availability"] == "not_configured"
    assert await provider.list_models(Capability.TEXT) == []
    with pytest.raises(NotConfiguredError, match="OPENAI_COMPAT_BASE_URL"):
        await collect(provider, ChatRequest([Message("user", "hi")], "m"))


async def test_models_come_from_v1_models_with_its_own_key(server, provider, monkeypatch):
    monkeypatch.setenv("OPENAI_COMPAT_API_KEY", "sk-local-secret")
    assert provider.is_configured()
    assert provider.model_list(Capability.TEXT) == []
    assert await provider.list_models(Capability.TEXT) == ["served/model-a", "served/model-b"]
    assert provider.model_list(Capability.TEXT) == ["served/model-a", "served/model-b"]
    assert provider.default_model(Capability.TEXT) == "served/model-a"
    assert server.authorizations("/v1/models") == ["Bearer sk-local-secret"]


async def test_model_list_falls_back_to_the_setting(server, provider, monkeypatch):
    monkeypatch.setenv("OPENAI_COMPAT_BASE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("OPENAI_COMPAT_MODELS", "llama3.2, qwen2.5")
    assert await provider.list_models(Capability.TEXT) == ["llama3.2", "qwen2.5"]


async def test_chat_streams_and_never_sends_the_hf_token(server, provider, monkeypatch):
    events = await collect(provider, ChatRequest([Message("user", "hello you")], "served/model-b",
                                                 temperature=0.2, max_tokens=20))
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hello", " from", " served/model-b:",
                                                                      " hello", " you"]
    assert events[-1] == Finish("stop")
    assert server.authorizations("/v1/chat") == ["Bearer no-key"]
    monkeypatch.setenv("OPENAI_COMPAT_API_KEY", "sk-local-secret")
    await collect(provider, ChatRequest([Message("user", "x")], "served/model-b"))
    assert server.authorizations("/v1/chat")[-1] == "Bearer sk-local-secret"
    assert all(HF_TOKEN not in (r.authorization or "") for r in server.requests)


async def test_empty_model_uses_the_servers_first_model(server, provider):
    events = await collect(provider, ChatRequest([Message("user", "hey")], ""))
    assert text_of(events) == "Hello from served/model-a: hey"


async def test_vision_sends_images_as_data_urls(server, provider):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(buffer, format="PNG")
    image = prepare_image(buffer.getvalue())
    request = ChatRequest([Message("user", "describe", [image])], "served/model-a", capability=Capability.VISION)
    assert text_of(await collect(provider, request)) == "I got 1 image(s) about describe"
    parts = server.calls("/v1/chat")[0].body["messages"][0]["content"]
    assert parts[1] == {"type": "image_url", "image_url": {"url": image.data_url()}}


async def test_vision_defaults_to_a_vision_model(server, provider, monkeypatch):
    monkeypatch.delenv("OPENAI_COMPAT_VISION_MODEL", raising=False)
    monkeypatch.setattr(server, "openai_models", ["served/text-only", "served/Qwen2.5-VL-3B", "served/llava-x"])
    assert provider.default_model(Capability.VISION) == "Qwen/Qwen2.5-VL-7B-Instruct"  # list unknown: the setting
    await provider.list_models(Capability.VISION)
    assert provider.default_model(Capability.TEXT) == "served/text-only"
    assert provider.default_model(Capability.VISION) == "served/Qwen2.5-VL-3B"  # the setting's model is absent
    monkeypatch.setenv("OPENAI_COMPAT_VISION_MODEL", "served/llava-x")
    assert provider.default_model(Capability.VISION) == "served/llava-x"  # listed: the operator's choice

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    request = ChatRequest([Message("user", "what?", [prepare_image(buffer.getvalue())])], "",
                          capability=Capability.VISION)
    assert text_of(await collect(provider, request)) == "I got 1 image(s) about what?"
    assert server.calls("/v1/chat")[-1].body["model"] == "served/llava-x"  # an empty model: the vision default


async def test_vision_default_without_a_vision_model_listed(server, provider, monkeypatch):
    monkeypatch.setenv("OPENAI_COMPAT_VISION_MODEL", "my/vision-model")
    monkeypatch.setattr(server, "openai_models", ["served/model-a", "served/model-b"])
    await provider.list_models(Capability.VISION)
    assert provider.default_model(Capability.VISION) == "my/vision-model"  # never a text model by default


@pytest.mark.parametrize("model, error, words, partial", [
    ("status-401", AuthRequiredError, "OPENAI_COMPAT_API_KEY", []),
    ("malformed", ProtocolError, "malformed line", ["Hello", " from"]),
    ("cut", UnavailableError, "dropped mid-answer", ["Hello", " from"]),
    ("slow-start", UnavailableError, "timed out", []),
])
async def test_failures_are_clear_and_keep_partial_answers(server, provider, model, error, words, partial):
    events = []
    with pytest.raises(error) as info:
        async for event in provider.chat(ChatRequest([Message("user", "q")], model), visitor()):
            events.append(event)
    assert words in str(info.value) and str(info.value).startswith("OpenAI-compatible server: ")
    assert [e.text for e in events] == partial


# -- structured output ------------------------------------------------------------------------------
PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                                           "tags": {"type": "array", "items": {"type": "string"}}},
          "required": ["name", "age"]}


async def test_a_json_schema_goes_as_response_format_and_the_answer_follows_it(server, provider):
    fmt = ResponseFormat(schema=PERSON)
    events = await collect(provider, ChatRequest([Message("user", "who?")], "served/model-a", response_format=fmt))
    assert server.calls("/v1/chat")[-1].body["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "answer", "schema": PERSON}}
    checked = check_answer(text_of(events), fmt)
    assert checked.matches and checked.verdict() == "Matches the JSON schema"
    assert checked.value == {"name": "Hello from served/model-a", "age": 1, "tags": ["Hello from served/model-a"]}


async def test_json_mode_asks_for_a_json_object(server, provider):
    events = await collect(provider, ChatRequest([Message("user", "hi")], "served/model-a",
                                                 response_format=ResponseFormat()))
    assert server.calls("/v1/chat")[-1].body["response_format"] == {"type": "json_object"}
    assert check_answer(text_of(events), ResponseFormat()).verdict() == "Valid JSON"


@pytest.mark.parametrize("model, verdict", [
    ("served/json-mismatch", "Does not match the JSON schema: $: missing required property 'name'; "
                             "$: missing required property 'age'; $.tags: expected array, got object"),
    ("served/json-broken", "Not valid JSON: Expecting value (line 1, column 1)"),
])
async def test_an_answer_off_the_schema_is_told_apart(server, provider, model, verdict):
    fmt = ResponseFormat(schema=PERSON)
    checked = check_answer(text_of(await collect(provider, ChatRequest([Message("user", "who?")], model,
                                                                       response_format=fmt))), fmt)
    assert not checked.matches and checked.verdict() == verdict


async def test_without_structured_output_no_response_format_is_sent(server, provider):
    await collect(provider, ChatRequest([Message("user", "hi")], "served/model-a"))
    assert "response_format" not in server.calls("/v1/chat")[-1].body
    assert provider.supports_structured_output and provider.describe()["structured_output"] is True
