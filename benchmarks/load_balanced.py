"""Benchmark: 200 returning visitors streaming at once through one app process, and through two app
processes behind HAProxy (deploy/serve_many.sh) on the same machine.

Each visitor keeps its Gradio session and its load-balancer cookie (SERVERID, given on its first page
load), as a browser tab does, and asks for a 40-token answer from a local provider that takes 20 ms per
token. Per round: streams completed whole, wall time of all 200, and the 50th and 95th percentile of
the time to first content; medians over rounds, the setups interleaved. "one process behind HAProxy"
shows the proxy's own cost. The load client runs on the same cores as the servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import statistics
import tempfile
import time

import common
import httpx

from tests.reliability.light_client import call, chat_data
from tests.support.serve_many import (
    COOKIE,
    affinity_cookie,
    haproxy_missing,
    serve_many,
    visitors_client,
)

VISITORS = 200
TOKENS = 40
TOKEN_DELAY = 0.02
ROUNDS = 2


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def _call(*args, **kwargs):
    """One visitor's stream, or None when its connection failed (counted as not completed)."""
    try:
        return await call(*args, **kwargs)
    except httpx.TransportError as exc:
        logging.warning("a stream's connection failed: %r", exc)
        return None


class Setup:
    """One way of serving: its URL and each visitor's cookie and session."""

    def __init__(self, name: str, url: str) -> None:
        self.name, self.url = name, url
        self.cookies: list[str] = []

    async def arrive(self, client) -> None:
        """Every visitor loads the page once (getting its cookie); then one warm-up round."""
        self.cookies = list(await asyncio.gather(*(affinity_cookie(client, self.url) for _ in range(VISITORS))))
        await self.round(client)

    async def round(self, client) -> tuple[int, float, float, float]:
        text = common.words_for(TOKENS)
        started = time.perf_counter()
        results = await asyncio.gather(*(
            _call(client, self.url, "chat", chat_data(text, "openai-compatible", common.MODEL),
                 headers={"Cookie": f"{COOKIE}={cookie}"} if cookie else None,
                 session_hash=f"{self.name}-visitor-{i}")
            for i, cookie in enumerate(self.cookies)))
        wall = time.perf_counter() - started
        whole = [r for r in results if r is not None and r.completed and r.final and len(r.final.split()) == TOKENS]
        firsts = [r.time_to_first_update for r in whole if r.time_to_first_update is not None]
        return len(whole), wall, percentile(firsts, 0.5), percentile(firsts, 0.95)


async def measure(setups: list[Setup]) -> dict[str, list[tuple]]:
    samples: dict[str, list[tuple]] = {s.name: [] for s in setups}
    async with visitors_client(VISITORS * 2 + 10) as client:
        for setup in setups:
            await setup.arrive(client)
        for _ in range(ROUNDS):
            for setup in setups:
                samples[setup.name].append(await setup.round(client))
    return samples


def main() -> None:
    if reason := haproxy_missing():
        raise SystemExit(reason)
    data = tempfile.mkdtemp(prefix="bench-lb-")
    with common.provider(TOKEN_DELAY) as provider_url, contextlib.ExitStack() as stack:
        env = {"PLAYGROUND_PROVIDERS": "openai-compatible", "OPENAI_COMPAT_BASE_URL": provider_url + "/v1",
               "LOG_LEVEL": "WARNING", "ARENA_DATABASE_URL": f"sqlite:///{data}/arena.db"}
        one_url, _, _ = stack.enter_context(common.app(provider_url, ARENA_DATABASE_URL=env["ARENA_DATABASE_URL"]))
        proxied_one, _ = stack.enter_context(serve_many(1, env, log_path=os.path.join(data, "one.log")))
        proxied_two, _ = stack.enter_context(serve_many(2, env, log_path=os.path.join(data, "two.log")))
        setups = [Setup("one process", one_url), Setup("one process behind HAProxy", proxied_one),
                  Setup("two processes behind HAProxy", proxied_two)]
        samples = asyncio.run(measure(setups))
    rows = []
    for name, rounds in samples.items():
        completed = min(r[0] for r in rounds)
        rows.append([name, f"{completed}/{VISITORS}", f"{statistics.median(r[1] for r in rounds):.2f}",
                     f"{statistics.median(r[2] for r in rounds):.2f}", f"{statistics.median(r[3] for r in rounds):.2f}"])
    one, two = (statistics.median(r[2] for r in samples[n]) for n in ("one process", "two processes behind HAProxy"))
    notes = [f"{VISITORS} returning visitors at once, {TOKENS}-token answers, {TOKEN_DELAY * 1000:.0f} ms per token at "
             f"the provider; median of {ROUNDS} rounds after a warm-up round. Completed: the fewest streams that "
             "ended whole in any round. First content: from the request to the first streamed update.",
             f"Two processes vs one: median first content {two / one:.2f}×. Measured on {os.cpu_count()} cores "
             "shared by the servers, HAProxy, the provider and the load client."]
    common.publish("load_balanced", common.table(
        f"Several processes behind one address ({VISITORS} returning visitors)",
        ["setup", "streams completed", "wall (s)", "p50 first content (s)", "p95 first content (s)"], rows, notes))


if __name__ == "__main__":
    main()
