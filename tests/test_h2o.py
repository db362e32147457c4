"""The H2o adapter against a local h2oGPT chat-ui server, and through the app's /chat."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from providers import (
    AuthRequiredError,
    Capability,
    ChatRequest,
    Finish,
    Message,
    ModelNotSupportedError,
    RateLimitedError,
    Registry,
    TextDelta,
    UnavailableError,
    Visitor,
)
from providers.h2o import H2oProvider, format_prompt
from tests.support.h2o_server import H2oState, create_app
from tests.support.servers import free_port, launch_blocks, serve_asgi
from ui.app import build_demo
from ui.config import AppSettings

MODEL = "h2oai/h2ogpt-gm-oasst1-en-2048-falcon-40b-v1"


@pytest.fixture(scope="module")
def server():
    state = H2oState()
    with serve_asgi(create_app(state)) as url:
        yield url, state


@pytest.fixture
def h2o(server, monkeypatch):
    url, state = server
    state.reset()
    monkeypatch.setenv("H2O_URL", url)
    return H2oProvider(), state


def _request(text: str, **kwargs) -> ChatRequest:
    return ChatRequest(messages=[Message("user", text)], model=MODEL, **kwargs)


async def _collect(provider, request, visitor=None):
    events = []
    error = None
    try:
        async for event in provider.chat(request, visitor or Visitor("v1")):
            events.append(event)
    except Exception as exc:  # noqa: BLE001 - the tests inspect it
        error = exc
    return "".join(e.text for e in events if isinstance(e, TextDelta)), events, error


async def test_streams_tokens_and_deletes_the_conversation(h2o):
    provider, state = h2o
    text, events, error = await _collect(provider, _request("hello there", temperature=0.2, max_tokens=50))
    assert error is None
    assert text == "You said: hello there"
    assert events[-1] == Finish("stop")
    assert state.settings[0]["activeModel"] == MODEL
    assert state.settings[0]["ethicsModalAccepted"] == "true"
    sent = state.sends[0]
    assert sent["stream"] is True
    assert sent["parameters"]["temperature"] == 0.2 and sent["parameters"]["max_new_tokens"] == 50
    assert sent["options"]["id"] != sent["options"]["response_id"]
    assert state.deleted == state.created and len(state.created) == 1
    assert not state.conversations


async def test_each_turn_has_its_own_session(h2o):
    provider, state = h2o
    await _collect(provider, _request("one"))
    await _collect(provider, _request("two"))
    assert len(set(state.sessions)) == 2


def test_prompt_carries_system_prompt_and_history():
    request = ChatRequest(messages=[Message("user", "hi"), Message("assistant", "hello"), Message("user", "again")],
                          model=MODEL, system_prompt="be brief")
    assert format_prompt(request) == "system: be brief\nuser: hi\nassistant: hello\nuser: again\nassistant:"


@pytest.mark.parametrize("directive, error_type", [
    ("#401", AuthRequiredError), ("#429", RateLimitedError), ("#503", UnavailableError),
])
async def test_http_errors_are_typed_and_the_conversation_is_deleted(h2o, directive, error_type):
    provider, state = h2o
    text, _, error = await _collect(provider, _request(f"please {directive}"))
    assert type(error) is error_type and error.provider == "H2o"
    assert text == ""
    if directive == "#429":
        assert error.retry_after == 7
    assert state.deleted == state.created and len(state.created) == 1


async def test_unknown_model_is_refused_before_a_conversation_exists(h2o, monkeypatch):
    provider, state = h2o
    request = _request("hi")
    request.model = "no/such-model"
    _, _, error = await _collect(provider, request)
    assert isinstance(error, ModelNotSupportedError) and "not found" in str(error)
    assert state.created == [] and state.deleted == []


async def test_malformed_lines_are_skipped_and_logged(h2o, caplog):
    provider, state = h2o
    with caplog.at_level(logging.WARNING, logger="providers.http"):
        text, _, error = await _collect(provider, _request("odd #malformed stream"))
    assert error is None
    assert text == "You said: odd #malformed stream"
    assert sum("malformed" in r.getMessage() for r in caplog.records) == 5  # one per word
    assert state.deleted == state.created


async def test_an_error_line_keeps_the_partial_answer(h2o):
    provider, state = h2o
    text, _, error = await _collect(provider, _request("boom #error"))
    assert text == "You"
    assert isinstance(error, UnavailableError) and "CUDA out of memory" in str(error)
    assert state.deleted == state.created and len(state.created) == 1


async def test_a_cut_stream_keeps_the_partial_answer_and_deletes(h2o):
    provider, state = h2o
    text, _, error = await _collect(provider, _request("cut me #cut"))
    assert text == "You said:"
    assert isinstance(error, UnavailableError) and "dropped" in str(error)
    assert state.deleted == state.created and len(state.created) == 1


async def test_stop_by_closing_the_stream_deletes(h2o):
    provider, state = h2o
    stream = provider.chat(_request("a long answer please"), Visitor("v1"))
    first = await stream.__anext__()
    assert first == TextDelta("You")
    assert state.deleted == []
    await stream.aclose()
    assert state.deleted == state.created and len(state.created) == 1


async def test_stop_by_cancelling_the_task_deletes(h2o):
    provider, state = h2o
    first_token = asyncio.Event()

    async def consume():
        async for _ in provider.chat(_request("wait #hang"), Visitor("v1")):
            first_token.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_token.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert state.deleted == state.created and len(state.created) == 1


async def test_a_read_timeout_is_reported_and_deletes(h2o, monkeypatch):
    provider, state = h2o
    monkeypatch.setenv("PROVIDER_READ_TIMEOUT", "0.3")
    text, _, error = await _collect(provider, _request("wait #hang"))
    assert text == "You"
    assert isinstance(error, UnavailableError) and "timed out" in str(error)
    assert state.deleted == state.created and len(state.created) == 1


async def test_a_slow_delete_does_not_hold_the_answer(h2o, monkeypatch, caplog):
    provider, state = h2o
    state.delete_delay = 1.5
    monkeypatch.setenv("H2O_DELETE_TIMEOUT", "0.2")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="providers.h2o"):
        text, _, error = await _collect(provider, _request("quick"))
    assert error is None and text == "You said: quick"
    assert time.monotonic() - started < 1.2
    assert state.deleted == state.created
    assert any("could not delete" in r.getMessage() for r in caplog.records)


async def test_an_unreachable_server_is_reported(monkeypatch):
    monkeypatch.setenv("H2O_URL", f"http://127.0.0.1:{free_port()}")
    _, _, error = await _collect(H2oProvider(), _request("hi"))
    assert isinstance(error, UnavailableError) and "could not connect" in str(error)


def test_not_working_unless_a_server_is_configured(monkeypatch):
    monkeypatch.delenv("H2O_URL", raising=False)
    provider = H2oProvider()
    assert provider.describe()["availability"] == "gone" and "H2O_URL" in provider.note
    assert provider.base_url() == "https://gpt-gm.h2o.ai"
    monkeypatch.setenv("H2O_URL", "http://127.0.0.1:9/")
    assert provider.availability().ready and provider.base_url() == "http://127.0.0.1:9"
    monkeypatch.setenv("H2O_MODELS", "a/b, c/d")
    assert provider.model_list(Capability.TEXT) == ["a/b", "c/d"]
    assert provider.default_model(Capability.TEXT) == "a/b"


def test_chat_endpoint_end_to_end(h2o):
    _, state = h2o
    demo = build_demo(Registry([H2oProvider()]), AppSettings.from_env())
    with launch_blocks(demo) as url:
        client = Client(url, verbose=False)
        try:
            listing = client.predict(api_name="/providers")
            assert listing[0]["id"] == "h2o" and listing[0]["availability"] == "ready"
            reply = client.predict(messages=[{"role": "user", "content": "hi from the api"}], provider="h2o",
                                   model="", system_prompt="", temperature=0.7, max_tokens=100, top_p=0.9,
                                   api_name="/chat")
            assert reply == "You said: hi from the api"
            with pytest.raises(AppError, match="H2o is busy \\(rate limited\\): try again in 7 s"):
                client.predict(messages=[{"role": "user", "content": "#429"}], provider="h2o", model="",
                               system_prompt="", temperature=0.7, max_tokens=100, top_p=0.9, api_name="/chat")
        finally:
            client.close()
    assert len(state.created) == 2 and state.deleted == state.created
