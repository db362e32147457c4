"""One MCP tool call with the official `mcp` client (streamable HTTP), as a separate MCP client makes it."""

from __future__ import annotations

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent


async def call(url: str, tool: str, arguments: dict, *, headers: dict | None = None,
               progress: bool = False) -> CallToolResult:
    """One tool call in a fresh MCP session (as a separate MCP client would make it)."""
    async with httpx.AsyncClient(headers=headers or {}, timeout=60) as http:
        async with streamable_http_client(url, http_client=http) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                updates: list = []

                async def on_progress(step: float, total: float | None, message: str | None) -> None:
                    updates.append(message)

                return await session.call_tool(tool, arguments, progress_callback=on_progress if progress else None)


def text_of(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))
