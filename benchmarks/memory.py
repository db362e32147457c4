"""Benchmark 5: resident memory (VmRSS) of the server process, idle and with 50 open sessions.

"Open sessions": 50 visitors each streaming a slow answer at once (measured mid-stream),
then the same 50 visitors idle after their turn (their per-visitor state kept). The bare
relay is shown for reference. No target is set by the issue.
"""

from __future__ import annotations

import asyncio

import common
from tests.reliability.light_client import call, chat_data, http_client

SESSIONS = 50
TOKENS = 60
TOKEN_DELAY = 0.05


async def measure(url: str, pid: int) -> tuple[float, float, float, float]:
    async with http_client(connections=SESSIONS * 2 + 10) as client:
        await call(client, url, "chat", chat_data("warm up", "openai-compatible", common.MODEL))
        await asyncio.sleep(0.5)
        idle = common.rss_mb(pid)
        text = common.words_for(TOKENS)
        streams = [asyncio.create_task(call(client, url, "chat", chat_data(text, "openai-compatible", common.MODEL)))
                   for _ in range(SESSIONS)]
        peak = idle
        while not all(s.done() for s in streams):
            peak = max(peak, common.rss_mb(pid))
            await asyncio.sleep(0.1)
        results = [s.result() for s in streams]
        assert all(r.completed for r in results), [r.error for r in results if not r.completed][:3]
        await asyncio.sleep(0.5)
        after = common.rss_mb(pid)
    return idle, peak, after, peak - idle


def main() -> None:
    figures = {}
    with common.provider(TOKEN_DELAY) as provider_url:
        with common.bare_relay(provider_url) as (url, proc, _):
            figures["bare relay"] = asyncio.run(measure(url, proc.pid))
        with common.app(provider_url) as (url, proc, _):
            figures["playground"] = asyncio.run(measure(url, proc.pid))
    rows = [[name, f"{idle:.0f}", f"{peak:.0f}", f"{after:.0f}", f"{(peak - idle) / SESSIONS * 1024:.0f}"]
            for name, (idle, peak, after, _) in figures.items()]
    notes = [f"{SESSIONS} visitors streaming {TOKENS}-token answers at once ({TOKEN_DELAY * 1000:.0f} ms per token); "
             "RSS sampled every 0.1 s. \"after\" is once all streams ended, the visitors' state still held."]
    common.publish("memory", common.table(
        "5. Memory (resident, MB)", ["server", "idle", f"{SESSIONS} open sessions (peak)", "after",
                                     "per open session (KB)"], rows, notes))


if __name__ == "__main__":
    main()
