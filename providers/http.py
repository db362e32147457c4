"""Shared httpx plumbing for adapters that speak HTTP themselves.

One pooled `httpx.AsyncClient` per event loop serves every adapter (connections
are reused); `stream_lines` opens a streamed request, maps HTTP and transport
failures to typed errors in one place, and yields decoded lines as they arrive.
"""

from __future__ import annotations

import asyncio
import json
from http.cookiejar import CookieJar, DefaultCookiePolicy
import logging
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from .config import env_float
from .errors import ProtocolError, ProviderError, UnavailableError, error_for_status

logger = logging.getLogger(__name__)

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()


def default_timeout() -> httpx.Timeout:
    """Connect/read timeouts from PROVIDER_CONNECT_TIMEOUT and PROVIDER_READ_TIMEOUT."""
    return httpx.Timeout(
        connect=env_float("PROVIDER_CONNECT_TIMEOUT", 10.0, minimum=0.1),
        read=env_float("PROVIDER_READ_TIMEOUT", 60.0, minimum=0.1),
        write=30.0,
        pool=30.0,
    )


def shared_client() -> httpx.AsyncClient:
    """The pooled client for the running event loop (created on first use).

    Its cookie jar refuses every cookie: a `Set-Cookie` answered to one visitor
    must never ride along on another visitor's request. Adapters send cookies
    explicitly per request.
    """
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        client = httpx.AsyncClient(
            timeout=default_timeout(),
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            follow_redirects=False,
            trust_env=False,
        )
        _clients[loop] = client
    return client


def _detail_from_body(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:200]
    if isinstance(data, dict):
        for key in ("error", "message", "detail"):
            value = data.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("detail")
            if value:
                return str(value)[:200]
    return text[:200]


def transport_error(provider: str, exc: Exception, *, started: bool = False) -> ProviderError:
    """Map an httpx transport failure to UnavailableError with a clear cause."""
    if isinstance(exc, httpx.TimeoutException):
        return UnavailableError(provider, "timed out waiting for the service")
    if started or isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return UnavailableError(provider, "the connection dropped mid-answer")
    if isinstance(exc, httpx.ConnectError):
        return UnavailableError(provider, "could not connect to the service")
    return UnavailableError(provider, type(exc).__name__)


@asynccontextmanager
async def open_stream(provider: str, method: str, url: str, **kwargs: Any) -> AsyncIterator[httpx.Response]:
    """A streamed response with a 2xx status; anything else raises a typed error."""
    client = kwargs.pop("client", None) or shared_client()
    try:
        async with client.stream(method, url, **kwargs) as response:
            if response.status_code >= 400:
                body = await response.aread()
                raise error_for_status(
                    provider, response.status_code, _detail_from_body(body),
                    retry_after=response.headers.get("retry-after"),
                )
            yield response
    except httpx.HTTPError as exc:
        raise transport_error(provider, exc) from exc


async def stream_lines(provider: str, method: str, url: str, **kwargs: Any) -> AsyncIterator[str]:
    """Non-empty lines of a streamed response, as they arrive."""
    async with open_stream(provider, method, url, **kwargs) as response:
        try:
            async for line in response.aiter_lines():
                if line.strip():
                    yield line
        except httpx.HTTPError as exc:
            raise transport_error(provider, exc, started=True) from exc


async def request_json(provider: str, method: str, url: str, **kwargs: Any) -> Any:
    """A whole JSON response; typed errors for HTTP, transport and parse failures."""
    client = kwargs.pop("client", None) or shared_client()
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise transport_error(provider, exc) from exc
    if response.status_code >= 400:
        raise error_for_status(provider, response.status_code, _detail_from_body(response.content),
                               retry_after=response.headers.get("retry-after"))
    try:
        return response.json()
    except ValueError as exc:
        raise ProtocolError(provider, "the response was not JSON") from exc


def parse_json_line(provider: str, line: str, *, prefix: str = "") -> Any | None:
    """Parse one JSON line (optionally after a prefix such as "data:"); None if malformed (logged)."""
    text = line.strip()
    if prefix:
        if not text.startswith(prefix):
            return None
        text = text[len(prefix):].strip()
    try:
        return json.loads(text)
    except ValueError:
        logger.warning("%s: skipped a malformed line: %.120s", provider, text)
        return None
