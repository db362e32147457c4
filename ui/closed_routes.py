"""Gradio routes the playground does not use, closed because a visitor could make them cost the server.

- `/process_recording`: Gradio's screen recorder (part of Gradio's settings panel, which this app's
  footer leaves out) posts a video there, and the server runs ffmpeg on it once for every "zoom
  effect" the request lists, with no bound on how many: one request could keep the CPU busy for as
  long as its sender likes.
"""

from __future__ import annotations

import logging
import re

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from providers.model_ids import shown

logger = logging.getLogger(__name__)

#: The closed routes (the path as the server sees it, under any mount path).
CLOSED_ROUTES = re.compile(r"/process_recording/?$")


class ClosedRoutes:
    """ASGI middleware: the routes in `CLOSED_ROUTES` answer 404 before their body is read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and CLOSED_ROUTES.search(scope.get("path", "")):
            logger.info("Refused a request to a closed route: %s", shown(scope.get("path", "")))
            response = PlainTextResponse("This app does not offer this route.", status_code=404,
                                         headers={"Connection": "close"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
