"""Side by side: targets stream concurrently, failures stay in their column, /compare through gradio_client."""

from __future__ import annotations

import asyncio
import time

import pytest
from gradio_client.exceptions import AppError

from playground.compare import Job, Target, compare, parse_targets
from playground.service import Playground
from providers import InputError, Message, Registry, Visitor
from tests.support.fake_provider import FakeProvider

PARAMS = {"system_prompt": "", "temperature": 0.7, "max_tokens": 100, "top_p": 0.9}


def _jobs(prompt: str, *models: str, provider: str = "fake") -> list[Job]:
    return [Job(Target(provider, m), [Message(role="user", text=prompt)]) for m in models]


async def _run(jobs: list[Job]):
    playground = Playground(Registry([FakeProvider()]))
    frames = []
    async for columns in compare(playground, jobs, visitor=Visitor("t")):
        frames.append([c.as_dict() for c in columns])
    return frames


async def test_columns_overlap_the_gather_barrier_proves_it():
    # Each column waits until all three have arrived; run one after another, the first would give up
    # after 5 s and say "gathered 1".
    started = time.perf_counter()
    final = (await _run(_jobs("gather 3", "echo", "slow", "count")))[-1]
    assert [c["reply"] for c in final] == ["gathered 3"] * 3
    assert time.perf_counter() - started < 4


async def test_total_time_is_close_to_the_slowest_column_not_the_sum(monkeypatch):
    monkeypatch.setenv("FAKE_TOKEN_DELAY", "0.1")
    started = time.perf_counter()
    final = (await _run(_jobs("count 8", "slow", "slow", "slow", "echo")))[-1]
    total = time.perf_counter() - started
    slow = [c["seconds"] for c in final[:3]]
    assert all(s >= 0.75 for s in slow)  # 8 words x 0.1 s each
    assert total < sum(slow) * 0.7  # one after another would take the sum (~2.4 s)
    assert total < max(slow) + 0.8
    assert all(c["reply"] == " ".join(f"w{i}" for i in range(8)) and c["done"] for c in final)
    assert all(c["time_to_first_token"] is not None and c["tokens_per_second"] for c in final[:3])


async def test_a_failing_column_leaves_the_others_intact(monkeypatch):
    monkeypatch.setenv("FAKE_TOKEN_DELAY", "0.02")
    frames = await _run(_jobs("hello you", "slow", "broken", "no-such-model", "echo"))
    slow, broken, unknown, echo = frames[-1]
    assert slow["reply"] == echo["reply"] == "Echo: hello you"
    assert slow["error"] is None and echo["error"] is None
    assert broken["reply"] == "partial answer " and "Fake Provider is unavailable right now" in broken["error"]
    assert unknown["reply"] == "" and "Fake Provider cannot use this model" in unknown["error"]
    assert unknown["seconds"] is None
    # The slow column was still streaming after the others had failed.
    assert any(f[1]["done"] and f[2]["done"] and not f[0]["done"] for f in frames)


async def test_closing_the_stream_stops_every_column(monkeypatch):
    monkeypatch.setenv("FAKE_TOKEN_DELAY", "0.02")
    playground = Playground(Registry([FakeProvider()]))
    stream = compare(playground, _jobs("count 500", "slow", "slow"), visitor=Visitor("t"))
    async for columns in stream:
        if all(c.turn and c.turn.tokens >= 3 for c in columns):
            break
    await stream.aclose()
    counts = [c.turn.tokens for c in columns]
    await asyncio.sleep(0.3)  # ~15 more words each, had they kept going
    assert [c.turn.tokens for c in columns] == counts
    assert all(n < 500 for n in counts)


async def test_each_column_has_its_own_history():
    playground = Playground(Registry([FakeProvider()]))
    jobs = [Job(Target("fake", "echo"), [Message("user", "first a"), Message("assistant", "ok a"),
                                         Message("user", "turns?")]),
            Job(Target("fake", "thinker"), [Message("user", "turns?")])]
    async for columns in compare(playground, jobs, visitor=Visitor("t"), **PARAMS):
        pass
    assert [c.turn.reply.text for c in columns] == ["3 turns", "1 turns"]


@pytest.mark.parametrize("raw, message", [
    ("fake", "must be a list"),
    ([{"provider": "fake"}], "2 to 4"),
    ([{"provider": "fake"}] * 5, "2 to 4"),
    ([{"model": "echo"}, {"provider": "fake"}], "'provider'"),
    (["fake", "fake"], "'provider'"),
])
def test_targets_are_validated(raw, message):
    with pytest.raises(InputError, match=message):
        parse_targets(raw)


# -- /compare through gradio_client -------------------------------------------------------------
def _compare(client, prompt, targets, **params):
    return client.submit(prompt=prompt, targets=targets, **{**PARAMS, **params}, api_name="/compare")


def test_compare_endpoint_is_documented(client):
    endpoint = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/compare"]
    assert [p["parameter_name"] for p in endpoint["parameters"]] == [
        "prompt", "targets", "system_prompt", "temperature", "max_tokens", "top_p"]


def test_compare_streams_cumulative_replies_with_timings(client):
    job = _compare(client, "count 12", [{"provider": "fake", "model": "slow"}, {"provider": "fake", "model": "e"}])
    final = job.result(timeout=30)
    words = " ".join(f"w{i}" for i in range(12))
    assert [(c["provider"], c["model"], c["reply"], c["error"], c["done"]) for c in final] == [
        ("fake", "slow", words, None, True), ("fake", "echo", words, None, True)]
    assert set(final[0]) == {"provider", "model", "answered_by", "reply", "error", "done", "time_to_first_token",
                             "seconds", "tokens_per_second", "tokens_estimated"}
    assert final[0]["seconds"] >= 0.5 and final[0]["tokens_per_second"] > 0
    outputs = job.outputs()
    assert len(outputs) >= 3
    partial = [o[0]["reply"] for o in outputs]
    assert any(0 < len(p) < len(words) for p in partial)
    assert all(words.startswith(p) for p in partial)


def test_compare_runs_targets_concurrently_and_keeps_a_failure_to_its_column(client):
    targets = [{"provider": "fake", "model": m} for m in ("echo", "slow", "count", "thinker")]
    final = _compare(client, "gather 4", targets).result(timeout=30)
    assert [c["reply"] for c in final] == ["gathered 4"] * 4
    final = _compare(client, "hi", [{"provider": "fake", "model": "broken"}, {"provider": "nope"},
                                    {"provider": "fake", "model": "echo"}]).result(timeout=30)
    assert "Fake Provider is unavailable right now" in final[0]["error"] and final[0]["reply"] == "partial answer "
    assert "Unknown provider 'nope'" in final[1]["error"]
    assert final[2] == {**final[2], "reply": "Echo: hi", "error": None}


def test_compare_follow_up_uses_each_targets_history(client):
    targets = [{"provider": "fake", "model": "echo",
                "history": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Echo: hi"}]},
               {"provider": "fake", "model": "echo"}]
    final = _compare(client, "turns?", targets).result(timeout=30)
    assert [c["reply"] for c in final] == ["3 turns", "1 turns"]
    final = _compare(client, "more", targets, system_prompt="short").result(timeout=30)
    assert [c["reply"] for c in final] == ["[short] Echo: more"] * 2


@pytest.mark.parametrize("prompt, targets, message", [
    ("  ", [{"provider": "fake"}, {"provider": "fake"}], "empty"),
    ("hi", [{"provider": "fake"}], "2 to 4"),
    ("hi", [{"provider": "fake", "history": [{"role": "robot", "content": "x"}]}, {"provider": "fake"}],
     "Unknown message role"),
])
def test_compare_rejects_bad_input(client, prompt, targets, message):
    with pytest.raises(AppError, match=message):
        _compare(client, prompt, targets).result(timeout=30)


async def test_columns_finishing_together_all_end_in_the_last_frame(monkeypatch):
    """Columns that finish within moments of each other: the last frame has every final text."""
    monkeypatch.setenv("FAKE_TOKEN_DELAY", "0.002")
    playground = Playground(Registry([FakeProvider()]))
    for _ in range(20):
        snapshots = []
        async for columns in compare(playground, _jobs("hello", "slow", "slow", "slow", "slow"), visitor=Visitor("t")):
            snapshots.append([(c.done, c.turn.reply.text if c.turn else "") for c in columns])
            await asyncio.sleep(0.002)  # the page takes a moment to receive each frame; columns go on meanwhile
        assert snapshots[-1] == [(True, "Echo: hello")] * 4, snapshots[-1]
