"""Shared httpx plumbing for adapters that speak HTTP themselves, and the one transport-error mapper.

One pooled `httpx.AsyncClient` per event loop serves every adapter (connections
are reused); `stream_lines` opens a streamed request, maps HTTP failures (through
`errors.error_for_status`) and transport failures (`transport_error`, for `httpx`
and for huggingface_hub's `httpx2` alike) to typed errors, and yields decoded lines
as they arrive.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx
import httpx2

from .errors import (
    NO_ADVICE,
    Advice,
    ProtocolError,
    ProviderError,
    UnavailableError,
    detail_from_body,
    error_for_status,
)
from .settings import HttpSettings

logger = logging.getLogger(__name__)

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()


def default_timeout() -> httpx.Timeout:
    """Connect/read timeouts from PROVIDER_CONNECT_TIMEOUT and PROVIDER_READ_TIMEOUT."""
    return httpx.Timeout(
        connect=HttpSettings.current().connect_timeout,
        read=HttpSettings.current().read_timeout,
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


def _kinds(name: str) -> tuple[type[Exception], ...]:
    """The class called `name` in both httpx and httpx2 (their hierarchies are parallel, not shared)."""
    return getattr(httpx, name), getattr(httpx2, name)


#: What `transport_error` understands: httpx and httpx2 failures, and the socket errors beneath them.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (*_kinds("HTTPError"), ConnectionError, TimeoutError)
_TIMEOUTS = (*_kinds("TimeoutException"), TimeoutError)
_CONNECT = (*_kinds("ConnectError"), ConnectionRefusedError)
_DROPPED = (*_kinds("RemoteProtocolError"), *_kinds("ReadError"), ConnectionError)


def response_detail(response: httpx.Response | httpx2.Response) -> str:
    """The service's message in an error response ("" when its body was not read)."""
    try:
        body = response.content
    except RuntimeError:  # httpx(2).ResponseNotRead: a streamed body nobody read
        return ""
    return detail_from_body(body)


def status_error(provider: str, response: httpx.Response | httpx2.Response, *,
                 advice: Advice = NO_ADVICE) -> ProviderError:
    """The typed error for an HTTP error response (its body already read)."""
    return error_for_status(provider, response.status_code, response_detail(response),
                            retry_after=response.headers.get("retry-after"), advice=advice)


def transport_error(provider: str, exc: BaseException, *, started: bool = False,
                    target: str = "the service") -> ProviderError:
    """The typed error for an httpx or httpx2 failure (or a socket error): the one mapper for every adapter.

    `started`: part of the answer had arrived (a drop then reads "mid-answer" and the
    partial answer stays); `target` names what was called ("the Space at ...").
    """
    if isinstance(exc, _TIMEOUTS):
        return UnavailableError(provider, f"timed out waiting for {target}", hint="It may be busy; try again later",
                                cause="timeout")
    if isinstance(exc, _kinds("HTTPStatusError")):
        return status_error(provider, exc.response)
    if isinstance(exc, _kinds("DecodingError")):
        return ProtocolError(provider, f"the answer from {target} could not be decoded")
    if started:
        return UnavailableError(provider, "the connection dropped mid-answer", cause="dropped")
    if isinstance(exc, _CONNECT):
        return UnavailableError(provider, f"could not connect to {target}", cause="unreachable")
    if isinstance(exc, _DROPPED):
        return UnavailableError(provider, f"the connection to {target} dropped before it answered",
                                cause="unreachable")
    return UnavailableError(provider, f"the request to {target} failed ({type(exc).__name__})", cause="unreachable")


async def _raise_for_status(provider: str, response: httpx.Response, advice: Advice) -> None:
    if response.status_code >= 400:
        await response.aread()
        raise status_error(provider, response, advice=advice)


@asynccontextmanager
async def open_stream(provider: str, method: str, url: str, *, advice: Advice = NO_ADVICE,
                      **kwargs: Any) -> AsyncIterator[httpx.Response]:
    """A streamed response with a status below 400; anything else raises a typed error."""
    client = kwargs.pop("client", None) or shared_client()
    try:
        async with client.stream(method, url, **kwargs) as response:
            await _raise_for_status(provider, response, advice)
            yield response
    except httpx.HTTPError as exc:
        raise transport_error(provider, exc) from exc


async def response_lines(provider: str, response: httpx.Response) -> AsyncIterator[str]:
    """Non-empty lines of an open streamed response, as they arrive; a failure now is mid-answer."""
    try:
        async for line in response.aiter_lines():
            if line.strip():
                yield line
    except httpx.HTTPError as exc:
        raise transport_error(provider, exc, started=True) from exc


async def stream_lines(provider: str, method: str, url: str, **kwargs: Any) -> AsyncIterator[str]:
    """Non-empty lines of a streamed response, as they arrive."""
    async with open_stream(provider, method, url, **kwargs) as response:
        async for line in response_lines(provider, response):
            yield line


async def request(provider: str, method: str, url: str, *, advice: Advice = NO_ADVICE,
                  **kwargs: Any) -> httpx.Response:
    """A whole response with a status below 400; typed errors for HTTP and transport failures."""
    client = kwargs.pop("client", None) or shared_client()
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise transport_error(provider, exc) from exc
    await _raise_for_status(provider, response, advice)
    return response


async def request_json(provider: str, method: str, url: str, **kwargs: Any) -> Any:
    """A whole JSON response; typed errors for HTTP, transport and parse failures."""
    response = await request(provider, method, url, **kwargs)
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
