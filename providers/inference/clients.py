"""A bounded pool of reused inference clients (which hosts may receive a token: `credentials`).

`AsyncInferenceClient` keeps its HTTP connection pool for its lifetime, so clients
are reused per (event loop, base URL, credential, routing provider, timeout) rather
than built per request. The pool holds at most `size` clients; the credential is
part of the key only as a digest. A client is retired (closed once idle) when it is
evicted, after `max_uses` requests (the library keeps every streamed response on
the client's exit stack until it is closed), or when a request on it ended
abnormally (an abandoned stream keeps its connection open until the client closes).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from huggingface_hub import AsyncInferenceClient

from ..credentials import use_explicit_tokens_only
from .exact_format import ExactFormatClient

logger = logging.getLogger(__name__)

use_explicit_tokens_only()  # the library sends only the keys we hand it

#: Sent as the API key to servers that need none, so the library never falls back to HF_TOKEN.
NO_KEY = "no-key"


@dataclass(frozen=True)
class Endpoint:
    """Where and how one request is sent. `api_key` is always explicit (never the library's fallback).

    `base_url` None lets huggingface_hub route by `provider` itself; `router` marks the
    Inference Providers router (as opposed to a self-hosted server).
    """

    base_url: str | None
    api_key: str
    provider: str | None = None
    timeout: float | None = None
    router: bool = False

    def key(self, loop: asyncio.AbstractEventLoop) -> Hashable:
        digest = hashlib.sha256(self.api_key.encode()).hexdigest()
        return (loop, self.base_url, digest, self.provider, self.timeout)

    def __repr__(self) -> str:  # never print the key
        return f"Endpoint(base_url={self.base_url!r}, provider={self.provider!r}, router={self.router!r})"


@dataclass(eq=False)
class _Entry:
    client: AsyncInferenceClient
    loop: asyncio.AbstractEventLoop
    uses: int = 0
    active: int = 0
    retired: bool = False
    closing: asyncio.Task | None = field(default=None, repr=False)


class ClientPool:
    """A bounded LRU of `AsyncInferenceClient`s, leased one request at a time."""

    def __init__(self, size: int = 32, max_uses: int = 256) -> None:
        self.size = size
        self.max_uses = max_uses
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    @asynccontextmanager
    async def lease(self, endpoint: Endpoint) -> AsyncIterator[AsyncInferenceClient]:
        """A client for `endpoint`, reused across requests; closed later once retired and idle."""
        loop = asyncio.get_running_loop()
        key = endpoint.key(loop)
        entry = self._entries.get(key)
        if entry is None or entry.retired or entry.uses >= self.max_uses:
            if entry is not None:
                self._retire(key, entry)
            entry = _Entry(self._new_client(endpoint), loop)
            self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            old_key, old = next(iter(self._entries.items()))
            self._retire(old_key, old)
        entry.uses += 1
        entry.active += 1
        try:
            yield entry.client
        except BaseException:
            self._retire(key, entry)
            raise
        finally:
            entry.active -= 1
            if entry.retired and entry.active == 0:
                await self._close(entry)

    @staticmethod
    def _new_client(endpoint: Endpoint) -> AsyncInferenceClient:
        return ExactFormatClient(base_url=endpoint.base_url, api_key=endpoint.api_key,
                                 provider=endpoint.provider, timeout=endpoint.timeout)  # type: ignore[arg-type]

    def _retire(self, key: Hashable, entry: _Entry) -> None:
        entry.retired = True
        if self._entries.get(key) is entry:
            del self._entries[key]
        if entry.active == 0 and entry.closing is None:
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is entry.loop and not running.is_closed():
                entry.closing = running.create_task(self._close(entry))
            # clients of another (finished) loop are simply dropped

    @staticmethod
    async def _close(entry: _Entry) -> None:
        try:
            await entry.client.close()
        except Exception:  # closing must never mask the request's outcome
            logger.debug("closing an inference client failed", exc_info=True)

    async def aclose(self) -> None:
        """Close every idle client of the running loop (tests and shutdown)."""
        loop = asyncio.get_running_loop()
        for key, entry in list(self._entries.items()):
            if entry.loop is loop:
                del self._entries[key]
                entry.retired = True
                if entry.active == 0:
                    await self._close(entry)
