"""Files come only as uploads: no address a visitor gives is ever fetched by the server.

Gradio has two ways to make the server fetch a URL that a caller names:
- an event's data may hold a file as `{"path": "https://…", "meta": {"_type": "gradio.FileData"}}`
  anywhere (an image, a chat history, even inside a JSON input; Gradio's MCP server writes the
  image URLs its callers send this way). Gradio downloads it into its cache before the handler
  runs (`Block.async_move_resource_to_block_cache`): no size limit, any public host;
- `GET /gradio_api/file=https://…` (and `/gradio_api/file/https://…`) fetches the URL and streams
  it back (an open proxy).

Gradio refuses private addresses for both, but the playground promises more: nothing a visitor
types becomes an address. `refuse_remote_files` makes every block of the app refuse a file given
as a link, with a clear message and before any name look-up; `RemoteFileRoutes` answers the
`file=<url>` route with 403. Uploads, and images sent as `data:` URLs, work as before.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from providers.messages import LINKED_FILE_MESSAGE

logger = logging.getLogger(__name__)

#: Gradio's file routes (`/file=<x>`, and the older `/file/<x>`) naming a URL (the path as the server
#: sees it, already percent-decoded).
_REMOTE_FILE_ROUTE = re.compile(r"/file[=/]\s*https?:", re.IGNORECASE)
_URL = re.compile(r"\s*https?://", re.IGNORECASE)


def is_link(value: str | Path | None) -> bool:
    """True for a file reference that is an http(s) URL (as Gradio would fetch it)."""
    return isinstance(value, str) and _URL.match(value) is not None


def _refuse_link(url_or_file_path: str | Path | None) -> None:
    if is_link(url_or_file_path):
        raise gr.Error(LINKED_FILE_MESSAGE, print_exception=False)


def _guarded(move: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def move_unless_link(url_or_file_path: str | Path | None) -> Any:
        _refuse_link(url_or_file_path)
        return move(url_or_file_path)
    return move_unless_link


def _guarded_async(move: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
    async def move_unless_link(url_or_file_path: str | Path | None) -> Any:
        _refuse_link(url_or_file_path)
        return await move(url_or_file_path)
    return move_unless_link


def refuse_remote_files(demo: gr.Blocks) -> int:
    """Make every block of `demo` refuse files given as links (call once the app is built).

    Returns how many blocks were guarded. The guard sits on each block instance, so other
    Gradio apps in the same process (the tests' stand-in Spaces) keep Gradio's behaviour.
    """
    guarded = 0
    for block in demo.blocks.values():
        if hasattr(block, "async_move_resource_to_block_cache"):
            block.async_move_resource_to_block_cache = _guarded_async(block.async_move_resource_to_block_cache)
            block.move_resource_to_block_cache = _guarded(block.move_resource_to_block_cache)
            guarded += 1
    return guarded


class RemoteFileRoutes:
    """ASGI middleware: `/…/file=<http(s) URL>` and `/…/file/<http(s) URL>` are refused (403), never fetched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _REMOTE_FILE_ROUTE.search(scope.get("path", "")):
            logger.info("Refused a request to fetch a remote file through the file= route")
            response = PlainTextResponse("This app does not fetch files from other sites.", status_code=403)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

