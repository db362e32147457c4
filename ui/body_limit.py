"""A bound on the size of one request's body, refused before it is read into memory.

Gradio reads a whole JSON body (an event's data, an MCP call) into memory and parses it before any
handler or limit of the app runs; nothing bounds it. `RequestBodyLimit` answers 413 to a body over
`PLAYGROUND_MAX_REQUEST_BYTES`: at once when its Content-Length says so, else as soon as that many
bytes have arrived. File uploads are bounded per file by Gradio itself (`max_file_size`, see app.py)
and are left to it.
"""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from providers.model_ids import shown

logger = logging.getLogger(__name__)

#: Routes whose bodies Gradio bounds itself (multipart uploads, checked per file while they arrive).
UPLOAD_SUFFIXES = ("/upload", "/upload/")


class RequestBodyLimit:
    """ASGI middleware: a request body over `max_bytes` is answered 413 and never handed to the app."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.max_bytes or scope.get("path", "").endswith(UPLOAD_SUFFIXES):
            await self.app(scope, receive, send)
            return
        declared = content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, send)
            return
        if declared is not None or not _chunked(scope):  # the server holds a body to its declared length
            await self.app(scope, receive, send)
            return
        # A chunked body (no length given): read up to the bound, then hand the app what was read.
        held: list[Message] = []
        size = 0
        while True:
            message = await receive()
            held.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(scope, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return held.pop(0) if held else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        logger.info("Refused a request body over %d bytes to %s", self.max_bytes, shown(scope.get("path", "")))
        detail = (f"The request is larger than {self.max_bytes:,} bytes. Upload large files "
                  "instead of sending them inside the request.")
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    return next((value for name, value in scope.get("headers", []) if name == wanted), None)


def content_length(scope: Scope) -> int | None:
    """The request's declared body length (None: none given, or not a length)."""
    value = _header(scope, b"content-length")
    try:
        length = int(value) if value is not None else None
    except ValueError:
        return None
    return length if length is not None and length >= 0 else None


def _chunked(scope: Scope) -> bool:
    return b"chunked" in (_header(scope, b"transfer-encoding") or b"").lower()
