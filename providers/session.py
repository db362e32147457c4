"""Per-visitor state: credentials and provider-owned objects, never shared between visitors."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .logs import register_secret

logger = logging.getLogger(__name__)

#: Visitor fields holding credentials (registered for log redaction when set).
_CREDENTIALS = frozenset({"hf_token", "huggingchat_cookie", "ip_token"})


@dataclass
class Visitor:
    """One visitor's session as providers see it.

    `state` holds objects a provider keeps for this visitor (conversation ids,
    per-visitor clients), keyed by the provider's own names. Callbacks added with
    `on_release` run when the visitor leaves or clears the conversation.
    """

    session_id: str = ""
    hf_token: str | None = None
    huggingchat_cookie: str | None = None
    ip_token: str | None = None
    #: Who this visitor is for fair-use limits (signed-in user, client address or session).
    limit_key: str = ""
    state: dict[str, Any] = field(default_factory=dict)
    _releasers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def __setattr__(self, name: str, value: Any) -> None:
        # However a credential arrives (constructor, set_credentials, a per-request header), it is
        # registered for log redaction then; register_secret keeps only credential-like values.
        object.__setattr__(self, name, value)
        if name in _CREDENTIALS:
            register_secret(value)

    def __repr__(self) -> str:  # never print secrets
        return f"Visitor(session_id={self.session_id!r})"

    def set_credentials(self, *, hf_token: str | None = None, huggingchat_cookie: str | None = None) -> None:
        """Replace this visitor's credentials (blank means none)."""
        self.hf_token = (hf_token or "").strip() or None
        self.huggingchat_cookie = (huggingchat_cookie or "").strip() or None

    def on_release(self, callback: Callable[[], None]) -> None:
        self._releasers.append(callback)

    def release(self) -> None:
        """Drop provider state and run release callbacks (errors are logged, not raised)."""
        callbacks, self._releasers = self._releasers, []
        self.state.clear()
        for callback in callbacks:
            try:
                callback()
            except Exception:  # a failing cleanup must not stop the others
                logger.exception("Releasing visitor state failed")


class VisitorStore:
    """Visitors by session id; thread-safe."""

    def __init__(self) -> None:
        self._visitors: dict[str, Visitor] = {}
        self._lock = threading.Lock()

    def get(self, session_id: str) -> Visitor:
        with self._lock:
            visitor = self._visitors.get(session_id)
            if visitor is None:
                visitor = self._visitors[session_id] = Visitor(session_id=session_id)
            return visitor

    def release(self, session_id: str) -> None:
        with self._lock:
            visitor = self._visitors.pop(session_id, None)
        if visitor is not None:
            visitor.release()

    def __len__(self) -> int:
        return len(self._visitors)
