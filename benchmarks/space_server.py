"""The benchmarks' fake Phi-4 Space (tests/support/fake_spaces.py `phi4_space`) as its own process.

Usage: python benchmarks/space_server.py (port from GRADIO_SERVER_PORT). The two-step session chat:
`/process_message` then `/bot_response`, so the playground keeps one gradio_client Client per visitor.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.fake_spaces import SpaceLog, phi4_space  # noqa: E402


class _Discard(SpaceLog):
    """The fake Space's call log, kept empty (it would grow for the whole benchmark)."""

    def record(self, endpoint, request, **details) -> None:  # noqa: D102
        pass


if __name__ == "__main__":
    phi4_space(_Discard()).launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                                  server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")), quiet=True)
