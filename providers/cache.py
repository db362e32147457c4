"""A small async time-to-live cache for lazily fetched data (model lists, metadata).

Bounded in size and age, because some keys are typed by visitors (model ids):

- at most `max_entries` values (default MODEL_CACHE_MAX_ENTRIES, 1024; least recently
  used evicted first);
- a value is fresh for `ttl` seconds, then kept as the fallback for a failed refetch
  for `keep_stale` more seconds (default: another `ttl`), then dropped;
- a failure is never stored as a value: a key whose fetch failed (or whose answer
  `is_negative` marks, e.g. "the Hub does not know this model") gets a short negative
  entry for `retry_after` seconds, so it is not refetched on every call, in a separate
  pool of at most `max_negative` entries (default 256, oldest evicted first), so a
  flood of made-up ids can never push out the values that matter.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from .model_ids import shown
from .settings import HttpSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Defaults for every cache (see the module docstring).
DEFAULT_MAX_ENTRIES = 1024
DEFAULT_MAX_NEGATIVE = 256
_MISSING = object()


def describe_key(key: Hashable) -> str:
    """A cache key as it may appear in a log line: every part quoted and bounded."""
    parts = key if isinstance(key, tuple) else (key,)
    return ", ".join(shown(str(part)) for part in parts)


class TTLCache(Generic[T]):
    """Values fetched on first use and kept for `ttl` seconds, with a fallback when fetching fails.

    Concurrent callers for the same key share one fetch. A failed fetch returns
    the stale value if there is one, else the fallback, and is retried after
    `retry_after` seconds rather than on every call.
    """

    def __init__(self, ttl: float, *, retry_after: float = 30.0, max_entries: int | None = None,
                 max_negative: int = DEFAULT_MAX_NEGATIVE, keep_stale: float | None = None,
                 is_negative: Callable[[T], bool] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.retry_after = retry_after
        if max_entries is None:
            max_entries = HttpSettings.current().model_cache_max_entries
        self.max_entries = max(1, max_entries)
        self.max_negative = max(1, max_negative)
        self.keep_stale = ttl if keep_stale is None else keep_stale
        self.is_negative = is_negative
        self._clock = clock
        #: key -> (fresh until, value, fetched at); least recently used first.
        self._values: OrderedDict[Hashable, tuple[float, T, float]] = OrderedDict()
        #: key -> (retry after, what to answer until then or _MISSING for the caller's fallback).
        self._negative: OrderedDict[Hashable, tuple[float, object]] = OrderedDict()
        self._inflight: dict[Hashable, asyncio.Future] = {}

    def __len__(self) -> int:
        return len(self._values) + len(self._negative)

    def peek(self, key: Hashable) -> T | None:
        """The cached value, fresh or stale, without fetching (never a failure's fallback)."""
        entry = self._entry(key, self._clock())
        return entry[1] if entry else None

    def _entry(self, key: Hashable, now: float) -> tuple[float, T, float] | None:
        entry = self._values.get(key)
        if entry is not None and now - entry[2] > self.ttl + self.keep_stale:
            del self._values[key]  # too old even as a fallback
            return None
        return entry

    async def get(self, key: Hashable, fetch: Callable[[], Awaitable[T]], fallback: T) -> T:
        now = self._clock()
        entry = self._entry(key, now)
        if entry and entry[0] > now:
            self._values.move_to_end(key)
            return entry[1]
        negative = self._negative.get(key)
        if negative is not None:
            if negative[0] > now:
                if negative[1] is not _MISSING:
                    return negative[1]  # type: ignore[return-value]
                return entry[1] if entry else fallback
            del self._negative[key]
        inflight = self._inflight.get(key)
        if inflight is not None:
            return await asyncio.shield(inflight)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await fetch()
            if self.is_negative is not None and self.is_negative(value):
                self._remember_failure(key, value)
            else:
                self._store(key, value)
        except asyncio.CancelledError:
            self._inflight.pop(key, None)
            future.cancel()
            raise
        except Exception as exc:
            logger.warning("Fetching %s failed (%s); using %s", describe_key(key), shown(str(exc), 200),
                           "the previous value" if entry else "the built-in fallback")
            value = entry[1] if entry else fallback
            self._remember_failure(key, _MISSING)
        finally:
            self._inflight.pop(key, None)
        future.set_result(value)
        return value

    def _store(self, key: Hashable, value: T) -> None:
        now = self._clock()
        self._negative.pop(key, None)
        self._values[key] = (now + self.ttl, value, now)
        self._values.move_to_end(key)
        while len(self._values) > self.max_entries:
            self._values.popitem(last=False)

    def _remember_failure(self, key: Hashable, answer: object) -> None:
        """A short negative entry: no refetch for `retry_after` s.

        After a failure a stale value (if any) is kept and answered; a negative answer replaces it.
        """
        if answer is not _MISSING:
            self._values.pop(key, None)
        self._negative[key] = (self._clock() + self.retry_after, answer)
        self._negative.move_to_end(key)
        while len(self._negative) > self.max_negative:
            self._negative.popitem(last=False)

    def clear(self) -> None:
        self._values.clear()
        self._negative.clear()
