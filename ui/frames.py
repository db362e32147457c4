"""Coalescing a fast stream into frames: the first item at once, then at most one per interval."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TypeVar

T = TypeVar("T")


async def frames(source: AsyncIterator[T], interval: float) -> AsyncIterator[T]:
    """Yield the latest item of `source` at most every `interval` seconds.

    The first item goes out immediately, an item left pending is sent when the
    interval elapses even if the source is silent, and the final item is always
    sent. With `interval` <= 0 every item passes through.
    """
    iterator = source.__aiter__()
    if interval <= 0:
        async for item in iterator:
            yield item
        return
    last_sent = float("-inf")
    pending: T | None = None
    has_pending = False
    waiting: asyncio.Future | None = None
    try:
        while True:
            if has_pending:
                if waiting is None:
                    waiting = asyncio.ensure_future(iterator.__anext__())
                remaining = last_sent + interval - time.monotonic()
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
            if now - last_sent >= interval:
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
