"""Parsing environment variables leniently: a bad value is logged and the default used.

The settings themselves are declared, typed and documented in `providers.settings` (the
providers and the core) and `ui.config` (the app); the README lists every variable.
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    """The variable's value stripped of surrounding space, or `default` when unset/empty."""
    value = os.environ.get(name, "").strip()
    return value or default


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        logger.warning("%s=%r is not a whole number; using %s", name, raw, default)
        return default
    if minimum is not None and value < minimum:
        logger.warning("%s=%s is below %s; using %s", name, value, minimum, minimum)
        return minimum
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        logger.warning("%s=%r is not a number; using %s", name, raw, default)
        return default
    if minimum is not None and value < minimum:
        return minimum
    return value


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    logger.warning("%s=%r is not a yes/no value; using %s", name, raw, default)
    return default


def env_list(name: str, default: tuple[str, ...] = ()) -> list[str]:
    """Comma-separated values, blanks dropped."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def is_public_space() -> bool:
    """True when running as a Hugging Face Space (the `SPACE_ID` variable is set)."""
    return bool(env_str("SPACE_ID"))
