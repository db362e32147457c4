"""Continue extends the last answer through the provider's continue_last mode."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from playground.service import Playground
from providers import Message, Registry, Visitor
from providers.huggingface.provider import HuggingFaceProvider
from providers.inference.openai_compat import OpenAICompatProvider
from tests.support.fake_provider import FakeProvider
from tests.support.hf_server import HfServer
from tests.support.servers import serving
from ui.chat import continue_answer
from ui.config import AppSettings
from ui.context import AppContext


def _ctx() -> AppContext:
    return AppContext(Registry([FakeProvider()]), AppSettings.from_env())


async def test_continue_appends_to_the_last_answer_and_keeps_earlier_turns():
    history = [
        {"role": "user", "content": [{"type": "text", "text": "tell a story"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Once upon a time"}]},
        {"role": "assistant", "content": "", "metadata": {"title": "Fake Provider · echo"}},
    ]
    request = SimpleNamespace(session_hash="continue", headers={})
    frames = [f for f, _ in [x async for x in continue_answer(_ctx(), history, request, provider_id="fake", model="echo")]]
    final = frames[-1]
    assert final[0] == history[0]
    texts = [m.content for m in final[1:] if not (m.metadata or {}).get("title")]
    assert texts == ["Once upon a time and so it continued."]
    assert any((m.metadata or {}).get("title", "").startswith("Fake Provider · echo") for m in final[1:])


async def test_continue_without_an_answer_leaves_history_alone():
    history = [{"role": "user", "content": "hi"}]
    request = SimpleNamespace(session_hash="continue-2", headers={})
    frames = [f for f, _ in [x async for x in continue_answer(_ctx(), history, request, provider_id="fake", model="echo")]]
    assert frames == [history]


async def test_continue_with_a_provider_that_cannot_says_so():
    from tests.test_contract import TextOnly

    ctx = AppContext(Registry([TextOnly()]), AppSettings.from_env())
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    request = SimpleNamespace(session_hash="continue-3", headers={})
    frames = [f for f, _ in [x async for x in continue_answer(ctx, history, request, provider_id="text-only", model="small")]]
    final = frames[-1]
    assert final[:1] == history[:1]
    assert any("Text Only cannot continue an answer" in (m.metadata or {}).get("title", "") for m in final[1:])
    assert any(m.content == "hello" for m in final[1:])  # the earlier answer stays


# -- over the wire: continue_final_message, as vLLM and TGI honour it ------------------------------------
@pytest.fixture(scope="module")
def chat_server():
    with serving(HfServer()) as server:
        yield server


@pytest.fixture
def servers(chat_server, monkeypatch):
    """The local server as a self-hosted Hugging Face server and as an OpenAI-compatible one."""
    chat_server.reset()
    monkeypatch.setenv("HF_INFERENCE_BASE_URL", chat_server.url)
    monkeypatch.setenv("OPENAI_COMPAT_BASE_URL", chat_server.url + "/v1")
    monkeypatch.setenv("HF_ENDPOINT", chat_server.url)
    for name in ("HF_INFERENCE_API", "HF_INFERENCE_API_KEY", "OPENAI_COMPAT_API_KEY", "HF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return chat_server


@pytest.mark.parametrize("provider_id, model", [("huggingface", "local/chat-model"),
                                                ("openai-compatible", "served/model-a")])
async def test_continue_extends_the_answer_through_continue_final_message(servers, provider_id, model):
    answer = f"Hello from {model}: tell a story"
    cut_short = answer[:answer.index(":") + 1]  # "Hello from <model>:"
    playground = Playground(Registry([HuggingFaceProvider(), OpenAICompatProvider()]))
    messages = [Message("user", "tell a story"), Message("assistant", cut_short)]
    async for turn in playground.chat(messages, provider_id=provider_id, model=model,
                                      visitor=Visitor(session_id="continue"), continue_last=True):
        pass
    assert cut_short + turn.reply.text == answer  # the rest of the same answer, not a new turn
    body = servers.calls("/v1/chat")[-1].body
    assert (body["continue_final_message"], body["add_generation_prompt"]) == (True, False)
    assert body["messages"][-1] == {"role": "assistant", "content": cut_short}
    await asyncio.gather(*(p._pool.aclose() for p in playground.registry.all()))


async def test_an_ordinary_turn_sends_no_continue_fields(servers):
    playground = Playground(Registry([OpenAICompatProvider()]))
    async for turn in playground.chat([Message("user", "hi")], provider_id="openai-compatible",
                                      model="served/model-a", visitor=Visitor(session_id="plain")):
        pass
    assert turn.reply.text == "Hello from served/model-a: hi"
    assert "continue_final_message" not in servers.calls("/v1/chat")[-1].body
