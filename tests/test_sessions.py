"""Cheap Gradio sessions (ui/session_state.py) and per-visitor state that expires (VisitorStore)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import gradio as gr
import httpx
import pytest
from gradio import state_holder
from gradio_client import Client

from providers import Capability, ChatRequest, Finish, Provider, Registry, TextDelta, Visitor, VisitorStore
from tests.reliability.light_client import call, chat_data, http_client
from tests.support.clock import Clock
from tests.support.fake_provider import FakeProvider
from tests.support.servers import ROOT, free_port
from ui import session_state
from ui.app import build_demo
from ui.config import AppSettings
from ui.context import AppContext

GENEROUS = 30.0  # seconds: bounds for waiting on events, never a speed target


def gradio_session_state() -> type:
    """Gradio's own SessionState class (ours subclasses it once installed)."""
    return session_state._original or state_holder.SessionState


@pytest.fixture(scope="module")
def demo():
    return build_demo(Registry([FakeProvider()]), AppSettings.from_env())


# -- the lazy session config gives what Gradio's eager one gives ------------------------------
def test_installed_for_the_app(demo):
    assert session_state.compatible() is None
    assert session_state.installed()
    state = state_holder.SessionState(demo)
    assert isinstance(state, gradio_session_state())
    assert isinstance(state.config_values, session_state.LazyConfigValues)
    assert state.config_values.computed() == 0  # nothing built up front


def test_lazy_config_equals_gradio_config_for_each_block(demo):
    eager = gradio_session_state()(demo)
    lazy = state_holder.SessionState(demo)
    assert set(vars(lazy)) == set(vars(eager))  # the same attributes as Gradio's __init__ sets
    keys = list(eager.config_values)
    assert len(keys) == len(demo.blocks) > 100
    for count, key in enumerate(keys[:5], start=1):
        assert key in lazy.config_values
        assert lazy.config_values[key] == eager.config_values[key]
        assert lazy.config_values.get(key) == eager.config_values[key]
        assert lazy.config_values.computed() == count  # only what was asked for
    assert 10**9 not in lazy.config_values and lazy.config_values.get(10**9) is None
    with pytest.raises(KeyError):
        lazy.config_values[10**9]
    # What iterates sees the whole dict, in Gradio's order (the deep-link route reads `.components`).
    assert list(lazy.config_values) == keys
    assert lazy.config_values == eager.config_values
    assert list(lazy.components) == list(eager.components)
    assert len(lazy.config_values) == len(keys)


def test_session_updates_behave_as_gradio(demo):
    eager = gradio_session_state()(demo)
    lazy = state_holder.SessionState(demo)
    textbox, other, *_ = [k for k, b in demo.blocks.items() if isinstance(b, gr.Textbox)]
    chatbot = next(k for k, b in demo.blocks.items() if isinstance(b, gr.Chatbot))
    number = next(k for k, b in demo.blocks.items() if isinstance(b, gr.Number))
    for state in (eager, lazy):
        state._update_value_in_config(textbox, "typed text")  # what preprocess/postprocess do
        state[chatbot] = gr.Chatbot(label="replaced", render=False)  # an update replaces the block
        state._update_config(chatbot)
        state._update_value_in_config(other, "overwritten")
        state[other] = gr.Textbox(label="new", render=False)  # a new entry: the waiting value is gone
        state._update_value_in_config(number, 42)  # never read: written in when the dict is iterated
    assert lazy.config_values.computed() == 2  # the replaced ones; the values wait for their entries
    assert lazy.config_values[textbox]["props"]["value"] == "typed text"
    assert lazy.config_values[chatbot]["props"]["label"] == "replaced"
    assert lazy.config_values == eager.config_values
    assert [c["id"] for c in lazy.components] == [c["id"] for c in eager.components]


def test_other_blocks_keep_gradio_sessions():
    with gr.Blocks() as other:
        gr.Textbox()
    state = state_holder.SessionState(other)
    assert type(state.config_values) is dict and len(state.config_values) == len(other.blocks)


def test_a_different_gradio_is_left_alone(monkeypatch, caplog):
    monkeypatch.setattr(session_state, "GRADIO_VERSION", "0.0.0")
    assert "not 0.0.0" in session_state.compatible()
    monkeypatch.setattr(session_state, "GRADIO_VERSION", gr.__version__)
    monkeypatch.setattr(session_state, "STATE_HOLDER_SHA256", "0" * 64)
    assert "differs" in session_state.compatible()
    # Not installed yet and gradio differs: a warning, and Gradio's SessionState stays.
    monkeypatch.setattr(state_holder, "SessionState", gradio_session_state())
    monkeypatch.setattr(session_state, "_original", None)
    with gr.Blocks() as blocks:
        gr.Textbox()
    with caplog.at_level(logging.WARNING, logger="ui.session_state"):
        assert session_state.install(blocks) is False
    assert "Cheap sessions are off" in caplog.text
    assert state_holder.SessionState is gradio_session_state() and not session_state.installed()


# -- VisitorStore: idle expiry, a bound, holds ---------------------------------------------------
def _with_release_record(visitor: Visitor, record: list[str]) -> None:
    visitor.state["client"] = object()
    visitor.on_release(lambda: record.append(visitor.session_id))


def test_idle_visitor_is_released_and_keeps_its_credentials():
    clock, released = Clock(), []
    store = VisitorStore(max_visitors=100, idle_seconds=60, clock=clock)
    alice = store.get("alice")
    alice.set_credentials(hf_token="hf_alicealicealicealice")
    _with_release_record(alice, released)
    clock.now += 59
    assert store.sweep() == 0 and released == []
    clock.now += 2
    assert store.sweep() == 1 and released == ["alice"]
    assert alice.state == {}
    again = store.get("alice")
    assert again is not alice and again.hf_token == "hf_alicealicealicealice" and again.state == {}
    clock.now += 61
    store.get("bob")  # a request sweeps too; nothing to release twice
    assert released == ["alice"] and store.sweep() == 0


def test_a_visitor_in_use_is_never_released():
    clock, released = Clock(), []
    store = VisitorStore(max_visitors=3, idle_seconds=60, clock=clock)
    with store.lease("streaming") as visitor:
        _with_release_record(visitor, released)
        clock.now += 3600  # an hour-long stream
        for i in range(10):  # many other visitors arrive: the bound drops the others, not this one
            store.get(f"other-{i}")
        assert store.sweep() == 0 and released == []
        assert "streaming" in store and store.in_use("streaming") and len(store) == 3
    assert not store.in_use("streaming") and released == []  # its idle time starts now
    clock.now += 61
    store.sweep()
    assert released == ["streaming"]


def test_least_recently_used_beyond_the_bound_are_dropped():
    clock, released = Clock(), []
    store = VisitorStore(max_visitors=3, idle_seconds=None, clock=clock)
    for name in ("a", "b", "c"):
        _with_release_record(store.get(name), released)
        clock.now += 1
    store.get("a")  # used again: b is now the least recently used
    store.get("d")
    assert released == ["b"] and "b" not in store and len(store) == 3
    store.hold("c")
    store.get("e")
    assert released == ["b", "a"]  # c is held, so a goes
    store.unhold("c")
    store.release("c")  # the browser tab closed
    assert released == ["b", "a", "c"] and len(store) == 2


def test_release_callbacks_run_off_the_event_loop():
    store = VisitorStore(max_visitors=10, idle_seconds=None)
    threads: list[str] = []
    done = threading.Event()

    async def scenario() -> None:
        for i in range(11):
            visitor = store.get(f"v{i}")
            if i == 0:
                visitor.on_release(lambda: (threads.append(threading.current_thread().name), done.set()))
            await asyncio.sleep(0)

    asyncio.run(scenario())
    assert done.wait(GENEROUS)
    assert threads == ["visitor-release"]


# -- end to end: the app's sessions are bounded, idle visitors released, streams never cut -------
class Recorder:
    """What the holding provider saw: release callbacks and stream ends, by session, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)

    def add(self, kind: str, session: str) -> None:
        with self.changed:
            self.events.append((kind, session))
            self.changed.notify_all()

    def wait_for(self, kind: str, session: str, timeout: float = GENEROUS) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: (kind, session) in self.events, timeout)

    def of(self, session: str) -> list[str]:
        with self.lock:
            return [kind for kind, s in self.events if s == session]


class HoldingProvider(Provider):
    """A provider that keeps per-visitor state, like a Space client; "long" streams for seconds."""

    id = "holding"
    label = "Holding"
    capabilities = frozenset({Capability.TEXT})
    models = {Capability.TEXT: ["m"]}
    recorder = Recorder()

    async def chat(self, request: ChatRequest, visitor: Visitor) -> AsyncIterator:
        session = visitor.session_id
        if "client" not in visitor.state:
            visitor.state["client"] = object()
            visitor.on_release(lambda: self.recorder.add("released", session))
        words = 40 if request.messages[-1].text == "long" else 3
        for i in range(words):
            await asyncio.sleep(0.1 if words > 3 else 0)
            intact = visitor.state.get("client") is not None
            yield TextDelta(("" if i == 0 else " ") + ("w" if intact else "CUT"))
        self.recorder.add("stream-end", session)
        yield Finish("stop")


@pytest.fixture(scope="module")
def bounded_app():
    """The app with 40 sessions at most and a 1 s idle bound, launched as app.py launches it."""
    settings = dataclasses.replace(AppSettings.from_env(), max_sessions=40, visitor_idle_seconds=1.0)
    app = build_demo(Registry([HoldingProvider(), FakeProvider()]), settings)
    _, url, _ = app.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True,
                           state_session_capacity=settings.max_sessions)
    try:
        yield app, url.rstrip("/") + "/"
    finally:
        app.close()


def test_a_chat_through_gradio_client_and_a_deep_link(bounded_app):
    app, url = bounded_app
    client = Client(url, verbose=False)
    try:
        reply = client.predict([{"role": "user", "content": "hello"}], "fake", "echo", "", 0.7, 100, 0.9,
                               api_name="/chat")
        assert reply == "Echo: hello"
        session = client.session_hash
    finally:
        client.close()
    config = app.state_holder[session].config_values
    assert config.computed() < len(app.blocks) / 4  # at most what the event touched
    link = httpx.get(url + "gradio_api/deep_link", params={"session_hash": session}, timeout=GENEROUS).json()
    saved = json.loads((Path(app.server_app.uploaded_file_dir) / "deep_links" / link / "state.json").read_text())
    assert len(saved) == len(gradio_session_state()(app).config_values)  # every component, as Gradio saves it
    assert "Echo: hello" in [c["props"].get("value") for c in saved]  # the reply, in its component's entry


def test_api_calls_leave_a_bounded_number_of_sessions(bounded_app):
    app, url = bounded_app
    calls = 160

    async def run() -> list:
        gate = asyncio.Semaphore(8)
        async with http_client(connections=20) as client:
            async def one(i: int):
                async with gate:
                    return await call(client, url, "chat", chat_data(f"call {i}", "fake", "echo"))
            return await asyncio.gather(*(one(i) for i in range(calls)))

    results = asyncio.run(run())
    assert all(r.completed and r.final.startswith("Echo: call") for r in results), [r.error for r in results][:3]
    assert len(app.state_holder.session_data) <= 40
    assert len(app.playground.visitors) <= 40


def test_idle_visitor_released_but_not_in_the_middle_of_a_long_stream(bounded_app):
    app, url = bounded_app
    recorder = HoldingProvider.recorder
    idle = Client(url, verbose=False)
    streaming = Client(url, verbose=False)
    try:
        assert idle.predict([{"role": "user", "content": "hi"}], "holding", "m", "", 0.7, 100, 0.9,
                            api_name="/chat") == "w w w"
        # No more requests from anyone: the app's idle sweep releases the visitor on its own.
        assert recorder.wait_for("released", idle.session_hash), recorder.events

        job = streaming.submit([{"role": "user", "content": "long"}], "holding", "m", "", 0.7, 100, 0.9,
                               api_name="/chat")
        # The stream runs for ~4 s, four times the idle bound; meanwhile others come and go.
        async def traffic() -> None:
            async with http_client(connections=10) as client:
                while not job.done():
                    await call(client, url, "chat", chat_data("hello", "fake", "echo"))
                    await asyncio.sleep(0.2)

        asyncio.run(traffic())
        reply = job.result(timeout=GENEROUS)
        assert "CUT" not in reply and reply == " ".join(["w"] * 40)
        # Released only once it is over and then idle, never before its stream ended.
        assert recorder.wait_for("released", streaming.session_hash), recorder.events
        assert recorder.of(streaming.session_hash) == ["stream-end", "released"]
    finally:
        idle.close()
        streaming.close()


def test_app_launch_takes_the_session_bound(monkeypatch):
    """app.py's launch passes PLAYGROUND_MAX_SESSIONS to Gradio (run with a stand-in demo, nothing served)."""
    seen: dict = {}

    class StandIn:
        playground = AppContext(Registry([]), AppSettings.from_env())  # what app_kwargs reads

        def launch(self, **kwargs) -> None:
            seen.update(kwargs)

    monkeypatch.setattr("ui.app.build_demo", lambda: StandIn())
    monkeypatch.setattr("providers.logs.setup_logging", lambda: None)
    monkeypatch.setenv("PLAYGROUND_MAX_SESSIONS", "123")
    namespace: dict = {"__name__": "app_under_test"}
    exec(compile((ROOT / "app.py").read_text(), "app.py", "exec"), namespace)
    namespace["main"]([])
    assert seen["state_session_capacity"] == 123
