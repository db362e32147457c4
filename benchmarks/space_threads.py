"""Benchmark 7: threads of the server after 100 Phi-4 calls, and after idle visitors expire.

Phi-4 runs on a stateful Space, so the playground gives every visitor a gradio_client Client of
its own (a heartbeat thread and worker pools). Here a local fake Phi-4 Space (tests/support/
fake_spaces.py, `benchmarks/space_server.py`) stands in for it; the playground (only the Phi-4
provider, PHI4_SPACE pointed at the fake) gets 100 REST API calls, each a new session and so a
new visitor, 10 at a time. Threads are read from /proc/<pid>/status: at start; as the baseline,
after a warm-up of 10 calls whose visitors then expired; right after the 100 calls; then every
0.5 s until back at the baseline (or the window ends). The idle bound is set low for the
benchmark (PLAYGROUND_VISITOR_IDLE_SECONDS=5). For reference the same app with expiry out of
reach (idle bound one day) shows the threads that stayed before. Target: back to the baseline.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import common
from tests.reliability.light_client import call, chat_data, http_client

CALLS = 100
PARALLEL = 10
IDLE_SECONDS = 5
WINDOW = 60.0


def threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise RuntimeError("no Threads line")


async def calls(client, url: str, count: int) -> int:
    """Run `count` Phi-4 chats; returns how many answers ended cut short (completed, last words missing)."""
    gate = asyncio.Semaphore(PARALLEL)

    async def one(i: int) -> bool:
        async with gate:
            result = await call(client, url, "chat", chat_data(f"hello {i}", "phi4", "phi-4-multimodal"))
            assert result.completed and str(result.final).startswith("Turn"), result.error or result.final
            return str(result.final).endswith("messages: 1.")

    whole = await asyncio.gather(*(one(i) for i in range(count)))
    return whole.count(False)


async def settle(pid: int, target: int | None, window: float) -> tuple[int, float]:
    """Threads once at or below `target` (or at the end of the window, or after `window` when None)."""
    started = time.monotonic()
    count = threads(pid)
    while time.monotonic() - started < window:
        count = threads(pid)
        if target is not None and count <= target:
            break
        await asyncio.sleep(0.5)
    return count, time.monotonic() - started


async def measure(url: str, pid: int, expires: bool) -> dict[str, float]:
    async with http_client(connections=PARALLEL * 2 + 4) as client:
        await asyncio.sleep(1)
        start = threads(pid)
        await calls(client, url, PARALLEL)  # warm-up: the app's own pools reach their working size
        if expires:
            # The warm-up visitors expire; the count then levels off (pools keep their idle threads).
            await asyncio.sleep(IDLE_SECONDS + 2)
            previous = -1
            while (current := threads(pid)) != previous:
                previous = current
                await asyncio.sleep(3)
            baseline = current
        else:
            baseline = threads(pid)
        cut = await calls(client, url, CALLS)
        after = threads(pid)
        end, seconds = await settle(pid, baseline if expires else None, WINDOW if expires else 20.0)
    return {"start": start, "baseline": baseline, "after": after, "end": end, "seconds": seconds, "cut": cut}


def main() -> None:
    figures = {}
    with common.process(["benchmarks/space_server.py"]) as (space_url, _, _):
        env = {"PLAYGROUND_PROVIDERS": "phi4", "PHI4_SPACE": space_url, "SPACES_TIMEOUT": "60"}
        with common.process(["app.py"], {**env, "PLAYGROUND_VISITOR_IDLE_SECONDS": str(IDLE_SECONDS)}) as (
                url, proc, _):
            figures[f"playground, idle bound {IDLE_SECONDS} s"] = asyncio.run(measure(url, proc.pid, True))
        with common.process(["app.py"], {**env, "PLAYGROUND_VISITOR_IDLE_SECONDS": "86400"}) as (url, proc, _):
            figures["playground, no expiry in reach (as before)"] = asyncio.run(measure(url, proc.pid, False))
    rows = [[name, f["start"], f["baseline"], f["after"], f["end"], f"{f['seconds']:.1f}"]
            for name, f in figures.items()]
    ours = figures[f"playground, idle bound {IDLE_SECONDS} s"]
    ok = ours["end"] <= ours["baseline"]
    notes = [f"{CALLS} Phi-4 chats through /gradio_api/call/chat, each with no session (a new visitor and a new "
             f"Client of the fake Space), {PARALLEL} at a time. \"baseline\": after {PARALLEL} warm-up calls "
             "whose visitors expired (the asyncio and anyio worker pools keep their threads); \"later\": when "
             f"back at the baseline, else after the window ({WINDOW:.0f} s; 20 s for the reference row). "
             "A released Client's heartbeat thread ends at the Space's next heartbeat (Gradio's 15 s), its "
             "pools when the Client is collected.",
             f"Threads back to the baseline after expiry: {common.verdict(ok)} "
             f"({ours['after'] - ours['baseline']:+d} after the calls, {ours['end'] - ours['baseline']:+d} "
             f"{ours['seconds']:.0f} s later).",
             f"Answers that ended cut short (completed without their last words): "
             f"{', '.join(str(f['cut']) for f in figures.values())} of {CALLS} per row; not an expiry effect (the row "
             "without expiry has them too). 0 is expected: Space.stream ends every stream with the job's result, "
             "since gradio_client applies streamed diffs to earlier outputs in place."]
    common.publish("space_threads", common.table(
        f"7. Threads after {CALLS} Phi-4 calls (a Space client per visitor)",
        ["server", "at start", "baseline", f"after {CALLS} calls", "later", "seconds after the calls"], rows, notes))


if __name__ == "__main__":
    main()
