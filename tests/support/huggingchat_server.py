"""A local stand-in for HuggingChat's chat-ui server (docs/protocols.md, HuggingChat), mounted at /chat.

It checks the `hf-chat` cookie on every conversation route and keeps each
cookie's conversations apart (another cookie gets 404). Tests script it:
- `server.replies.append(kind)` picks how the next message is answered (default "echo"):
  "echo" (streams "You said: <inputs>" plus the number of files), "rich" (every event
  type, a malformed line, an unknown type and a generated image), "garbage" (only
  unreadable lines), "garbage-final" (unreadable lines, then a finalAnswer with text),
  "cut" (two tokens, then the connection drops), "ended" (two tokens, then a clean
  close without finalAnswer), "stall" (two tokens, then silence), "slow" (silence
  first), "status-error" (a token, then an error status), "empty" (a finalAnswer with no text).
- `server.fail(route, status, ...)` makes the next call of a route ("models", "create",
  "info", "send", "output") fail with that status.
- `server.requests` records what arrived (route, cookie header, parsed data, files).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route

MODELS = [
    {"id": "text-model", "name": "text-model", "multimodal": False},
    {"id": "vision-model", "name": "vision-model", "multimodal": True},
    {"id": "hidden-model", "name": "hidden-model", "multimodal": False, "unlisted": True},
]


def png(colour: tuple[int, int, int] = (10, 200, 30), size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def flatten(value: Any) -> list:
    """SvelteKit's index encoding (devalue): containers hold indices of their items."""
    values: list = []

    def add(item: Any) -> int:
        index = len(values)
        values.append(None)
        if isinstance(item, dict):
            values[index] = {key: add(v) for key, v in item.items()}
        elif isinstance(item, list):
            values[index] = [add(v) for v in item]
        elif isinstance(item, datetime):
            values[index] = ["Date", item.isoformat()]
        else:
            values[index] = item
        return index

    add(value)
    return values


def line(payload: Any) -> bytes:
    return (json.dumps(payload) + "\n").encode()


def token(text: str) -> bytes:
    """A `stream` line padded with NUL characters, as chat-ui pads its tokens."""
    return line({"type": "stream", "token": text + "\x00" * 4})


@dataclass
class Conversation:
    owner: str
    model: str
    preprompt: str
    messages: list[dict] = field(default_factory=list)
    outputs: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Recorded:
    route: str
    path: str
    cookie_header: str | None
    data: dict | None = None
    files: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class Call:
    """One admitted request: what was recorded, whose it is, or the error to answer with."""

    recorded: Recorded
    user: str | None = None
    conversation: Conversation | None = None
    error: Response | None = None


class HuggingChatServer:
    def __init__(self, cookies: set[str] | None = None) -> None:
        self.cookies = set(cookies or {"cookie-alice", "cookie-bob"})
        self.auth_status = 401
        self.models = [dict(m) for m in MODELS]
        self.v2_api = True
        self.slow_seconds = 2.0
        #: A Set-Cookie header sent with every new conversation (clients must not store it).
        self.set_cookie: str | None = None
        self.replies: list[str] = []
        self.requests: list[Recorded] = []
        self.conversations: dict[str, Conversation] = {}
        self._failures: dict[str, list[tuple[int, Any, dict[str, str]]]] = {}
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Mount("/chat", routes=[
            Route("/api/v2/models", self.list_models, methods=["GET"]),
            Route("/conversation", self.create, methods=["POST"]),
            Route("/api/v2/conversations/{cid}", self.info_v2, methods=["GET"]),
            Route("/conversation/{cid}/__data.json", self.info_data, methods=["GET"]),
            Route("/conversation/{cid}", self.send, methods=["POST"]),
            Route("/conversation/{cid}/output/{sha}", self.output, methods=["GET"]),
        ])])

    # -- scripting ----------------------------------------------------------------------
    def fail(self, route: str, status: int, body: Any = None, *, headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self._failures.setdefault(route, []).append((status, body, headers or {}))

    def _failure(self, route: str) -> Response | None:
        with self._lock:
            queue = self._failures.get(route)
            if not queue:
                return None
            status, body, headers = queue.pop(0)
        if body is None:
            body = {"message": f"scripted HTTP {status}"}
        return JSONResponse(body, status_code=status, headers=headers)

    def sent(self) -> list[Recorded]:
        return [r for r in self.requests if r.route == "send"]

    def owned_by(self, cookie: str) -> list[str]:
        return [cid for cid, c in self.conversations.items() if c.owner == cookie]

    # -- helpers --------------------------------------------------------------------------
    def _record(self, route: str, request: Request, **extra: Any) -> Recorded:
        recorded = Recorded(route, request.url.path, request.headers.get("cookie"), **extra)
        self.requests.append(recorded)
        return recorded

    def _user(self, request: Request) -> str | None:
        cookie = request.cookies.get("hf-chat")
        return cookie if cookie in self.cookies else None

    def _conversation(self, request: Request, user: str) -> Conversation | None:
        conversation = self.conversations.get(request.path_params["cid"])
        return conversation if conversation is not None and conversation.owner == user else None

    def _admit(self, route: str, request: Request, *, conversation: bool = True) -> Call:
        """Record the call, then apply a scripted failure, the cookie check and the owner check."""
        call = Call(self._record(route, request))
        if failure := self._failure(route):
            call.error = failure
        elif (user := self._user(request)) is None:
            call.error = JSONResponse({"message": "You need to be logged in"}, status_code=self.auth_status)
        else:
            call.user = user
            if conversation:
                call.conversation = self._conversation(request, user)
                if call.conversation is None:
                    call.error = JSONResponse({"message": "Conversation not found"}, status_code=404)
        return call

    # -- routes -----------------------------------------------------------------------------
    async def list_models(self, request: Request) -> Response:
        self._record("models", request)
        return self._failure("models") or JSONResponse({"json": self.models})

    async def create(self, request: Request) -> Response:
        call = self._admit("create", request, conversation=False)
        if call.error:
            return call.error
        body = await request.json()
        if body.get("model") not in {m["id"] for m in self.models}:
            return JSONResponse({"message": "Model not found"}, status_code=400)
        cid = uuid.uuid4().hex[:24]
        conversation = Conversation(call.user, body["model"], body.get("preprompt", ""))
        conversation.messages.append({"id": str(uuid.uuid4()), "from": "system", "content": conversation.preprompt,
                                      "createdAt": datetime.now(timezone.utc)})
        self.conversations[cid] = conversation
        headers = {"set-cookie": self.set_cookie} if self.set_cookie else None
        return JSONResponse({"conversationId": cid}, headers=headers)

    async def info_v2(self, request: Request) -> Response:
        if not self.v2_api:
            return Response("Not Found", status_code=404)
        call = self._admit("info", request)
        if call.error:
            return call.error
        messages = [{**m, "createdAt": m["createdAt"].isoformat()} for m in call.conversation.messages]
        return JSONResponse({"json": {"model": call.conversation.model, "messages": messages}})

    async def info_data(self, request: Request) -> Response:
        call = self._admit("info", request)
        if call.error:
            return call.error
        conversation = call.conversation
        root = {"title": "New Chat", "model": conversation.model, "messages": conversation.messages}
        return JSONResponse({"type": "data", "nodes": [
            {"type": "skip"}, {"type": "data", "data": flatten(root), "uses": {"params": ["id"]}}]})

    async def output(self, request: Request) -> Response:
        call = self._admit("output", request)
        if call.error:
            return call.error
        data = call.conversation.outputs.get(request.path_params["sha"])
        if data is None:
            return JSONResponse({"message": "File not found"}, status_code=404)
        return Response(data, media_type="image/png")

    async def send(self, request: Request) -> Response:
        call = self._admit("send", request)
        if call.error:
            return call.error
        recorded, conversation = call.recorded, call.conversation
        form = await request.form()
        try:
            data = json.loads(form["data"])
        except (KeyError, TypeError, ValueError):
            return JSONResponse({"message": "Invalid data part"}, status_code=400)
        recorded.data = data
        for upload in form.getlist("files"):
            raw = base64.b64decode(await upload.read(), validate=True)
            Image.open(io.BytesIO(raw)).verify()
            recorded.files.append((upload.filename, len(raw)))
        if recorded.files and not any(m["id"] == conversation.model and m.get("multimodal") for m in self.models):
            return JSONResponse({"message": "This model does not accept files"}, status_code=400)
        if data.get("id") != conversation.messages[-1]["id"]:
            return JSONResponse({"message": "Message not found"}, status_code=400)
        conversation.messages.append({"id": str(uuid.uuid4()), "from": "user", "content": data["inputs"],
                                      "createdAt": datetime.now(timezone.utc)})
        kind = self.replies.pop(0) if self.replies else "echo"
        return StreamingResponse(self._reply(kind, conversation, data, len(recorded.files)),
                                 media_type="application/jsonl")

    async def _reply(self, kind: str, conversation: Conversation, data: dict, files: int):
        if kind == "slow":
            await asyncio.sleep(self.slow_seconds)
        yield line({"type": "status", "status": "started"})
        text = ""
        if kind == "echo":
            text = f"You said: {data['inputs']} [files: {files}]"
            for i, word in enumerate(text.split(" ")):
                yield token(word if i == 0 else " " + word)
        elif kind == "rich":
            sha = uuid.uuid4().hex
            conversation.outputs[sha] = png()
            text = "Hello world"
            yield line({"type": "reasoning", "subtype": "status", "status": "Thinking…"})
            yield line({"type": "reasoning", "subtype": "stream", "token": "Let me think.\x00\x00"})
            yield line({"type": "status", "status": "keepAlive"})
            yield line({"type": "webSearch", "subtype": "update", "message": "Searching the web"})
            yield line({"type": "webSearch", "subtype": "sources", "message": "sources", "sources": [
                {"title": "Example", "link": "https://example.com/a"},
                {"title": "Bad", "link": "javascript:alert(1)"},
            ]})
            yield token("Hello")
            yield b"this is not json\n"
            yield line({"no": "type"})
            yield line({"type": "routerMetadata", "route": "x"})
            yield token(" world")
            yield line({"type": "file", "name": "image.png", "sha": sha, "mime": "image/png"})
            yield line({"type": "title", "title": "A chat about greetings\x00"})
            yield line({"type": "status", "status": "finished"})
        elif kind == "empty":
            pass
        elif kind in ("garbage", "garbage-final"):
            yield b"{broken json\n"
            yield line(["no", "type"])
            if kind == "garbage-final":
                text = "Recovered answer"
                yield line({"type": "finalAnswer", "text": text, "interrupted": False})
            return
        elif kind in ("cut", "ended", "stall", "status-error"):
            yield token("partial")
            if kind == "status-error":
                yield line({"type": "status", "status": "error", "message": "Model is overloaded"})
                return
            yield token(" answer")
            if kind == "cut":
                raise ConnectionAbortedError("scripted cut")
            if kind == "stall":
                await asyncio.sleep(self.slow_seconds)
            return
        conversation.messages.append({"id": str(uuid.uuid4()), "from": "assistant", "content": text,
                                      "createdAt": datetime.now(timezone.utc)})
        yield line({"type": "finalAnswer", "text": text, "interrupted": False})
