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

from providers import PlaygroundError

WINDOW_SECONDS = 60.0


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
