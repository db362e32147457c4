"""The playground as an MCP server: Gradio's, at /gradio_api/mcp/, its tools the public API's endpoints.

Gradio's MCP server answers every tool call through one gradio_client session of its own, sending
the MCP request's headers along and marking the call with `x-gradio-user: mcp`. All MCP callers
thus arrive in one Gradio session, whose visitor would keep the credential one caller sent for the
next. `caller` gives each call the session of the credentials it brings instead (none: a session
with none), so a token only ever serves the caller who sent it. Fair-use limits count as for the
web app (`ui.identity`): by the caller's address on a Space (the forwarded headers come along), and
locally by that session: one visitor per credential.
"""

from __future__ import annotations

import hashlib
from typing import Any

from providers.credentials import Credential

#: The header gradio_client sets; Gradio's MCP server sets it to "mcp" on the calls it makes.
USER_HEADER = "x-gradio-user"
MCP_USER = "mcp"
#: Where Gradio serves it (streamable HTTP), under the app's URL.
MCP_PATH = "gradio_api/mcp/"


def is_mcp_call(request: Any) -> bool:
    """True for a call Gradio's MCP server makes on a tool's behalf."""
    headers = getattr(request, "headers", None) or {}
    return headers.get(USER_HEADER) == MCP_USER


class _McpCaller:
    """A gr.Request seen in the session of the credentials it carries (everything else is the request's)."""

    def __init__(self, request: Any, session_hash: str) -> None:
        self._request = request
        self.session_hash = session_hash

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


def caller(request: Any, credentials: list[Credential]) -> Any:
    """The request to identify the visitor by: itself, or for an MCP call, in its credentials' session."""
    if request is None or not is_mcp_call(request):
        return request
    headers = getattr(request, "headers", None) or {}
    brought = "\0".join(f"{c.header}={(headers.get(c.header) or '').strip()}" for c in credentials)
    base = getattr(request, "session_hash", None) or ""
    digest = hashlib.sha256(f"{base}\0{brought}".encode()).hexdigest()[:32]
    return _McpCaller(request, f"mcp-{digest}")
