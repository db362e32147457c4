"""Benchmark 1: relay overhead of one 200-token stream.

Time to first token and total time through the playground's /chat, against the same local
provider called directly and through the bare Gradio relay; medians over repeats, measured
interleaved in one run. Target: the playground within 10% of the bare relay on both.
"""

from __future__ import annotations

import asyncio
import time

import common
from tests.reliability.light_client import call, chat_data, http_client

TOKENS = 200
TOKEN_DELAY = 0.005  # seconds per token at the provider
REPEATS = 9
#: One visitor's session, as a browser tab or a gradio_client.Client keeps it. Without a
#: session every call is a new visitor, and Gradio builds per-session state for every
#: component of the app first (a cost that grows with the app's size; reported separately).
VISITOR = "benchmark-visitor"


async def direct(client, provider_url: str, text: str) -> tuple[float, float]:
    body = {"model": common.MODEL, "messages": [{"role": "user", "content": text}], "stream": True}
    started, first = time.perf_counter(), None
    async with client.stream("POST", provider_url + "/v1/chat/completions", json=body) as response:
        async for line in response.aiter_lines():
            if first is None and line.startswith("data:") and '"content": "' in line and '"content": ""' not in line:
                first = time.perf_counter()
    return first - started, time.perf_counter() - started


async def through(client, url: str, text: str, session: str | None = VISITOR) -> tuple[float, float]:
    result = await call(client, url, "chat", chat_data(text, "openai-compatible", common.MODEL),
                        session_hash=session)
    assert result.completed and len(result.final.split()) == TOKENS, result.error
    return result.time_to_first_update, result.seconds


async def measure(provider_url: str, app_url: str, relay_url: str) -> dict[str, list[tuple[float, float]]]:
    text = common.words_for(TOKENS)
    samples: dict[str, list[tuple[float, float]]] = {
        "direct": [], "bare relay": [], "playground": [],
        "bare relay, new visitor each call": [], "playground, new visitor each call": []}
    async with http_client() as client:
        for _ in range(2):  # warm-up: connections, model list, imports, the visitor's session
            await through(client, app_url, text)
            await through(client, relay_url, text)
        for _ in range(REPEATS):
            samples["direct"].append(await direct(client, provider_url, text))
            samples["bare relay"].append(await through(client, relay_url, text))
            samples["playground"].append(await through(client, app_url, text))
            samples["bare relay, new visitor each call"].append(await through(client, relay_url, text, None))
            samples["playground, new visitor each call"].append(await through(client, app_url, text, None))
    return samples


def main() -> None:
    with common.provider(TOKEN_DELAY) as provider_url, common.app(provider_url) as (app_url, _, _), \
            common.bare_relay(provider_url) as (relay_url, _, _):
        samples = asyncio.run(measure(provider_url, app_url, relay_url))
    ttft = {k: common.median(s[0] for s in v) for k, v in samples.items()}
    total = {k: common.median(s[1] for s in v) for k, v in samples.items()}
    rows = [[name, f"{ttft[name] * 1000:.1f}", f"{total[name] * 1000:.0f}",
             f"{ttft[name] / ttft['bare relay']:.2f}×", f"{total[name] / total['bare relay']:.2f}×"]
            for name in samples]
    ok_ttft = ttft["playground"] <= 1.10 * ttft["bare relay"]
    ok_total = total["playground"] <= 1.10 * total["bare relay"]
    fresh = ttft["playground, new visitor each call"] / ttft["bare relay, new visitor each call"]
    notes = [f"{TOKENS}-token stream, {TOKEN_DELAY * 1000:.0f} ms per token at the provider, median of {REPEATS} "
             "interleaved runs. Through a relay, the first token is the first streamed update. The first three "
             "rows are one returning visitor (one Gradio session, as a browser tab or a gradio_client.Client "
             "keeps it); the last two start a new session on every call, where Gradio first builds per-session "
             f"state for every component of the app (first token {fresh:.2f}× the bare relay's).",
             f"Target: playground within 1.10× of the bare relay. Time to first token: {common.verdict(ok_ttft)}; "
             f"total: {common.verdict(ok_total)}."]
    common.publish("relay_overhead", common.table(
        "1. Relay overhead (one 200-token stream)",
        ["path", "first token (ms)", "total (ms)", "first token vs bare", "total vs bare"], rows, notes))


if __name__ == "__main__":
    main()
