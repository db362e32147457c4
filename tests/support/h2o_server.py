"""A local stand-in for an h2oGPT chat-ui server (docs/protocols.md, H2o), for tests.

Sessions are cookies set by `POST /settings`; a conversation belongs to the
session that created it. The answer echoes the last user line word by word.
Directives anywhere in the prompt script failures:
  #401 #403 #404 #429 #500 #503   answer the send with that status (429 carries Retry-After: 7);
                   #h2o-503 etc. do the same here only (other test servers ignore them)
  #empty           end the stream at once (only the end token, no text)
  #malformed       put broken lines between the tokens
  #error           a `data:{"error": ...}` line after one token
  #cut             drop the connection after two tokens
  #hang            send one token, then wait (until the client goes away)
Every request is recorded in `H2oState` so tests can check what happened,
in particular each DELETE.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

COOKIE = "hf-chat"
KNOWN_MODELS = {
    "h2oai/h2ogpt-gm-oasst1-en-2048-falcon-40b-v1",
    "h2oai/h2ogpt-gm-oasst1-en-2048-falcon-40b-v2",
    "h2oai/h2ogpt-gm-oasst1-en-2048-open-llama-13b",
    "h2oai/h2ogpt-gm-oasst1-multilang-2048-falcon-7b",
}


@dataclass
class H2oState:
    settings: list[dict] = field(default_factory=list)
    conversations: dict[str, str] = field(default_factory=dict)  # id -> session
    created: list[str] = field(default_factory=list)
    sends: list[dict] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)  # the session of each created conversation
    delete_delay: float = 0.0

    def reset(self) -> None:
        self.__init__()


def _last_user_line(prompt: str) -> str:
    users = [line[len("user: "):] for line in prompt.splitlines() if line.startswith("user: ")]
    return users[-1] if users else prompt


def create_app(state: H2oState | None = None) -> Starlette:
    state = state or H2oState()

    async def settings(request: Request) -> Response:
        form = dict(await request.form())
        state.settings.append(form)
        response = Response(status_code=303, headers={"location": "/"})
        if COOKIE not in request.cookies:
            response.set_cookie(COOKIE, uuid.uuid4().hex, httponly=True)
        return response

    async def create(request: Request) -> Response:
        session = request.cookies.get(COOKIE)
        if not session:
            return JSONResponse({"message": "no session: post the settings first"}, status_code=401)
        body = await request.json()
        if body.get("model") not in KNOWN_MODELS:
            return JSONResponse({"message": f"model {body.get('model')} not found"}, status_code=400)
        conversation_id = uuid.uuid4().hex[:24]
        state.conversations[conversation_id] = session
        state.created.append(conversation_id)
        state.sessions.append(session)
        return JSONResponse({"conversationId": conversation_id})

    async def send(request: Request) -> Response:
        conversation_id = request.path_params["id"]
        if state.conversations.get(conversation_id) != request.cookies.get(COOKIE):
            return JSONResponse({"message": "conversation not found"}, status_code=404)
        body = await request.json()
        state.sends.append(body)
        prompt = body.get("inputs", "")
        for status in (401, 403, 404, 429, 500, 503):
            if f"#{status}" in prompt or f"#h2o-{status}" in prompt:
                headers = {"retry-after": "7"} if status == 429 else {}
                return JSONResponse({"message": f"scripted {status}"}, status_code=status, headers=headers)
        words = [] if "#empty" in prompt else f"You said: {_last_user_line(prompt)}".split()

        async def tokens():
            for i, word in enumerate(words):
                if "#cut" in prompt and i == 2:
                    raise RuntimeError("scripted connection drop")
                if "#error" in prompt and i == 1:
                    yield 'data:{"error": "CUDA out of memory"}\n\n'
                    return
                if "#malformed" in prompt:
                    yield "data:{not json\n\n"
                yield "data:" + json.dumps({"token": {"id": i, "text": (" " if i else "") + word,
                                                      "special": False}}) + "\n\n"
                if "#hang" in prompt:
                    await asyncio.sleep(60)
            yield "data:" + json.dumps({"token": {"id": 0, "text": "</s>", "special": True},
                                        "generated_text": " ".join(words),
                                        "details": {"finish_reason": "eos_token"}}) + "\n\n"

        return StreamingResponse(tokens(), media_type="text/event-stream")

    async def delete(request: Request) -> Response:
        conversation_id = request.path_params["id"]
        state.deleted.append(conversation_id)
        if state.delete_delay:
            await asyncio.sleep(state.delete_delay)
        if state.conversations.pop(conversation_id, None) is None:
            return JSONResponse({"message": "conversation not found"}, status_code=404)
        return JSONResponse({"ok": True})

    app = Starlette(routes=[
        Route("/settings", settings, methods=["POST"]),
        Route("/conversation", create, methods=["POST"]),
        Route("/conversation/{id}", send, methods=["POST"]),
        Route("/conversation/{id}", delete, methods=["DELETE"]),
    ])
    app.state.h2o = state
    return app
