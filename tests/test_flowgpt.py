"""The FlowGPT adapter against a local server that checks signatures, and through the app's /chat."""

from __future__ import annotations

import hashlib
import logging
import time

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from providers import (
    AuthRequiredError,
    Capability,
    ChatRequest,
    ForbiddenError,
    Message,
    ModelNotSupportedError,
    RateLimitedError,
    Registry,
    TextDelta,
    UnavailableError,
    Visitor,
)
from providers import flowgpt
from providers.flowgpt import FlowGptProvider, request_body
from tests.support.flowgpt_server import FlowGptState, create_app
from tests.support.servers import free_port, launch_blocks, serve_asgi
from ui.app import build_demo
from ui.config import AppSettings


@pytest.fixture(scope="module")
def server():
    state = FlowGptState()
    with serve_asgi(create_app(state)) as url:
        yield url, state


@pytest.fixture
def flow(server, monkeypatch):
    url, state = server
    state.reset()
    monkeypatch.setenv("FLOWGPT_URL", url)
    return FlowGptProvider(), state


def _request(text: str, model: str = "gpt-3.5-turbo", **kwargs) -> ChatRequest:
    return ChatRequest(messages=[Message("user", text)], model=model, **kwargs)


async def _collect(provider, request, visitor=None):
    events, error = [], None
    try:
        async for event in provider.chat(request, visitor or Visitor("v1")):
            events.append(event)
    except Exception as exc:  # noqa: BLE001 - the tests inspect it
        error = exc
    return "".join(e.text for e in events if isinstance(e, TextDelta)), events, error


async def test_signed_request_streams_text_events(flow):
    provider, state = flow
    text, _, error = await _collect(provider, _request("hello there", temperature=0.3))
    assert error is None
    assert text == "gpt-3.5-turbo says: hello there"
    assert state.refused == []
    sent = state.requests[0]
    assert sent["headers"]["authorization"] == "Bearer null"
    assert sent["headers"]["origin"] == "https://flowgpt.com"
    assert sent["body"]["promptId"] == "model-gpt-3.5-turbo" and sent["body"]["temperature"] == 0.3


async def test_device_id_is_kept_per_visitor(flow):
    provider, state = flow
    alice, bob = Visitor("alice"), Visitor("bob")
    for visitor in (alice, alice, bob):
        await _collect(provider, _request("hi"), visitor)
    devices = [r["headers"]["x-flow-device-id"] for r in state.requests]
    nonces = {r["headers"]["x-nonce"] for r in state.requests}
    assert devices[0] == devices[1] != devices[2]
    assert len(nonces) == 3


async def test_wrong_signature_is_refused(flow, monkeypatch):
    provider, state = flow
    good = provider.headers(Visitor("v1"))
    bad = {**good, "x-signature": hashlib.md5(b"something else").hexdigest()}
    async with httpx.AsyncClient(trust_env=False) as client:
        url = provider.base_url() + "/v3/chat-anonymous"
        body = request_body(_request("hi"))
        assert (await client.post(url, json=body, headers=bad)).status_code == 403
        stale = {**good, "x-timestamp": str(int(time.time()) - 3600)}
        stale["x-signature"] = flowgpt.sign(stale["x-timestamp"], stale["x-nonce"])
        assert (await client.post(url, json=body, headers=stale)).status_code == 403
        assert (await client.post(url, json=body, headers=good)).status_code == 200
    assert state.refused == ["invalid signature", "stale or missing timestamp"]
    # The adapter reports a refused signature as a clear error.
    monkeypatch.setattr(flowgpt, "sign", lambda timestamp, nonce, authorization="": "0" * 32)
    _, _, error = await _collect(provider, _request("hi"))
    assert isinstance(error, ForbiddenError) and "invalid signature" in str(error)


def test_body_carries_history_and_system():
    request = ChatRequest(
        messages=[Message("system", "rule one"), Message("user", "first"), Message("assistant", "answer"),
                  Message("user", "second")],
        model="claude-v2", system_prompt="be brief",
    )
    body = request_body(request)
    assert body["question"] == "second"
    assert body["history"] == [
        {"role": "assistant", "content": "Hello, how can I help you today?"},
        {"role": "user", "content": "first"}, {"role": "assistant", "content": "answer"},
    ]
    assert body["system"] == "be brief\nrule one"
    assert body["temperature"] == 0.7 and body["nsfw"] is False
    assert request_body(_request("x"))["system"] == flowgpt.DEFAULT_SYSTEM


def test_models_aliases_and_status(monkeypatch):
    monkeypatch.delenv("FLOWGPT_URL", raising=False)
    provider = FlowGptProvider()
    assert provider.get_model(Capability.TEXT, "gemini") == "google-gemini"
    assert provider.get_model(Capability.TEXT, "gemini-pro") == "google-gemini"
    assert provider.get_model(Capability.TEXT, "") == "gpt-3.5-turbo"
    assert len(provider.model_list(Capability.TEXT)) == 13
    with pytest.raises(ModelNotSupportedError):
        provider.get_model(Capability.TEXT, "gpt-17")
    assert provider.describe()["availability"] == "gone" and "FLOWGPT_URL" in provider.note
    monkeypatch.setenv("FLOWGPT_URL", "http://127.0.0.1:9")
    assert provider.availability().ready


@pytest.mark.parametrize("directive, error_type", [
    ("#401", AuthRequiredError), ("#429", RateLimitedError), ("#500", UnavailableError),
])
async def test_http_errors_are_typed(flow, directive, error_type):
    provider, _ = flow
    text, _, error = await _collect(provider, _request(f"x {directive}"))
    assert type(error) is error_type and error.provider == "FlowGPT" and text == ""
    if directive == "#429":
        assert error.retry_after == 3


async def test_malformed_lines_are_skipped_and_logged(flow, caplog):
    provider, _ = flow
    with caplog.at_level(logging.WARNING):
        text, _, error = await _collect(provider, _request("odd #malformed"))
    assert error is None and text == "gpt-3.5-turbo says: odd #malformed"
    messages = [r.getMessage() for r in caplog.records]
    assert sum("malformed line" in m for m in messages) == 4
    assert sum("not an object" in m for m in messages) == 4


async def test_a_cut_stream_keeps_the_partial_answer(flow):
    provider, _ = flow
    text, _, error = await _collect(provider, _request("cut #cut"))
    assert text == "gpt-3.5-turbo says:"
    assert isinstance(error, UnavailableError) and "dropped" in str(error)


async def test_a_read_timeout_is_reported(flow, monkeypatch):
    provider, _ = flow
    monkeypatch.setenv("PROVIDER_READ_TIMEOUT", "0.3")
    text, _, error = await _collect(provider, _request("wait #hang"))
    assert text == "gpt-3.5-turbo"
    assert isinstance(error, UnavailableError) and "timed out" in str(error)


async def test_an_unreachable_server_is_reported(monkeypatch):
    monkeypatch.setenv("FLOWGPT_URL", f"http://127.0.0.1:{free_port()}")
    _, _, error = await _collect(FlowGptProvider(), _request("hi"))
    assert isinstance(error, UnavailableError) and "could not connect" in str(error)


def test_chat_endpoint_end_to_end(flow):
    _, state = flow
    demo = build_demo(Registry([FlowGptProvider()]), AppSettings.from_env())
    with launch_blocks(demo) as url:
        client = Client(url, verbose=False)
        try:
            args = {"provider": "flowgpt", "system_prompt": "", "temperature": 0.7, "max_tokens": 100,
                    "top_p": 0.9, "api_name": "/chat"}
            reply = client.predict(messages=[{"role": "user", "content": "hi from the api"}], model="gemini",
                                   **args)
            assert reply == "google-gemini says: hi from the api"
            with pytest.raises(AppError, match="FlowGPT is having trouble \\(server error\\)"):
                client.predict(messages=[{"role": "user", "content": "#500"}], model="", **args)
        finally:
            client.close()
    assert len(state.requests) == 2 and state.refused == []
