"""Benchmark 6: memory and CPU over 1,000 REST API calls, each opening a new Gradio session.

`POST /gradio_api/call/chat` without a session (as curl or any HTTP client calls it) makes Gradio
open a session per call, and the playground a visitor per call. Measured: resident memory (VmRSS)
and CPU of the server process after a warm-up and after each further 1,000 calls (8 at a time,
short answers), for the bare relay, the playground, and (one round) the playground before cheap
sessions (Gradio's eager SessionState, Gradio's default capacity of 10,000 sessions). The second
1,000 shows whether memory is bounded (the playground keeps PLAYGROUND_MAX_SESSIONS, default 1,000).
Target: memory growth ≤ 50 MB per 1,000 API sessions.
"""

from __future__ import annotations

import asyncio

import common
from tests.reliability.light_client import call, chat_data, http_client

CALLS = 1000
ROUNDS = 2
PARALLEL = 8
TOKENS = 8
WARM_UP = 50


async def calls(client, url: str, count: int) -> None:
    gate = asyncio.Semaphore(PARALLEL)
    text = common.words_for(TOKENS)

    async def one() -> None:
        async with gate:
            result = await call(client, url, "chat", chat_data(text, "openai-compatible", common.MODEL))
            assert result.completed, result.error

    await asyncio.gather(*(one() for _ in range(count)))


async def measure(url: str, pid: int, rounds: int = ROUNDS) -> tuple[list[float], list[float]]:
    """RSS (MB) and CPU seconds after the warm-up and after each of `rounds` rounds of CALLS calls."""
    async with http_client(connections=PARALLEL * 2 + 4) as client:
        await calls(client, url, WARM_UP)
        await asyncio.sleep(1)
        rss, cpu = [common.rss_mb(pid)], [common.cpu_seconds(pid)]
        for _ in range(rounds):
            await calls(client, url, CALLS)
            await asyncio.sleep(1)
            rss.append(common.rss_mb(pid))
            cpu.append(common.cpu_seconds(pid))
    return rss, cpu


def main() -> None:
    before = "playground before (Gradio's eager sessions)"
    servers = {  # name: (start, rounds); the "before" reference takes one round (it is the slow one)
        "bare relay": (lambda url: common.bare_relay(url), ROUNDS),
        "playground": (lambda url: common.app(url), ROUNDS),
        before: (lambda url: common.process(
            ["benchmarks/eager_app.py"], {"PLAYGROUND_PROVIDERS": "openai-compatible",
                                          "OPENAI_COMPAT_BASE_URL": url + "/v1", "PLAYGROUND_MAX_SESSIONS": "10000"}),
            1),
    }
    figures = {}
    with common.provider(0.0) as provider_url:
        for name, (start, rounds) in servers.items():
            with start(provider_url) as (url, proc, _):
                figures[name] = asyncio.run(measure(url, proc.pid, rounds))
    rows = []
    for name, (rss, cpu) in figures.items():
        rounds = len(rss) - 1
        growth = [rss[i + 1] - rss[i] for i in range(rounds)]
        per_call = (cpu[-1] - cpu[0]) / (CALLS * rounds) * 1000
        cells = [f"{r:.0f} (+{g:.0f})" for r, g in zip(rss[1:], growth)] + ["not run"] * (ROUNDS - rounds)
        rows.append([name, f"{rss[0]:.0f}"] + cells + [f"{per_call:.1f}"])
    ours, bare = figures["playground"][0], figures["bare relay"][0]
    first, second = ours[1] - ours[0], ours[2] - ours[1]
    ok = first <= 50 and second <= 50
    eager = figures[before][0]
    notes = [f"{WARM_UP} warm-up calls, then {ROUNDS} rounds of {CALLS} calls of /gradio_api/call/chat with no "
             f"session ({PARALLEL} at a time, {TOKENS}-token answers, no provider delay); RSS read 1 s after each "
             "round. Every call opens a Gradio session and a playground visitor.",
             f"Playground: +{first:.0f} MB over the first {CALLS} API sessions, +{second:.0f} MB over the next "
             f"{CALLS} (bare relay: +{bare[1] - bare[0]:.0f} and +{bare[2] - bare[1]:.0f} MB; before cheap sessions: "
             f"+{eager[1] - eager[0]:.0f} MB over the first {CALLS}). "
             f"Target ≤ 50 MB per {CALLS} API sessions: {common.verdict(ok)}."]
    header = ["server", "RSS after warm-up (MB)"] + [f"after {CALLS * (i + 1)} calls (MB)" for i in range(ROUNDS)] + [
        "CPU per call (ms)"]
    common.publish("api_sessions", common.table(f"6. Memory over {CALLS * ROUNDS} REST API calls (a new session each)",
                                                header, rows, notes))


if __name__ == "__main__":
    main()
