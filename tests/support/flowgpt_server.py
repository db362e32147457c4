"""A local stand-in for FlowGPT's anonymous chat endpoint (docs/protocols.md, FlowGPT), for tests.

`POST /v3/chat-anonymous` checks the signature headers exactly as the service
did (md5 of "{timestamp}-{nonce}-{authorization}", a fresh timestamp, a device
id "f-" + 19 characters) and refuses anything else with 403. The answer echoes
the question word by word as JSON lines. Directives in the question script failures:
  #401 #403 #404 #429 #500 #503   answer with that status (429 carries Retry-After: 3)
  #empty           start and done events with no text between
  #malformed       a broken line and a non-object line between the tokens
  #cut             drop the connection after two tokens
  #hang            send one token, then wait
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

MODELS = {
    "gpt-3.5-turbo", "gpt-3.5-long", "gpt-4-turbo", "google-gemini", "claude-instant", "claude-v1", "claude-v2",
    "llama2-13b", "mythalion-13b", "pygmalion-13b", "chronos-hermes-13b", "Mixtral-8x7B", "Dolphin-2.6-8x7B",
}
_DEVICE = re.compile(r"^f-[A-Za-z0-9]{19}$")


@dataclass
class FlowGptState:
    requests: list[dict] = field(default_factory=list)  # {"headers", "body"} of each accepted request
    refused: list[str] = field(default_factory=list)  # why each refused request was refused

    def reset(self) -> None:
        self.__init__()


def signature_problem(headers) -> str | None:
    """Why the request's signature headers are wrong, or None when they are right."""
    timestamp, nonce = headers.get("x-timestamp", ""), headers.get("x-nonce", "")
    authorization = headers.get("authorization", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
        return "stale or missing timestamp"
    if not re.fullmatch(r"[0-9a-f]{8,64}", nonce):
        return "missing nonce"
    expected = hashlib.md5(f"{timestamp}-{nonce}-{authorization}".encode()).hexdigest()
    if headers.get("x-signature") != expected:
        return "invalid signature"
    if not _DEVICE.match(headers.get("x-flow-device-id", "")):
        return "invalid device id"
    return None


def create_app(state: FlowGptState | None = None) -> Starlette:
    state = state or FlowGptState()

    async def chat(request: Request) -> Response:
        problem = signature_problem(request.headers)
        if problem:
            state.refused.append(problem)
            return JSONResponse({"message": problem}, status_code=403)
        body = await request.json()
        state.requests.append({"headers": dict(request.headers), "body": body})
        if body.get("model") not in MODELS:
            return JSONResponse({"message": f"unknown model {body.get('model')}"}, status_code=400)
        question = str(body.get("question") or "")
        for status in (401, 403, 404, 429, 500, 503):
            if f"#{status}" in question:
                headers = {"retry-after": "3"} if status == 429 else {}
                return JSONResponse({"message": f"scripted {status}"}, status_code=status, headers=headers)
        words = [] if "#empty" in question else f"{body['model']} says: {question}".split()

        async def lines():
            yield json.dumps({"event": "start", "data": ""}) + "\n"
            for i, word in enumerate(words):
                if "#cut" in question and i == 2:
                    raise RuntimeError("scripted connection drop")
                if "#malformed" in question:
                    yield "{broken\n"
                    yield "[1, 2]\n"
                yield json.dumps({"event": "text", "data": (" " if i else "") + word}) + "\n"
                if "#hang" in question:
                    await asyncio.sleep(60)
            yield json.dumps({"event": "done", "data": ""}) + "\n"

        return StreamingResponse(lines(), media_type="text/plain")

    app = Starlette(routes=[Route("/v3/chat-anonymous", chat, methods=["POST"])])
    app.state.flowgpt = state
    return app
