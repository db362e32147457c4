"""A budget on how much one visitor may upload: uploads fill the server's disk until they expire.

Gradio bounds each uploaded file (`max_file_size`) but not how many a caller sends: one request may
carry 1,000 files, and nothing limits the requests, while every file stays on disk until
`PLAYGROUND_CACHE_MAX_AGE` has passed. `UploadBudget` charges Gradio's upload route to the visitor's
`PLAYGROUND_VISITOR_FILE_BYTES` an hour (the budget exported conversations are charged to too):

- an upload's whole body is charged, from its Content-Length, before any of it is read; over the
  budget it is refused at once (HTTP 429 with Retry-After; 413 when it is larger than the whole
  budget) and nothing is stored. A body without a length is refused (411): browsers and
  gradio_client always send one;
- each file in it is charged `FILE_CHARGE` more (counted while the body streams through), so many
  tiny files cost disk entries and memory in proportion too.

A visitor is told apart by address (`ui/identity.file_owner`: the sign-in is not read on this route);
requests from this machine itself share one budget.
"""

from __future__ import annotations

import logging
import re

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from playground.limits import FILE_CHARGE, ByteBudget, VisitorLimitError

from .body_limit import content_length
from .identity import file_owner

logger = logging.getLogger(__name__)

#: Gradio's upload route (`/gradio_api/upload`, also under a mount path).
UPLOAD_ROUTE = re.compile(r"/upload/?$")


class UploadBudget:
    """ASGI middleware: uploads beyond a visitor's hourly budget are refused before they are read."""

    def __init__(self, app: ASGIApp, budget: ByteBudget) -> None:
        self.app = app
        self.budget = budget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or not self.budget.limit or scope.get("method") != "POST"
                or not UPLOAD_ROUTE.search(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        visitor = file_owner(request)
        length = content_length(scope)
        if length is None:
            await _refuse(scope, receive, send, 411, "Send the upload with a Content-Length header.")
            return
        try:
            self.budget.take(visitor, length + FILE_CHARGE)
        except VisitorLimitError as error:
            logger.info("Refused an upload of %d bytes: over the visitor's hourly budget", length)
            status = 413 if error.retry_after is None else 429
            headers = {} if error.retry_after is None else {"Retry-After": str(int(error.retry_after))}
            await _refuse(scope, receive, send, status, str(error), headers)
            return
        parts = PartCounter(request.headers.get("content-type", ""))

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                parts.feed(message.get("body", b""))
            return message

        try:
            await self.app(scope, counted, send)
        finally:
            self.budget.charge(visitor, FILE_CHARGE * (parts.parts - 1))  # the first was charged up front


class PartCounter:
    """Counts the parts of a multipart body as it streams by (their delimiters, across chunk edges)."""

    def __init__(self, content_type: str) -> None:
        match = re.search(r'boundary="?([^";]+)"?', content_type)
        self._delimiter = b"\r\n--" + match.group(1).encode("latin-1") if match else b""
        self._tail = b"\r\n"  # the first delimiter opens the body, without the line break before it
        self._delimiters = 0

    def feed(self, chunk: bytes) -> None:
        if not self._delimiter or not chunk:
            return
        data = self._tail + chunk
        self._delimiters += data.count(self._delimiter)
        self._tail = data[-(len(self._delimiter) - 1):]

    @property
    def parts(self) -> int:
        """Parts seen: every delimiter but the closing one."""
        return max(0, self._delimiters - 1)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str,
                  headers: dict[str, str] | None = None) -> None:
    """Answer at once with `message` as plain text (what Gradio's page shows for a failed upload)."""
    response = PlainTextResponse(message, status_code=status, headers={"Connection": "close", **(headers or {})})
    await response(scope, receive, send)
