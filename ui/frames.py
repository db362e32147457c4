"""Coalescing a fast stream into frames: the first item at once, then at most one per interval.

Every update a Gradio event yields costs the app CPU, whatever its size, so the
interval grows with the number of streams running at once (`FramePacer`): a lone
visitor sees smooth frames, and fifty visitors at once do not saturate the app.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TypeVar

T = TypeVar("T")


class FramePacer:
    """The frame interval for the streams of one app, from how many are running now.

    `base` seconds while at most `streams_per_step` streams run; beyond that the
    interval grows in proportion, up to `max_interval`.
    """

    def __init__(self, base: float, *, streams_per_step: int = 8, max_interval: float = 0.25) -> None:
        self.base = base
        self.streams_per_step = max(1, streams_per_step)
        self.max_interval = max(base, max_interval)
        self.active = 0

    def interval(self) -> float:
        if self.base <= 0:
            return 0.0
        return min(self.max_interval, self.base * max(1.0, self.active / self.streams_per_step))


async def frames(source: AsyncIterator[T], pace: float | FramePacer) -> AsyncIterator[T]:
    """Yield the latest item of `source` at most once per interval (seconds, or a FramePacer's).

    The first item goes out immediately, an item left pending is sent when the
    interval elapses even if the source is silent, and the final item is always
    sent. With an interval <= 0 every item passes through.
    """
    pacer = pace if isinstance(pace, FramePacer) else FramePacer(pace, max_interval=pace)
    inner = _frames(source.__aiter__(), pacer)
    pacer.active += 1
    try:
        async for item in inner:
            yield item
    finally:
        pacer.active -= 1
        await inner.aclose()


async def _frames(iterator: AsyncIterator[T], pacer: FramePacer) -> AsyncIterator[T]:
    last_sent = float("-inf")
    pending: T | None = None
    has_pending = False
    waiting: asyncio.Future | None = None
    try:
        while True:
            if has_pending:
                if waiting is None:
                    waiting = asyncio.ensure_future(iterator.__anext__())
                remaining = last_sent + pacer.interval() - time.monotonic()
                done, _ = await asyncio.wait({waiting}, timeout=max(0.0, remaining))
                if not done:
                    yield pending  # type: ignore[misc]
                    last_sent, has_pending = time.monotonic(), False
                    continue
                step, waiting = waiting, None
                try:
                    item = step.result()
                except StopAsyncIteration:
                    break
            else:
                try:
                    if waiting is not None:  # a step started while a frame was pending
                        step, waiting = waiting, None
                        item = await step
                    else:
                        item = await iterator.__anext__()
                except StopAsyncIteration:
                    break
            now = time.monotonic()
            if now - last_sent >= pacer.interval():
                yield item
                last_sent, has_pending = now, False
            else:
                pending, has_pending = item, True
        if has_pending:
            yield pending  # type: ignore[misc]
    finally:
        if waiting is not None and not waiting.done():
            waiting.cancel()
            try:
                await waiting
            except (asyncio.CancelledError, StopAsyncIteration, Exception):
                pass
        close = getattr(iterator, "aclose", None)
        if close is not None:
            await close()
