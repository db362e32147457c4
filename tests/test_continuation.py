"""Continue extends the last answer through the provider's continue_last mode."""

from __future__ import annotations

from types import SimpleNamespace

from providers import Registry
from tests.support.fake_provider import FakeProvider
from ui.config import AppSettings
from ui.context import AppContext
from ui.continuation import continue_answer


def _ctx() -> AppContext:
    return AppContext(Registry([FakeProvider()]), AppSettings.from_env())


async def test_continue_appends_to_the_last_answer_and_keeps_earlier_turns():
    history = [
        {"role": "user", "content": [{"type": "text", "text": "tell a story"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Once upon a time"}]},
        {"role": "assistant", "content": "", "metadata": {"title": "Fake Provider · echo"}},
    ]
    request = SimpleNamespace(session_hash="continue", headers={})
    frames = [f async for f in continue_answer(_ctx(), history, request, provider_id="fake", model="echo")]
    final = frames[-1]
    assert final[0] == history[0]
    texts = [m.content for m in final[1:] if not (m.metadata or {}).get("title")]
    assert texts == ["Once upon a time and so it continued."]
    assert any((m.metadata or {}).get("title", "").startswith("Fake Provider · echo") for m in final[1:])


async def test_continue_without_an_answer_leaves_history_alone():
    history = [{"role": "user", "content": "hi"}]
    request = SimpleNamespace(session_hash="continue-2", headers={})
    frames = [f async for f in continue_answer(_ctx(), history, request, provider_id="fake", model="echo")]
    assert frames == [history]


async def test_continue_with_a_provider_that_cannot_says_so():
    from tests.test_contract import TextOnly

    ctx = AppContext(Registry([TextOnly()]), AppSettings.from_env())
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    request = SimpleNamespace(session_hash="continue-3", headers={})
    frames = [f async for f in continue_answer(ctx, history, request, provider_id="text-only", model="small")]
    final = frames[-1]
    assert final[:1] == history[:1]
    assert any("Text Only cannot continue an answer" in (m.metadata or {}).get("title", "") for m in final[1:])
    assert any(m.content == "hello" for m in final[1:])  # the earlier answer stays
