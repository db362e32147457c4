"""A server that answers anything and records every request: the host an attacker wants reached.

Tests point hostile model ids, links and files at it and assert it saw nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route


@dataclass
class Hit:
    method: str
    path: str
    authorization: str | None


@dataclass
class TrapServer:
    hits: list[Hit] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/{path:path}", self.any, methods=[
            "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])])

    @property
    def host_port(self) -> str:
        return self.url.split("://", 1)[1]

    async def any(self, request: Request) -> PlainTextResponse:
        with self._lock:
            self.hits.append(Hit(request.method, request.url.path, request.headers.get("authorization")))
        return PlainTextResponse("secret-internal-answer")

    def clear(self) -> None:
        with self._lock:
            self.hits.clear()
