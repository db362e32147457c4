"""Auto over a registry of real adapters aimed at local servers (and the fake provider)."""

from __future__ import annotations

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from providers import (
    Attribution,
    Capability,
    ChatRequest,
    Message,
    NotConfiguredError,
    Registry,
    Status,
    TextDelta,
    UnavailableError,
    Visitor,
)
from providers.auto import AllProvidersFailedError, AutoProvider
from providers.flowgpt import FlowGptProvider
from providers.h2o import H2oProvider
from tests.support import flowgpt_server, h2o_server
from tests.support.fake_provider import FakeProvider
from tests.support.servers import free_port, launch_blocks, serve_asgi
from ui.app import build_demo
from ui.config import AppSettings

H2O_MODEL = "h2oai/h2ogpt-gm-oasst1-en-2048-falcon-40b-v1"


@pytest.fixture(scope="module")
def servers():
    h2o_state, flow_state = h2o_server.H2oState(), flowgpt_server.FlowGptState()
    with serve_asgi(h2o_server.create_app(h2o_state)) as h2o_url, \
            serve_asgi(flowgpt_server.create_app(flow_state)) as flow_url:
        yield {"h2o": (h2o_url, h2o_state), "flowgpt": (flow_url, flow_state)}


@pytest.fixture
def setup(servers, monkeypatch):
    """A registry of Auto, H2o, FlowGPT and the fake provider; tried in the order h2o, flowgpt, fake."""
    for _, state in servers.values():
        state.reset()
    monkeypatch.setenv("H2O_URL", servers["h2o"][0])
    monkeypatch.setenv("FLOWGPT_URL", servers["flowgpt"][0])
    monkeypatch.setenv("AUTO_PROVIDERS", "h2o,flowgpt,fake")
    auto = AutoProvider()
    Registry([auto, H2oProvider(), FlowGptProvider(), FakeProvider()])
    return auto, servers["h2o"][1], servers["flowgpt"][1]


def _request(*texts: str) -> ChatRequest:
    roles = ["user", "assistant"]
    return ChatRequest(messages=[Message(roles[i % 2], t) for i, t in enumerate(texts)], model="auto")


async def _collect(provider, request):
    events, error = [], None
    try:
        async for event in provider.chat(request, Visitor("v1")):
            events.append(event)
    except Exception as exc:  # noqa: BLE001 - the tests inspect it
        error = exc
    return "".join(e.text for e in events if isinstance(e, TextDelta)), events, error


def answered_by(events: list) -> tuple[str, str] | None:
    """(provider label, model) from the Attribution event, which comes before any text."""
    found = [(i, e) for i, e in enumerate(events) if isinstance(e, Attribution)]
    if not found:
        return None
    (index, event), = found
    assert all(not isinstance(e, TextDelta) for e in events[:index])
    return event.provider, event.model


async def test_first_working_provider_answers_and_is_named(setup):
    auto, h2o_state, flow_state = setup
    text, events, error = await _collect(auto, _request("hello"))
    assert error is None
    assert text == "You said: hello"  # only the model's text: who answered is an event of its own
    assert answered_by(events) == ("H2o", H2O_MODEL)
    assert Status("Trying H2o…") in events
    assert flow_state.requests == []
    assert h2o_state.deleted == h2o_state.created and len(h2o_state.created) == 1


async def test_a_failing_first_provider_falls_through(setup):
    auto, h2o_state, flow_state = setup
    text, events, error = await _collect(auto, _request("please #h2o-503"))
    assert error is None
    assert text == "gpt-3.5-turbo says: please #h2o-503"
    assert answered_by(events) == ("FlowGPT", "gpt-3.5-turbo")
    assert [e.text for e in events if isinstance(e, Status)] == ["Trying H2o…", "Trying FlowGPT…"]
    assert h2o_state.deleted == h2o_state.created and len(h2o_state.created) == 1
    assert len(flow_state.requests) == 1


async def test_an_unreachable_provider_falls_through(setup, monkeypatch):
    auto, _, _ = setup
    monkeypatch.setenv("H2O_URL", f"http://127.0.0.1:{free_port()}")
    text, events, error = await _collect(auto, _request("hi"))
    assert error is None and answered_by(events) == ("FlowGPT", "gpt-3.5-turbo")


async def test_an_empty_answer_falls_through(setup, monkeypatch):
    auto, _, _ = setup
    monkeypatch.setenv("AUTO_PROVIDERS", "fake,flowgpt")
    text, events, error = await _collect(auto, _request("count 0"))
    assert error is None and text == "gpt-3.5-turbo says: count 0"
    assert answered_by(events) == ("FlowGPT", "gpt-3.5-turbo")


async def test_an_error_after_content_is_reported_not_retried(setup):
    auto, h2o_state, flow_state = setup
    text, events, error = await _collect(auto, _request("cut #cut"))
    assert text == "You said:" and answered_by(events) == ("H2o", H2O_MODEL)
    assert isinstance(error, UnavailableError) and not isinstance(error, AllProvidersFailedError)
    assert str(error).startswith("H2o: service unavailable") and "dropped" in str(error)
    assert flow_state.requests == []
    assert h2o_state.deleted == h2o_state.created


async def test_all_failing_gives_one_message_naming_each(setup, monkeypatch):
    auto, _, flow_state = setup
    monkeypatch.setenv("H2O_URL", f"http://127.0.0.1:{free_port()}")
    text, _, error = await _collect(auto, _request("fail:rate #500"))
    assert text == ""
    assert isinstance(error, AllProvidersFailedError)
    assert str(error) == (  # the log reads every cause, with the services' own words
        "Auto: no provider could answer.\n"
        "- H2o: service unavailable (could not connect to the service)\n"
        "- FlowGPT: service unavailable (scripted 500)\n"
        "- Fake Provider: rate limited (scripted rate). Wait a moment and try again"
    )
    assert error.user_message == (  # the visitor reads one short line: the count and the first cause
        "Auto tried 3 providers; none answered: H2o could not be reached: it may be asleep or offline. "
        "Try again in a minute or pick another provider.")
    assert error.failures[1:] == [
        "FlowGPT is having trouble (server error): try again in a minute or pick another provider.",
        "Fake Provider is busy (rate limited): try again in a minute."]
    assert len(flow_state.requests) == 1


async def test_stopping_auto_stops_the_provider(setup):
    auto, h2o_state, _ = setup
    stream = auto.chat(_request("a long answer"), Visitor("v1"))
    async for event in stream:
        if isinstance(event, TextDelta):
            break
    await stream.aclose()
    assert h2o_state.deleted == h2o_state.created and len(h2o_state.created) == 1


def test_candidates_follow_settings_and_status(setup, monkeypatch):
    auto, _, _ = setup
    assert [p.id for p in auto.candidates()] == ["h2o", "flowgpt", "fake"]
    monkeypatch.delenv("AUTO_PROVIDERS")
    monkeypatch.delenv("H2O_URL")
    assert [p.id for p in auto.candidates()] == ["flowgpt", "fake"]  # registry order, working only
    monkeypatch.setenv("AUTO_PROVIDERS", "fake, nope, fake")
    assert [p.id for p in auto.candidates()] == ["fake"]
    assert auto.availability().ready is True
    assert auto.get_model(Capability.TEXT, "") == "auto"


async def test_nothing_to_try_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("H2O_URL", raising=False)
    monkeypatch.delenv("AUTO_PROVIDERS", raising=False)
    auto = AutoProvider()
    Registry([auto, H2oProvider()])
    assert auto.availability().ready is False
    _, _, error = await _collect(auto, _request("hi"))
    assert isinstance(error, NotConfiguredError) and "no working provider" in str(error)


def test_chat_endpoint_end_to_end(setup, monkeypatch):
    _, h2o_state, flow_state = setup
    monkeypatch.setenv("AUTO_PROVIDERS", "h2o,flowgpt")
    registry = Registry([H2oProvider(), FlowGptProvider(), AutoProvider()])
    demo = build_demo(registry, AppSettings.from_env())
    with launch_blocks(demo) as url:
        client = Client(url, verbose=False)
        try:
            args = {"provider": "auto", "model": "", "system_prompt": "", "temperature": 0.7, "max_tokens": 100,
                    "top_p": 0.9, "api_name": "/chat"}
            listing = {p["id"]: p for p in client.predict(api_name="/providers")}
            assert listing["auto"]["availability"] == "ready"
            reply = client.predict(messages=[{"role": "user", "content": "hi"}], **args)
            assert reply == "You said: hi"
            reply = client.predict(messages=[{"role": "user", "content": "hi #h2o-503"}], **args)
            assert reply == "gpt-3.5-turbo says: hi #h2o-503"
            columns = client.predict(prompt="hi", targets=[{"provider": "auto"}, {"provider": "flowgpt"}],
                                     system_prompt="", temperature=0.7, max_tokens=100, top_p=0.9,
                                     api_name="/compare")
            assert columns[0]["reply"] == "You said: hi"  # the answer is the model's text only
            assert columns[0]["answered_by"] == {"provider": "h2o", "label": "H2o", "model": H2O_MODEL}
            assert columns[1]["answered_by"] is None
            with pytest.raises(AppError) as info:
                client.predict(messages=[{"role": "user", "content": "#429 both"}], **args)
            message = str(info.value)
            assert message == "Auto tried 2 providers; none answered: H2o is busy (rate limited): try again in 7 s."
        finally:
            client.close()
    assert h2o_state.deleted == h2o_state.created and len(h2o_state.created) == 4
