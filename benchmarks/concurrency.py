"""Benchmark 2: 50 simultaneous /chat streams against a provider with a fixed per-token latency.

The playground and the bare relay run as their own processes; the load comes from one
light asyncio client (Gradio's HTTP call API). Measured per round: wall time of all
streams, the server process's CPU seconds per stream (/proc/<pid>/stat), median time to
first token; medians over rounds, the two servers interleaved. Each round runs twice: for
50 returning visitors (each keeps its Gradio session, as a browser tab does) and with a new
session per call (as REST API callers do).
Targets, returning visitors: wall time ≤ 0.75× the bare relay's, CPU per stream ≤ 0.5× the
bare relay's, time to first token unchanged. New session per call: CPU per stream ≤ 0.75× and
first token ≤ 1.2× the bare relay's.
"""

from __future__ import annotations

import asyncio
import time

import common
from tests.reliability.light_client import call, chat_data, http_client

STREAMS = 50
TOKENS = 40
TOKEN_DELAY = 0.02
ROUNDS = 3


#: The simulated visitors' sessions (as browser tabs keep them), reused across rounds.
VISITORS = [f"benchmark-visitor-{i}" for i in range(STREAMS)]


async def round_of(client, url: str, pid: int, *, returning: bool = True) -> tuple[float, float, float, int]:
    text = common.words_for(TOKENS)
    sessions = VISITORS if returning else [None] * STREAMS
    cpu, started = common.cpu_seconds(pid), time.perf_counter()
    results = await asyncio.gather(*(call(client, url, "chat", chat_data(text, "openai-compatible", common.MODEL),
                                          session_hash=session)
                                     for session in sessions))
    wall = time.perf_counter() - started
    used = common.cpu_seconds(pid) - cpu
    assert all(r.completed and len(r.final.split()) == TOKENS for r in results), [r.error for r in results][:3]
    ttft = common.median(r.time_to_first_update for r in results)
    updates = sum(len(r.updates) for r in results) // STREAMS
    return wall, used / STREAMS, ttft, updates


async def single(client, url: str) -> float:
    result = await call(client, url, "chat", chat_data(common.words_for(TOKENS), "openai-compatible", common.MODEL),
                        session_hash=VISITORS[0])
    return result.seconds


async def measure(servers: dict[str, tuple[str, int]]) -> dict[str, dict[str, float]]:
    samples: dict[str, list] = {name: [] for name in servers}
    fresh: dict[str, list] = {name: [] for name in servers}
    alone: dict[str, list] = {name: [] for name in servers}
    async with http_client(connections=STREAMS * 2 + 10) as client:
        for name, (url, pid) in servers.items():  # warm-up, and the visitors' sessions
            await round_of(client, url, pid)
        for _ in range(ROUNDS):
            for name, (url, pid) in servers.items():
                alone[name].append(await single(client, url))
                samples[name].append(await round_of(client, url, pid))
                fresh[name].append(await round_of(client, url, pid, returning=False))
    return {name: {"wall": common.median(s[0] for s in rows), "cpu": common.median(s[1] for s in rows),
                   "ttft": common.median(s[2] for s in rows), "updates": rows[-1][3],
                   "alone": common.median(alone[name]),
                   "fresh_wall": common.median(s[0] for s in fresh[name]),
                   "fresh_cpu": common.median(s[1] for s in fresh[name]),
                   "fresh_ttft": common.median(s[2] for s in fresh[name])}
            for name, rows in samples.items()}


def main() -> None:
    with common.provider(TOKEN_DELAY) as provider_url, common.app(provider_url) as (app_url, app_proc, _), \
            common.bare_relay(provider_url) as (relay_url, relay_proc, _):
        figures = asyncio.run(measure({"bare relay": (relay_url, relay_proc.pid),
                                       "playground": (app_url, app_proc.pid)}))
    bare, ours = figures["bare relay"], figures["playground"]
    rows = [[name, f"{f['alone']:.2f}", f"{f['wall']:.2f}", f"{f['wall'] / f['alone']:.1f}×",
             f"{f['cpu'] * 1000:.0f}", f"{f['ttft'] * 1000:.0f}", f["updates"]] for name, f in figures.items()]
    ok_wall = ours["wall"] <= 0.75 * bare["wall"]
    ok_cpu = ours["cpu"] <= 0.5 * bare["cpu"]
    ok_ttft = ours["ttft"] <= 1.10 * bare["ttft"]
    ok_fresh_cpu = ours["fresh_cpu"] <= 0.75 * bare["fresh_cpu"]
    ok_fresh_ttft = ours["fresh_ttft"] <= 1.2 * bare["fresh_ttft"]
    rows += [[f"{name}, new session per call", "", f"{f['fresh_wall']:.2f}", f"{f['fresh_wall'] / f['alone']:.1f}×",
              f"{f['fresh_cpu'] * 1000:.0f}", f"{f['fresh_ttft'] * 1000:.0f}", ""] for name, f in figures.items()]
    notes = [f"{STREAMS} simultaneous {TOKENS}-token streams, {TOKEN_DELAY * 1000:.0f} ms per token at the provider; "
             f"median of {ROUNDS} rounds. CPU is the server process's user+system time per stream. "
             f"The first rows are {STREAMS} returning visitors (each keeps its Gradio session, as a browser tab "
             "does); the 'new session per call' rows send no session, as REST API callers do, so every call "
             "opens a Gradio session and a visitor (the playground builds each block's session config only "
             "when an event touches it: ui/session_state.py).",
             f"Returning visitors, playground vs bare relay: wall {ours['wall'] / bare['wall']:.2f}× "
             f"(target ≤ 0.75×: {common.verdict(ok_wall)}), "
             f"CPU per stream {ours['cpu'] / bare['cpu']:.2f}× (target ≤ 0.5×: {common.verdict(ok_cpu)}), "
             f"time to first token {ours['ttft'] / bare['ttft']:.2f}× (target ≈ 1×: {common.verdict(ok_ttft)}).",
             f"New session per call, playground vs bare relay: wall {ours['fresh_wall'] / bare['fresh_wall']:.2f}×, "
             f"CPU per stream {ours['fresh_cpu'] / bare['fresh_cpu']:.2f}× (target ≤ 0.75×: "
             f"{common.verdict(ok_fresh_cpu)}), time to first token {ours['fresh_ttft'] / bare['fresh_ttft']:.2f}× "
             f"(target ≤ 1.2×: {common.verdict(ok_fresh_ttft)})."]
    common.publish("concurrency", common.table(
        "2. Concurrency (50 simultaneous /chat streams)",
        ["server", "one stream alone (s)", "50 streams wall (s)", "wall vs alone", "CPU per stream (ms)",
         "median first token (ms)", "updates per stream"], rows, notes))


if __name__ == "__main__":
    main()
