"""Per-event costs of Gradio that this app avoids.

Gradio 6 wraps every event in `MatplotlibBackendMananger` (gradio/utils.py), which runs
`import matplotlib` on entry and exit to switch the plotting backend. When matplotlib is
not installed (it is not a dependency of this app) each attempt fails, and a failed import
is not cached: Python searches every directory of `sys.path` again, twice per event. Under
50 streaming visitors that was about 5% of the server's CPU.

`skip_missing_matplotlib()` records the missing module as absent in `sys.modules` (the
standard marker: `import matplotlib` then raises ImportError at once, which Gradio handles
as before). It does nothing when matplotlib is installed.
"""

from __future__ import annotations

import importlib.util
import logging
import sys

logger = logging.getLogger(__name__)


def skip_missing_matplotlib() -> bool:
    """Make the failing per-event `import matplotlib` cheap; True when the marker was set."""
    if "matplotlib" in sys.modules:
        return sys.modules["matplotlib"] is None
    if importlib.util.find_spec("matplotlib") is not None:
        return False
    sys.modules["matplotlib"] = None  # type: ignore[assignment]
    logger.debug("matplotlib is not installed: Gradio's per-event import of it now fails at once")
    return True
