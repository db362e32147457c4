"""Every name look-up and outgoing connection this process makes while a block runs (an audit hook).

`socket.getaddrinfo` and `socket.connect` raise audit events (PEP 578) whatever library makes
them, so "no request to any other host" is checked for every host and port, not only a trap's.
The hook is installed once per process (audit hooks cannot be removed) and records only inside
`network_activity()`.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Activity:
    """What the process looked up and connected to."""

    lookups: list[str] = field(default_factory=list)
    connections: list[tuple] = field(default_factory=list)

    def ports(self) -> set[int]:
        return {port for _, port in self.connections}


class _Recorder:
    lock = threading.Lock()
    current: Activity | None = None

    @classmethod
    def hook(cls, event: str, args: tuple) -> None:
        activity = cls.current
        if activity is None:
            return
        if event == "socket.getaddrinfo":
            with cls.lock:
                activity.lookups.append(str(args[0]))
        elif event == "socket.connect" and isinstance(args[1], tuple):
            with cls.lock:
                activity.connections.append(tuple(args[1][:2]))


sys.addaudithook(_Recorder.hook)


@contextmanager
def network_activity() -> Iterator[Activity]:
    """Yields the look-ups and connections made (by any thread) while the block runs."""
    activity = Activity()
    with _Recorder.lock:
        _Recorder.current = activity
    try:
        yield activity
    finally:
        with _Recorder.lock:
            _Recorder.current = None
