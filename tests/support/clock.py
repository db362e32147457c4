"""A clock tests move by hand, for code that takes a `clock` callable (time.monotonic by default)."""

from __future__ import annotations


class Clock:
    """Returns `now`; a test moves time by changing it."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
