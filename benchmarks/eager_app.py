"""The playground as it was before cheap sessions, for the benchmarks' "before" rows.

Runs `app.py` with Gradio's own SessionState (every new session builds the config of all ~235
blocks); give it PLAYGROUND_MAX_SESSIONS=10000 (Gradio's default capacity) to match the old launch.
Usage: python benchmarks/eager_app.py (settings from the environment, as app.py).
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ui.session_state  # noqa: E402

ui.session_state.install = lambda demo: False  # before ui.app imports it: Gradio's eager sessions

if __name__ == "__main__":
    sys.argv = [str(ROOT / "app.py")]
    runpy.run_path(str(ROOT / "app.py"), run_name="__main__")
