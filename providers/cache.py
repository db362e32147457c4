"""A small async time-to-live cache for lazily fetched data (model lists, metadata)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class TTLCache(Generic[T]):
    """Values fetched on first use, kept for `ttl` seconds, with a fallback when fetching fails.

    Concurrent callers for the same key share one fetch. A failed fetch returns
    the stale value if there is one, else the fallback, and is retried after
    `retry_after` seconds rather than on every call.
    """

    def __init__(self, ttl: float, *, retry_after: float = 30.0) -> None:
        self.ttl = ttl
        self.retry_after = retry_after
        self._values: dict[Hashable, tuple[float, T]] = {}
        self._inflight: dict[Hashable, asyncio.Future] = {}

    def peek(self, key: Hashable) -> T | None:
        """The cached value, fresh or stale, without fetching."""
        entry = self._values.get(key)
        return entry[1] if entry else None

    async def get(self, key: Hashable, fetch: Callable[[], Awaitable[T]], fallback: T) -> T:
        entry = self._values.get(key)
        now = time.monotonic()
        if entry and entry[0] > now:
            return entry[1]
        inflight = self._inflight.get(key)
        if inflight is not None:
            return await asyncio.shield(inflight)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await fetch()
            self._values[key] = (time.monotonic() + self.ttl, value)
        except asyncio.CancelledError:
            self._inflight.pop(key, None)
            future.cancel()
            raise
        except Exception as exc:
            logger.warning("Fetching %s failed (%s); using %s", key, exc,
                           "the previous value" if entry else "the built-in fallback")
            value = entry[1] if entry else fallback
            self._values[key] = (time.monotonic() + self.retry_after, value)
        finally:
            self._inflight.pop(key, None)
        future.set_result(value)
        return value

    def clear(self) -> None:
        self._values.clear()
