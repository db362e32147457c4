"""The benchmarks' local provider as its own process, so it never competes with the load client.

Usage: python benchmarks/provider_server.py PORT TOKEN_DELAY
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.hf_server import HfServer  # noqa: E402


class QuietServer(HfServer):
    """The test server without its request log (it would grow for the whole benchmark)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.requests = _Discard()


class _Discard(list):
    def append(self, _item) -> None:  # noqa: D102 - drop every record
        pass


if __name__ == "__main__":
    port, delay = int(sys.argv[1]), float(sys.argv[2])
    uvicorn.run(QuietServer(token_delay=delay).app, host="127.0.0.1", port=port, log_level="warning")
