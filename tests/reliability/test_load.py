"""Load: many concurrent sessions for a while with 10% of provider calls failing.

The app runs as its own process (`python app.py` behind the offline guard) with the
OpenAI-compatible provider pointed at a local server; the sessions are asyncio tasks
using Gradio's HTTP call API (tests/reliability/light_client.py). One call in ten asks
for a scripted failure (HTTP 500/429/503, a dropped connection, a malformed line).

Checks: no unexpected error, every successful turn complete, every failure a clear
message naming the provider with its partial answer kept, and the app still answering.

Size: RELIABILITY_LOAD_SESSIONS (default 100) and RELIABILITY_LOAD_SECONDS (default 30);
each session pauses RELIABILITY_LOAD_THINK seconds (default 0.5) between turns, as a person
would, which keeps the load within what 2 CI cores serve.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter

import httpx
import pytest

from tests.reliability.light_client import CallResult, call, chat_data, http_client
from tests.support.hf_server import HfServer
from tests.support.servers import app_subprocess, serve_asgi

SESSIONS = int(os.environ.get("RELIABILITY_LOAD_SESSIONS", "100"))
SECONDS = float(os.environ.get("RELIABILITY_LOAD_SECONDS", "30"))
THINK = float(os.environ.get("RELIABILITY_LOAD_THINK", "0.5"))
PROVIDER = "openai-compatible"
LABEL = "OpenAI-compatible server"
GOOD_MODEL = "served/model-a"
#: Scripted failures (tests/support/hf_server.py) and the partial answer each leaves.
FAILURES = {"status-500": "", "status-429": "", "status-503": "", "cut": "Hello from", "malformed": "Hello from"}


@pytest.fixture(scope="module")
def provider_server():
    server = HfServer(token_delay=0.01)
    with serve_asgi(server.app) as url:
        yield url, server


@pytest.fixture(scope="module")
def app(provider_server, tmp_root):
    env = {"PLAYGROUND_PROVIDERS": PROVIDER, "OPENAI_COMPAT_BASE_URL": provider_server[0] + "/v1",
           "HF_LOADING_MAX_WAIT": "0", "HF_INFERENCE_TIMEOUT": "20", "LOG_LEVEL": "WARNING",
           "PLAYGROUND_CONCURRENCY": str(max(64, SESSIONS)), "PLAYGROUND_MAX_QUEUE": str(4 * SESSIONS)}
    with app_subprocess(env, timeout=120) as (url, process):
        yield url, process


def plan(session: int, turn: int) -> str:
    """The model of a turn: every tenth call (spread over sessions) asks for a failure."""
    if (session * 7 + turn) % 10 == 0:
        names = list(FAILURES)
        return names[(session + turn) % len(names)]
    return GOOD_MODEL


async def visitor(session: int, client: httpx.AsyncClient, url: str, deadline: float,
                  outcomes: list[tuple[str, str, CallResult | BaseException]]) -> None:
    turn = 0
    await asyncio.sleep(THINK * session / SESSIONS)  # arrive spread over one pause
    while time.monotonic() < deadline:
        turn += 1
        model, text = plan(session, turn), f"s{session} t{turn}"
        try:
            result = await call(client, url, "chat", chat_data(text, PROVIDER, model, max_tokens=64))
        except (httpx.HTTPError, ValueError) as exc:  # the app refused or broke the call itself
            outcomes.append((model, text, exc))
        else:
            outcomes.append((model, text, result))
        await asyncio.sleep(THINK)


async def test_many_sessions_with_failing_provider_calls(app, provider_server):
    url, process = app
    outcomes: list[tuple[str, str, CallResult | BaseException]] = []
    deadline = time.monotonic() + SECONDS
    async with http_client(connections=SESSIONS + 10, timeout=60) as client:
        await asyncio.wait_for(
            asyncio.gather(*(visitor(i, client, url, deadline, outcomes) for i in range(SESSIONS))),
            SECONDS + 120)

        unexpected, kinds = [], Counter()
        for model, text, outcome in outcomes:
            if isinstance(outcome, BaseException):
                unexpected.append(f"{text}: {type(outcome).__name__}: {outcome}")
                continue
            if model == GOOD_MODEL:
                kinds["ok"] += 1
                if not (outcome.completed and outcome.final == f"Hello from {GOOD_MODEL}: {text}"):
                    unexpected.append(f"{text}: incomplete: {outcome.error or outcome.last_value!r}")
                continue
            kinds[model] += 1
            if outcome.completed or not (outcome.error or "").startswith(LABEL):  # names the provider
                unexpected.append(f"{text} ({model}): {outcome.error or outcome.final!r}")
            elif (outcome.updates[-1] if outcome.updates else "") != FAILURES[model]:
                unexpected.append(f"{text} ({model}): partial answer {outcome.updates!r} not kept")
        assert not unexpected, f"{len(unexpected)} unexpected outcomes, e.g. {unexpected[:5]}"
        failed = sum(n for kind, n in kinds.items() if kind != "ok")
        assert kinds["ok"] >= SESSIONS and 0.05 <= failed / len(outcomes) <= 0.15, kinds

        # Still answering afterwards, and still the same process.
        assert process.poll() is None
        assert (await client.get(url + "gradio_api/info")).status_code == 200
        after = await call(client, url, "chat", chat_data("after the storm", PROVIDER, GOOD_MODEL))
        assert after.completed and after.final == f"Hello from {GOOD_MODEL}: after the storm"
