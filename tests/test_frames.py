"""Coalescing streamed updates into frames."""

from __future__ import annotations

import asyncio

from ui.frames import frames


async def _ticks(count: int, gap: float):
    for i in range(count):
        if gap:
            await asyncio.sleep(gap)
        yield i


async def test_fast_stream_is_coalesced_with_first_and_last_items_sent():
    out = [item async for item in frames(_ticks(500, 0), 0.05)]
    assert out[0] == 0 and out[-1] == 499
    assert len(out) <= 3


async def test_slow_stream_passes_every_item():
    out = [item async for item in frames(_ticks(5, 0.03), 0.01)]
    assert out == [0, 1, 2, 3, 4]


async def test_pending_item_is_sent_when_the_source_goes_quiet():
    async def burst_then_pause():
        yield "a"
        yield "b"
        await asyncio.sleep(0.3)
        yield "c"

    seen: list[tuple[str, float]] = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    async for item in frames(burst_then_pause(), 0.05):
        seen.append((item, loop.time() - start))
    assert [item for item, _ in seen] == ["a", "b", "c"]
    assert seen[1][1] < 0.25  # "b" went out during the pause, not with "c"


async def test_zero_interval_passes_everything():
    assert [i async for i in frames(_ticks(4, 0), 0)] == [0, 1, 2, 3]


async def test_closing_early_closes_the_source():
    closed = asyncio.Event()

    async def source():
        try:
            for i in range(100):
                await asyncio.sleep(0.001)
                yield i
        finally:
            closed.set()

    stream = frames(source(), 0.01)
    async for _ in stream:
        break
    await stream.aclose()
    assert closed.is_set()


def test_pacer_slows_frames_as_streams_pile_up():
    from ui.frames import FramePacer

    pacer = FramePacer(0.04, streams_per_step=8, max_interval=0.25)
    assert pacer.interval() == 0.04
    pacer.active = 8
    assert pacer.interval() == 0.04
    pacer.active = 16
    assert abs(pacer.interval() - 0.08) < 1e-9
    pacer.active = 500
    assert pacer.interval() == 0.25
    assert FramePacer(0).interval() == 0


async def test_frames_count_active_streams_on_the_pacer():
    from ui.frames import FramePacer

    pacer = FramePacer(0.01)
    seen: list[int] = []
    async for _ in frames(_ticks(3, 0.02), pacer):
        seen.append(pacer.active)
    assert seen == [1, 1, 1] and pacer.active == 0
