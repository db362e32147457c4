"""Per-visitor state: credentials and provider-owned objects, never shared between visitors."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .logs import register_secret

logger = logging.getLogger(__name__)

class Visitor:
    """One visitor's session as providers see it.

    `credentials` holds what the visitor brought, keyed by each provider's declared
    `Credential.key` (e.g. "hf_token"): `Visitor("s", hf_token="hf_…")` sets one, and a
    provider with a credential of its own needs no change here. `state` holds objects a
    provider keeps for this visitor (conversation ids, per-visitor clients), keyed by the
    provider's own names. Callbacks added with `on_release` run when the visitor leaves
    or clears the conversation.
    """

    def __init__(self, session_id: str = "", *, ip_token: str | None = None, limit_key: str = "",
                 **credentials: str | None) -> None:
        self.session_id = session_id
        #: The ZeroGPU token of the current request (a header a Space proxy adds), per call.
        self.ip_token = ip_token
        #: Who this visitor is for fair-use limits (signed-in user, client address or session).
        self.limit_key = limit_key
        self.credentials: dict[str, str] = {}
        self.state: dict[str, Any] = {}
        self._releasers: list[Callable[[], None]] = []
        self._conversations: dict[str, ConversationVisitor] = {}
        self.set_credentials(**credentials)

    def __setattr__(self, name: str, value: Any) -> None:
        # The ZeroGPU token arrives per request: registered for log redaction whenever it is set.
        object.__setattr__(self, name, value)
        if name == "ip_token":
            register_secret(value)

    def __repr__(self) -> str:  # never print secrets
        return f"Visitor(session_id={self.session_id!r})"

    def credential(self, key: str) -> str | None:
        """The visitor's own credential under `key`, if they brought one."""
        return self.credentials.get(key)

    @property
    def hf_token(self) -> str | None:
        """Shorthand for `credential("hf_token")` (the Hugging Face family all use it)."""
        return self.credentials.get("hf_token")

    @property
    def huggingchat_cookie(self) -> str | None:
        """Shorthand for `credential("huggingchat_cookie")`."""
        return self.credentials.get("huggingchat_cookie")

    def set_credentials(self, **values: str | None) -> None:
        """Replace this visitor's credentials with `values` (blank means none).

        However a credential arrives (Settings, a per-request header, the constructor), it is
        registered for log redaction here; register_secret keeps only credential-like values.
        """
        cleaned = {key: (value or "").strip() for key, value in values.items()}
        self.credentials = {key: value for key, value in cleaned.items() if value}
        for value in self.credentials.values():
            register_secret(value)

    def set_credential(self, key: str, value: str | None) -> None:
        """Set (or, when blank, clear) one credential and keep the others."""
        self.set_credentials(**{**self.credentials, key: value})

    def fresh(self) -> Visitor:
        """A new visitor for the same session with the same credentials and no provider state."""
        return Visitor(self.session_id, ip_token=self.ip_token, limit_key=self.limit_key, **self.credentials)

    def on_release(self, callback: Callable[[], None]) -> None:
        self._releasers.append(callback)

    def in_conversation(self, conversation_id: str) -> Visitor:
        """This visitor as providers see it within one conversation ("" = the visitor itself).

        The result has the visitor's credentials and identity but provider state of its own,
        so two conversations (two tabs, two Compare columns, the arena's two sides) never share
        a server conversation or a Space session, and one can be released alone.
        """
        if not conversation_id:
            return self
        conversation = self._conversations.get(conversation_id)
        if conversation is None:
            conversation = self._conversations[conversation_id] = ConversationVisitor(self, conversation_id)
        return conversation

    def release_conversation(self, conversation_id: str) -> None:
        """Drop one conversation's provider state (Clear in its tab); the others stay."""
        conversation = self._conversations.pop(conversation_id, None)
        if conversation is not None:
            conversation.release()

    def release(self) -> None:
        """Drop provider state, every conversation's included, and run release callbacks
        (errors are logged, not raised)."""
        callbacks, self._releasers = self._releasers, []
        conversations, self._conversations = list(self._conversations.values()), {}
        self.state.clear()
        for conversation in conversations:
            conversation.release()
        _run_all(callbacks)

    @property
    def holds_state(self) -> bool:
        """True when releasing would run callbacks (e.g. close clients, which may block)."""
        return bool(self._releasers) or any(c.holds_state for c in self._conversations.values())


class ConversationVisitor(Visitor):
    """One conversation of a visitor: the visitor's credentials and identity, its own provider state."""

    def __init__(self, visitor: Visitor, conversation_id: str) -> None:  # noqa: D107 - no super(): shares the visitor's
        object.__setattr__(self, "visitor", visitor)
        object.__setattr__(self, "conversation_id", conversation_id)
        object.__setattr__(self, "state", {})
        object.__setattr__(self, "_releasers", [])
        object.__setattr__(self, "_conversations", {})

    def __repr__(self) -> str:
        return f"Visitor(session_id={self.session_id!r}, conversation={self.conversation_id!r})"

    @property
    def session_id(self) -> str:  # type: ignore[override]
        return self.visitor.session_id

    @property
    def credentials(self) -> dict[str, str]:  # type: ignore[override]
        return self.visitor.credentials

    @property
    def ip_token(self) -> str | None:  # type: ignore[override]
        return self.visitor.ip_token

    @property
    def limit_key(self) -> str:  # type: ignore[override]
        return self.visitor.limit_key

    def set_credentials(self, **values: str | None) -> None:
        self.visitor.set_credentials(**values)

    def in_conversation(self, conversation_id: str) -> Visitor:
        return self.visitor.in_conversation(conversation_id)


def _run_all(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a failing cleanup must not stop the others
            logger.exception("Releasing visitor state failed")


class VisitorStore:
    """Visitors by session id; thread-safe, bounded, and expiring when idle.

    - Idle: a visitor unused for `idle_seconds` has its provider state released (`Visitor.release()`:
      per-visitor clients closed, their threads end, conversations forgotten), as Clear does; its
      credentials stay (in a fresh Visitor for the same session), so a tab that comes back keeps them.
    - Bounded: past `max_visitors` entries the least recently used are dropped and released.
    - In use: a visitor held by a call (`hold`/`unhold`, or `with lease(...)`) is never released
      by either rule, however long the call; its idle time starts when the last hold ends.

    Expiry needs no thread of its own: `get` and `hold` release what has expired (looking only at
    the oldest entries), and `sweep()` does the same for an app with no traffic. Release callbacks
    that may block (closing a client joins its thread) run in a short-lived thread when called on
    an event loop. `None` for a bound means unbounded.
    """

    def __init__(self, *, max_visitors: int | None = None, idle_seconds: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_visitors = max_visitors
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._visitors: OrderedDict[str, Visitor] = OrderedDict()  # least recently used first
        self._last_used: dict[str, float] = {}
        self._loaded: OrderedDict[str, None] = OrderedDict()  # used since their last idle release
        self._holds: dict[str, int] = {}
        self._lock = threading.Lock()

    def get(self, session_id: str) -> Visitor:
        """The visitor for `session_id` (created on first use), marked as used now."""
        return self._use(session_id, hold=False)

    def hold(self, session_id: str) -> Visitor:
        """`get`, and keep the visitor from expiring until the matching `unhold`."""
        return self._use(session_id, hold=True)

    def unhold(self, session_id: str) -> None:
        """End one hold; the visitor counts as used now."""
        with self._lock:
            count = self._holds.get(session_id, 0) - 1
            if count > 0:
                self._holds[session_id] = count
            else:
                self._holds.pop(session_id, None)
            if session_id in self._visitors:
                self._touch(session_id, self._clock())

    @contextmanager
    def lease(self, session_id: str) -> Iterator[Visitor]:
        """Hold the visitor for the duration of a `with` block (one call)."""
        visitor = self.hold(session_id)
        try:
            yield visitor
        finally:
            self.unhold(session_id)

    def release(self, session_id: str) -> None:
        """Drop the visitor now and release its state (the browser tab closed)."""
        with self._lock:
            visitor = self._forget(session_id)
        if visitor is not None:
            visitor.release()

    def sweep(self) -> int:
        """Release whatever has expired; returns how many visitors were released."""
        with self._lock:
            expired = self._expire(self._clock())
        self._dispose(expired)
        return len(expired)

    def in_use(self, session_id: str) -> bool:
        with self._lock:
            return self._holds.get(session_id, 0) > 0

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._visitors

    def __len__(self) -> int:
        return len(self._visitors)

    # -- internals (under the lock) ---------------------------------------------------------------
    def _use(self, session_id: str, *, hold: bool) -> Visitor:
        with self._lock:
            now = self._clock()
            visitor = self._visitors.get(session_id)
            if visitor is None:
                visitor = self._visitors[session_id] = Visitor(session_id=session_id)
            if hold:
                self._holds[session_id] = self._holds.get(session_id, 0) + 1
            self._touch(session_id, now)
            expired = self._expire(now)
        self._dispose(expired)
        return visitor

    def _touch(self, session_id: str, now: float) -> None:
        self._visitors.move_to_end(session_id)
        self._last_used[session_id] = now
        self._loaded[session_id] = None
        self._loaded.move_to_end(session_id)

    def _forget(self, session_id: str) -> Visitor | None:
        self._last_used.pop(session_id, None)
        self._loaded.pop(session_id, None)
        return self._visitors.pop(session_id, None)

    def _expire(self, now: float) -> list[Visitor]:
        """Visitors to release now: the least recently used beyond the bound (dropped), then the
        idle ones (kept). Only the oldest entries are looked at, plus any held ones among them."""
        expired: list[Visitor] = []
        excess = len(self._visitors) - self.max_visitors if self.max_visitors else 0
        if excess > 0:
            oldest = []
            for session_id in self._visitors:
                if len(oldest) >= excess:
                    break
                if not self._holds.get(session_id):
                    oldest.append(session_id)
            expired += [v for v in map(self._forget, oldest) if v is not None]
        if self.idle_seconds:
            since = now - self.idle_seconds
            idle = []
            for session_id in self._loaded:
                if self._last_used[session_id] > since:
                    break
                if not self._holds.get(session_id):
                    idle.append(session_id)
            for session_id in idle:
                # A fresh visitor with the same credentials takes the entry, so a call arriving while
                # the old one's callbacks run never gets a visitor whose state is being torn down.
                del self._loaded[session_id]
                old = self._visitors[session_id]
                self._visitors[session_id] = old.fresh()
                expired.append(old)
        return expired

    @staticmethod
    def _dispose(visitors: list[Visitor]) -> None:
        """Release expired visitors; off the event loop when a release callback might block."""
        if not visitors:
            return
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        if on_loop and any(v.holds_state for v in visitors):
            threading.Thread(target=VisitorStore._release_all, args=(visitors,), name="visitor-release",
                             daemon=True).start()
        else:
            VisitorStore._release_all(visitors)

    @staticmethod
    def _release_all(visitors: list[Visitor]) -> None:
        for visitor in visitors:
            visitor.release()
