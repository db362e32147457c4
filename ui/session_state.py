"""Cheap Gradio sessions: each session's per-block config is built when first needed, not up front.

Gradio 6.31's `SessionState.__init__` (gradio/state_holder.py) builds `config_values` for every
block of the app (`BlocksConfig.config_for_block`: props, API info) the moment a session is seen.
For this app that is ~235 blocks, about 20 ms of CPU and 370 KB per session, although an event
touches only its own inputs and outputs, and the whole dict is read only by the deep-link route
(`/gradio_api/deep_link`, for `gr.DeepLinkButton`, which this app does not use).

`install(demo)` makes the sessions of that one Blocks build the same entries lazily:
`LazyConfigValues` is a dict that computes an entry on first access (`__missing__`), answers
`in` for every block as the eager dict did, and computes whatever is missing before anything
iterates, compares or removes, so what Gradio reads is what it would have read. The values
Gradio writes into entries on every event (`_update_value_in_config`, for each input and output)
wait beside an entry not computed yet and go into it when it is, so a chat event computes none.
Every other Blocks in the process keeps Gradio's own SessionState. The rest of `__init__` is
kept as is: `copy(blocks.default_config)` also walks the app (a shallow copy of the block and
event dicts), but costs ~3 µs and ~14 KB per session, so it is left alone.

The adaptation is tied to gradio 6.31.0 and to the exact source of gradio/state_holder.py;
if either differs, `install` logs a warning and leaves Gradio as it is.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
from copy import copy
from pathlib import Path
from typing import Any

from gradio.blocks import BlocksConfig

logger = logging.getLogger(__name__)

#: The gradio release and the sha256 of its gradio/state_holder.py this adaptation was written for.
GRADIO_VERSION = "6.31.0"
STATE_HOLDER_SHA256 = "ba948b8980416879770f2c1af91e2e468773993828ed3cbd654f915ff1562da8"

#: Set on a Blocks whose sessions build their config lazily.
_OPT_IN = "_playground_lazy_session_config"

_original: type | None = None  # Gradio's SessionState, while ours is installed


class LazyConfigValues(dict):
    """`SessionState.config_values`, with each block's entry computed on first access.

    Holds the app's block dict (shared, never copied): a key of it that is not stored yet is
    computed from the block the session started with, exactly as Gradio's eager loop does
    (`config_for_block(id, [], block)`). A value Gradio writes into an entry not computed yet
    (`set_value`, what every event does for its inputs and outputs) waits beside it and is written
    in when the entry is computed. Iteration, length, equality, copies and removals first compute
    what is missing, in the app's block order, so they see the eager dict.
    """

    __slots__ = ("_origin", "_complete", "_values")

    def __init__(self, origin: dict[int, Any]) -> None:
        super().__init__()
        self._origin = origin
        self._complete = False
        self._values: dict[Any, Any] | None = None  # values for entries not computed yet

    def set_value(self, key: Any, value: Any) -> bool:
        """Gradio's `_update_value_in_config` for an entry not computed yet: keep `value` for it.

        False when the entry exists (or the key is not the app's): the caller writes it as Gradio does.
        """
        if self._complete or dict.__contains__(self, key) or key not in self._origin:
            return False
        if self._values is None:
            self._values = {}
        self._values[key] = value
        return True

    # -- lookups: one entry at a time ----------------------------------------------------------
    def __missing__(self, key: Any) -> dict:
        if self._complete or key not in self._origin:
            raise KeyError(key)
        return self._compute(key)

    def _build(self, key: Any, block: Any) -> dict:
        config = BlocksConfig.config_for_block(key, [], block)
        if self._values and key in self._values:
            value = self._values.pop(key)
            if "props" in config:
                config["props"]["value"] = value
        return config

    def _compute(self, key: Any) -> dict:
        config = self._build(key, self._origin[key])
        dict.__setitem__(self, key, config)
        return config

    def __setitem__(self, key: Any, config: Any) -> None:
        if self._values:
            self._values.pop(key, None)  # a new entry replaces the one the value was for
        dict.__setitem__(self, key, config)

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or (not self._complete and key in self._origin)

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key] if key in self else default

    # -- everything that sees the whole dict: complete it first ----------------------------------
    def materialize(self) -> None:
        """Compute every missing entry; afterwards this is an ordinary dict in Gradio's order."""
        if self._complete:
            return
        stored = dict(dict.items(self))
        ordered = {key: stored.pop(key) if key in stored else self._build(key, block)
                   for key, block in self._origin.items()}
        ordered.update(stored)  # entries set later for blocks the app did not start with
        dict.clear(self)
        dict.update(self, ordered)
        self._complete, self._values = True, None

    def computed(self) -> int:
        """How many entries exist so far (for tests and diagnostics)."""
        return dict.__len__(self)

    def _whole(name: str):  # noqa: N805 - a decorator factory used in the class body
        method = getattr(dict, name)

        def wrapper(self, *args, **kwargs):
            self.materialize()
            return method(self, *args, **kwargs)

        wrapper.__name__ = name
        wrapper.__doc__ = method.__doc__
        return wrapper

    __iter__ = _whole("__iter__")
    __len__ = _whole("__len__")
    __reversed__ = _whole("__reversed__")
    __eq__ = _whole("__eq__")
    __ne__ = _whole("__ne__")
    __or__ = _whole("__or__")
    __ror__ = _whole("__ror__")
    __repr__ = _whole("__repr__")
    __delitem__ = _whole("__delitem__")
    keys = _whole("keys")
    values = _whole("values")
    items = _whole("items")
    pop = _whole("pop")
    popitem = _whole("popitem")
    setdefault = _whole("setdefault")
    clear = _whole("clear")
    update = _whole("update")
    __ior__ = _whole("__ior__")
    del _whole

    def copy(self) -> dict:
        self.materialize()
        return dict(dict.items(self))

    def __copy__(self) -> dict:
        return self.copy()

    def __reduce__(self):
        return (dict, (self.copy(),))


def _make_session_state(base: type) -> type:
    class LazySessionState(base):  # type: ignore[misc, valid-type]
        """Gradio's SessionState; for an opted-in Blocks, `config_values` is a LazyConfigValues."""

        def __init__(self, blocks: Any) -> None:
            if not getattr(blocks, _OPT_IN, False):
                super().__init__(blocks)
                return
            # Gradio 6.31.0's __init__, line for line, but for the eager `config_values` loop.
            self.blocks_config = copy(blocks.default_config)
            self.config_values = LazyConfigValues(blocks.default_config.blocks)
            self.state_data: dict[int, Any] = {}
            self._state_ttl = {}
            self.is_closed = False
            self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600

        def _update_value_in_config(self, key: int, value: Any) -> None:
            config = self.config_values
            if not (isinstance(config, LazyConfigValues) and config.set_value(key, value)):
                super()._update_value_in_config(key, value)

    LazySessionState.__qualname__ = LazySessionState.__name__
    return LazySessionState


def compatible() -> str | None:
    """None when this adaptation fits the installed gradio; else why not."""
    import gradio
    from gradio import state_holder

    if gradio.__version__ != GRADIO_VERSION:
        return f"gradio is {gradio.__version__}, not {GRADIO_VERSION}"
    try:
        source = Path(state_holder.__file__).read_bytes()
    except OSError as exc:
        return f"gradio/state_holder.py could not be read ({exc})"
    if hashlib.sha256(source).hexdigest() != STATE_HOLDER_SHA256:
        return "gradio/state_holder.py differs from the one this adaptation was written for"
    if list(inspect.signature(BlocksConfig.config_for_block).parameters)[:3] != ["_id", "rendered_ids", "block"]:
        return "BlocksConfig.config_for_block has another signature"
    return None


def install(demo: Any) -> bool:
    """Make `demo`'s sessions build their per-block config lazily; False (with a warning) if gradio differs."""
    global _original
    from gradio import state_holder

    if _original is None:
        problem = compatible()
        if problem:
            logger.warning("Cheap sessions are off (%s): every new session builds the whole app's config.",
                           problem)
            return False
        _original = state_holder.SessionState
        state_holder.SessionState = _make_session_state(_original)
    setattr(demo, _OPT_IN, True)
    return True


def installed() -> bool:
    return _original is not None


def uninstall() -> None:
    """Give Gradio its own SessionState back (sessions made since keep theirs)."""
    global _original
    from gradio import state_holder

    if _original is not None:
        state_holder.SessionState = _original
        _original = None
