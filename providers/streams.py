"""Small helpers for provider event streams."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


async def aclose_quietly(stream: object) -> None:
    """Close an async generator if it has `aclose`; a failure to close never masks the real outcome."""
    close = getattr(stream, "aclose", None)
    if close is None:
        return
    try:
        await close()
    except Exception:
        logger.debug("closing a provider stream failed", exc_info=True)
