"""Fair use: how many provider calls one visitor may run at once and start per minute (no gradio here).

Every chat turn, Compare column, arena side and image counts as one provider call.
A call over a limit is refused at once with a message saying what to do; it is
never queued, so one visitor's flood never makes another visitor wait.
Bookkeeping is bounded: a visitor with nothing running and no call in the last
window is forgotten.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from providers import PlaygroundError, Visitor

WINDOW_SECONDS = 60.0


def visitor_limit_key(visitor: Visitor | None) -> str:
    """Who limits count against: the app's per-request key, else the session."""
    if visitor is None:
        return ""
    return visitor.limit_key or visitor.session_id


class VisitorLimitError(PlaygroundError):
    """A visitor went over a fair-use limit; `retry_after` says when to try again, if known."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


@dataclass
class _Usage:
    running: int = 0
    started: deque[float] = field(default_factory=deque)


class FairUse:
    """Per-visitor limits on calls running at once (`max_streams`) and started per minute (`per_minute`).

    A limit of 0 means unlimited. Thread-safe; `admit` is a context manager held for the
    whole call (a stream counts until it ends, fails or is stopped).
    """

    def __init__(self, max_streams: int, per_minute: int, *, window: float = WINDOW_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_streams = max_streams
        self.per_minute = per_minute
        self.window = window
        self._clock = clock
        self._usage: dict[str, _Usage] = {}
        self._lock = threading.Lock()
        self._admitted = 0

    @contextmanager
    def admit(self, key: str) -> Iterator[None]:
        """Hold one call for `key`, or raise VisitorLimitError at once when over a limit."""
        self._enter(key)
        try:
            yield
        finally:
            with self._lock:
                usage = self._usage.get(key)
                if usage is not None:
                    usage.running -= 1

    def running(self, key: str) -> int:
        with self._lock:
            usage = self._usage.get(key)
            return usage.running if usage else 0

    def __len__(self) -> int:
        """Visitors currently tracked (bounded by activity in the last window)."""
        return len(self._usage)

    def _enter(self, key: str) -> None:
        now = self._clock()
        with self._lock:
            usage = self._usage.setdefault(key, _Usage())
            while usage.started and usage.started[0] <= now - self.window:
                usage.started.popleft()
            if self.max_streams and usage.running >= self.max_streams:
                noun = "answer is" if usage.running == 1 else "answers are"
                raise VisitorLimitError(f"{usage.running} {noun} still running for you; "
                                        "wait for one to finish (or stop one) and try again.")
            if self.per_minute and len(usage.started) >= self.per_minute:
                wait = max(1, math.ceil(usage.started[0] + self.window - now))
                raise VisitorLimitError(f"Too many requests: {self.per_minute} a minute at most. "
                                        f"Try again in {wait} s.", retry_after=wait)
            usage.running += 1
            if self.per_minute:
                usage.started.append(now)
            self._admitted += 1
            if self._admitted % 256 == 0:
                self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        idle = [key for key, usage in self._usage.items()
                if usage.running <= 0 and (not usage.started or usage.started[-1] <= now - self.window)]
        for key in idle:
            del self._usage[key]


def wait_text(seconds: int) -> str:
    """A wait as a person reads it: "40 s", "12 min"."""
    return f"{seconds} s" if seconds < 120 else f"{math.ceil(seconds / 60)} min"


def megabytes(count: int) -> str:
    """Bytes as a person reads them: "250 MB", "0.5 MB"."""
    return f"{count / 1_000_000:.3g} MB"


#: Bytes each stored file costs on top of its size (its disk entry and the app's record of it), so
#: that many tiny files count too.
FILE_CHARGE = 64 * 1024


class ByteBudget:
    """At most `limit` bytes per visitor key in any sliding `window` (0 = unlimited); thread-safe.

    `take` charges a request before it is read, or raises VisitorLimitError at once (saying when
    enough of the budget is free again); `charge` adds to what was taken without a check (costs only
    known once the request has been read). Memory is bounded as long as each charge has a floor (a key
    keeps one entry per charge in the window), and keys with nothing in the window are forgotten.
    """

    def __init__(self, limit: int, what: str, *, window: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.what = what
        self.window = window
        self._clock = clock
        self._spent: dict[str, deque[tuple[float, int]]] = {}
        self._totals: dict[str, int] = {}
        self._lock = threading.Lock()
        self._taken = 0

    def take(self, key: str, amount: int) -> None:
        """Charge `amount` bytes to `key`, or raise VisitorLimitError when that would go over the limit."""
        if not self.limit:
            return
        if amount > self.limit:
            raise VisitorLimitError(f"Too large: {self.what} may total {megabytes(self.limit)} an hour at most. "
                                    "Send fewer or smaller files at once.")
        now = self._clock()
        with self._lock:
            spent = self._expire(key, now)
            over = self._totals.get(key, 0) + amount - self.limit
            if over > 0:
                wait = max(1, math.ceil(self._freed_by(spent, over) + self.window - now))
                raise VisitorLimitError(f"Too many files: {self.what} may total {megabytes(self.limit)} an "
                                        f"hour at most. Try again in {wait_text(wait)}.", retry_after=wait)
            self._add(key, spent, now, amount)
            self._taken += 1
            if self._taken % 256 == 0:
                self._forget_idle(now)

    def charge(self, key: str, amount: int) -> None:
        """Add `amount` bytes to what `key` has spent, unchecked (it was already used)."""
        if not self.limit or amount <= 0:
            return
        now = self._clock()
        with self._lock:
            self._add(key, self._expire(key, now), now, amount)

    def spent(self, key: str) -> int:
        """Bytes `key` spent in the current window."""
        with self._lock:
            self._expire(key, self._clock())
            return self._totals.get(key, 0)

    def __len__(self) -> int:
        """Visitor keys currently tracked."""
        return len(self._spent)

    def _expire(self, key: str, now: float) -> deque[tuple[float, int]]:
        spent = self._spent.setdefault(key, deque())
        while spent and spent[0][0] <= now - self.window:
            _, amount = spent.popleft()
            self._totals[key] -= amount
        return spent

    def _add(self, key: str, spent: deque[tuple[float, int]], now: float, amount: int) -> None:
        spent.append((now, amount))
        self._totals[key] = self._totals.get(key, 0) + amount

    @staticmethod
    def _freed_by(spent: deque[tuple[float, int]], needed: int) -> float:
        """When (in clock time, before the window is added) at least `needed` bytes have expired."""
        freed = 0
        for when, amount in spent:
            freed += amount
            if freed >= needed:
                return when
        return spent[-1][0] if spent else 0.0

    def _forget_idle(self, now: float) -> None:
        for key in [key for key, spent in self._spent.items() if not spent or spent[-1][0] <= now - self.window]:
            del self._spent[key]
            self._totals.pop(key, None)
