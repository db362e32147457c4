"""A light load client for Gradio's HTTP `call` API (POST /gradio_api/call/<api>, then its SSE stream).

One asyncio task per stream costs far less CPU than a `gradio_client` thread, so 50-100
concurrent streams can be driven from one process without saturating the machine.
Used by the reliability load test and the benchmarks.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class CallResult:
    """What one call streamed: the updates, the final value or the error, and when."""

    started: float
    updates: list[Any] = field(default_factory=list)
    final: Any = None
    error: str | None = None
    completed: bool = False
    first_update_at: float | None = None
    ended_at: float | None = None

    @property
    def time_to_first_update(self) -> float | None:
        return None if self.first_update_at is None else self.first_update_at - self.started

    @property
    def seconds(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started

    @property
    def last_value(self) -> Any:
        """The final value, else the last streamed update (the partial answer kept)."""
        if self.completed:
            return self.final
        return self.updates[-1] if self.updates else None


def http_client(connections: int = 200, timeout: float = 60.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout), trust_env=False,
                             limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections))


def _first(data: Any) -> Any:
    return data[0] if isinstance(data, list) and len(data) == 1 else data


async def call(client: httpx.AsyncClient, base_url: str, api_name: str, data: list,
               headers: dict[str, str] | None = None, session_hash: str | None = None) -> CallResult:
    """Run one call of `api_name` with positional `data`; never raises for an app-level error.

    `session_hash` makes calls one visitor's session (like a browser tab or a
    `gradio_client.Client`); without it every call is a new session.
    """
    base = base_url.rstrip("/")
    result = CallResult(started=time.perf_counter())
    body: dict[str, Any] = {"data": data}
    if session_hash:
        body["session_hash"] = session_hash
    response = await client.post(f"{base}/gradio_api/call/{api_name}", json=body, headers=headers)
    response.raise_for_status()
    event_id = response.json()["event_id"]
    event = None
    async with client.stream("GET", f"{base}/gradio_api/call/{api_name}/{event_id}", headers=headers) as stream:
        stream.raise_for_status()
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
                continue
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            value = json.loads(payload) if payload and payload != "null" else None
            if event == "generating":
                value = _first(value)
                if result.first_update_at is None and value:
                    result.first_update_at = time.perf_counter()
                result.updates.append(value)
            elif event == "complete":
                result.final, result.completed = _first(value), True
                break
            elif event == "error":
                if isinstance(value, dict):
                    value = value.get("error") or value.get("message")
                result.error = str(value) if value is not None else "error without a message"
                break
    result.ended_at = time.perf_counter()
    if result.first_update_at is None and result.completed and result.final:
        result.first_update_at = result.ended_at
    return result


def chat_data(text: str, provider: str, model: str, *, max_tokens: int = 1024) -> list:
    """Positional inputs of the app's /chat endpoint (the call API takes every parameter, defaults included)."""
    return [[{"role": "user", "content": text}], provider, model, "", 0.7, max_tokens, 0.95, "off", None]
