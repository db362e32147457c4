"""Fair use per visitor: streams at once and requests per minute, refused at once, never queued.

Through the app in-process with the fake provider and real gradio_client sessions; timing
bounds are generous (CI shares 2 cores) and waits are on events, not sleeps.
"""

from __future__ import annotations

import dataclasses
import time
from types import SimpleNamespace

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from playground.limits import FairUse, VisitorLimitError
from providers import Registry
from tests.support.clock import Clock
from tests.support.fake_provider import FakeProvider
from tests.support.servers import launch_blocks
from ui.app import build_demo
from ui.config import AppSettings
from ui.identity import forwarded_client, visitor_key

LONG = {"messages": [{"role": "user", "content": "count 400"}], "provider": "fake", "model": "slow",
        "system_prompt": "", "temperature": 0.7, "max_tokens": 64, "top_p": 0.9}
QUICK = {**LONG, "messages": [{"role": "user", "content": "hi"}], "model": "echo"}


# -- the mechanism -------------------------------------------------------------------------------
def test_streams_at_once_are_bounded_per_visitor():
    limits = FairUse(max_streams=2, per_minute=0)
    with limits.admit("a"), limits.admit("a"):
        with pytest.raises(VisitorLimitError, match="2 answers are still running for you; wait for one"):
            with limits.admit("a"):
                pass
        with limits.admit("b"):  # another visitor is not affected
            assert limits.running("b") == 1
    with limits.admit("a"):  # released when the calls ended
        assert limits.running("a") == 1


def test_requests_per_minute_say_when_to_try_again():
    clock = Clock()
    limits = FairUse(max_streams=0, per_minute=3, clock=clock)
    for _ in range(3):
        with limits.admit("a"):
            clock.now += 5
    with pytest.raises(VisitorLimitError, match=r"Too many requests: 3 a minute at most. Try again in 45 s") as caught:
        with limits.admit("a"):
            pass
    assert caught.value.retry_after == 45
    clock.now += 46
    with limits.admit("a"):
        pass


def test_a_refused_call_does_not_count_and_idle_visitors_are_forgotten():
    clock = Clock()
    limits = FairUse(max_streams=1, per_minute=2, clock=clock)
    with limits.admit("a"):
        with pytest.raises(VisitorLimitError):
            with limits.admit("a"):
                pass
    with limits.admit("a"):  # the refusal above did not use up the minute's allowance
        pass
    clock.now += 61
    for index in range(300):  # sweeping happens as calls are admitted
        with limits.admit(f"v{index}"):
            pass
        clock.now += 61
    assert len(limits) < 300


# -- who a visitor is ------------------------------------------------------------------------------
def request(host: str, *, username: str | None = None, forwarded: str | None = None):
    headers = {"x-forwarded-for": forwarded} if forwarded else {}
    return SimpleNamespace(username=username, headers=headers, client=SimpleNamespace(host=host))


def test_visitor_key_prefers_the_signed_in_user_then_the_address_then_the_session(monkeypatch):
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert visitor_key(request("203.0.113.9", username="alice"), "s1") == "user:alice"
    assert visitor_key(request("203.0.113.9"), "s1") == "ip:203.0.113.9"
    assert visitor_key(request("127.0.0.1"), "s1") == "session:s1"  # this machine: told apart by session
    assert visitor_key(request("::1"), "s2") == "session:s2"
    # off a Space a forwarded header is uvicorn's business (FORWARDED_ALLOW_IPS), not ours
    assert visitor_key(request("10.0.0.5", forwarded="198.51.100.1"), "s1") == "ip:10.0.0.5"


def test_on_a_space_the_last_public_forwarded_address_counts(monkeypatch):
    monkeypatch.setenv("SPACE_ID", "someone/playground")
    spoofed = "1.2.3.4, 93.184.216.34, 10.1.2.3"  # visitor-written, what the proxy saw, an internal hop
    assert visitor_key(request("10.0.0.5", forwarded=spoofed), "s1") == "ip:93.184.216.34"
    assert forwarded_client("garbage, 10.0.0.1") is None
    assert visitor_key(request("10.0.0.5", forwarded="garbage"), "s1") == "ip:10.0.0.5"


# -- through the app -------------------------------------------------------------------------------
def settings(**limits) -> AppSettings:
    return dataclasses.replace(AppSettings.from_env(), **limits)


@pytest.fixture
def limited_app():
    demo = build_demo(Registry([FakeProvider()]), settings(visitor_max_streams=4, visitor_per_minute=0))
    with launch_blocks(demo) as url:
        yield url


def first_output_seconds(client: Client, params: dict, timeout: float = 30) -> float:
    started = time.perf_counter()
    job = client.submit(api_name="/chat", **params)
    deadline = started + timeout
    while not job.outputs() and not job.done():
        if time.perf_counter() > deadline:
            raise TimeoutError("no output in time")
        time.sleep(0.01)
    seconds = time.perf_counter() - started
    job.result(timeout=timeout)
    return seconds


def wait_for(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.02)


def test_a_flooding_visitor_is_refused_at_once_and_others_are_not_delayed(limited_app):
    flooder, other = Client(limited_app, verbose=False), Client(limited_app, verbose=False)
    jobs = []
    try:
        baseline = first_output_seconds(other, QUICK)
        running = [flooder.submit(api_name="/chat", **LONG) for _ in range(4)]
        wait_for(lambda: all(job.outputs() for job in running))  # four streams under way
        jobs.extend(running)
        started = time.perf_counter()
        refused = [flooder.submit(api_name="/chat", **LONG) for _ in range(16)]
        jobs.extend(refused)
        for job in refused:
            with pytest.raises(AppError, match="4 answers are still running for you; wait for one to finish"):
                job.result(timeout=30)
        refusal_seconds = time.perf_counter() - started
        delayed = first_output_seconds(other, QUICK)
        assert refusal_seconds < 10, refusal_seconds  # 16 refusals, each answered at once
        assert delayed < baseline + 1.0, (baseline, delayed)
        assert all(not job.done() for job in running)  # the four admitted streams carry on
    finally:
        for job in jobs:
            job.cancel()
        flooder.close()
        other.close()


def test_requests_per_minute_through_the_api():
    demo = build_demo(Registry([FakeProvider()]), settings(visitor_max_streams=0, visitor_per_minute=3))
    with launch_blocks(demo) as url:
        client, other = Client(url, verbose=False), Client(url, verbose=False)
        try:
            for _ in range(3):
                assert client.predict(api_name="/chat", **QUICK) == "Echo: hi"
            with pytest.raises(AppError, match=r"Too many requests: 3 a minute at most. Try again in \d+ s"):
                client.predict(api_name="/chat", **QUICK)
            assert other.predict(api_name="/chat", **QUICK) == "Echo: hi"
        finally:
            client.close()
            other.close()


def test_view_code_counts_as_a_request():
    """Writing the code resolves the model (a provider may be asked about it), so /code is limited too."""
    demo = build_demo(Registry([FakeProvider()]), settings(visitor_max_streams=0, visitor_per_minute=2))
    with launch_blocks(demo) as url:
        client, other = Client(url, verbose=False), Client(url, verbose=False)
        try:
            assert client.predict(api_name="/chat", **QUICK) == "Echo: hi"
            assert "fake" in client.predict(prompt="hi", api_name="/code")
            with pytest.raises(AppError, match=r"Too many requests: 2 a minute at most"):
                client.predict(prompt="hi", api_name="/code")
            assert "fake" in other.predict(prompt="hi", api_name="/code")
        finally:
            client.close()
            other.close()


def test_sessions_behind_one_trusted_proxy_address_share_a_limit():
    """Uvicorn trusts X-Forwarded-For from 127.0.0.1 (FORWARDED_ALLOW_IPS' default): one client address."""
    demo = build_demo(Registry([FakeProvider()]), settings(visitor_max_streams=1, visitor_per_minute=0))
    with launch_blocks(demo) as url:
        first = Client(url, verbose=False, headers={"x-forwarded-for": "203.0.113.7"})
        second = Client(url, verbose=False, headers={"x-forwarded-for": "203.0.113.7"})
        elsewhere = Client(url, verbose=False, headers={"x-forwarded-for": "198.51.100.20"})
        running = first.submit(api_name="/chat", **LONG)
        try:
            wait_for(lambda: bool(running.outputs()))
            with pytest.raises(AppError, match="1 answer is still running for you"):
                second.predict(api_name="/chat", **QUICK)
            assert elsewhere.predict(api_name="/chat", **QUICK) == "Echo: hi"
        finally:
            running.cancel()
            for client in (first, second, elsewhere):
                client.close()


# -- the whole request is bounded ------------------------------------------------------------------
def test_the_whole_request_is_bounded(client):
    huge_system = "s" * 5_000_000
    with pytest.raises(AppError, match="The system prompt is 5,000,000 characters; the limit is 100,000"):
        client.predict(api_name="/chat", **{**QUICK, "system_prompt": huge_system})
    many = [{"role": "user" if i % 2 == 0 else "assistant", "content": "x"} for i in range(100_001)]
    with pytest.raises(AppError, match="The conversation has 100,001 messages; the limit is 200"):
        client.predict(api_name="/chat", **{**QUICK, "messages": many})
    long_history = [{"role": "user", "content": "y" * 90_000}, {"role": "assistant", "content": "ok"}] * 5
    with pytest.raises(AppError, match="The conversation is [\\d,]+ characters; the limit is 400,000"):
        client.predict(api_name="/chat", **{**QUICK, "messages": [*long_history, {"role": "user", "content": "hi"}]})
    assert client.predict(api_name="/chat", **QUICK) == "Echo: hi"
