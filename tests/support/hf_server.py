"""A local stand-in for Hugging Face Inference, the Hub API and OpenAI-compatible servers.

Speaks: OpenAI chat SSE (`POST /v1/chat/completions`), `GET /v1/models`, the Hub model
API (`GET /api/models`, `GET /api/models/{id}`), and legacy `POST /models/{id}`, which
is text-to-image (PNG back) when the client asks for an image and TGI's raw
`data:` token stream otherwise. Every request is recorded with its Authorization header.

The model id scripts the behaviour:
- anything else: streams "Hello from <model>: <last user text>" word by word
  (vision: "I got <n> image(s) ..."); with `echo-prompt` the raw prompt is streamed back;
- `status-<code>`: answers that HTTP status (429 with Retry-After: 7, 503 "loading");
- `loading-<n>`: answers 503 "currently loading" n times, then works;
- `malformed`: two tokens, then a line that is not JSON;
- `cut`: two tokens, then the connection drops;
- `slow-start`: waits `slow_seconds` before answering; `slow-mid`: two tokens, then waits;
- `stream-error`: two tokens, then an in-stream `{"error": ...}` object;
- `tgi-length`: the raw stream ends without a special token;
- `empty`: a stream with no text (only the final chunk and `[DONE]`);
- `huge-image` (text-to-image): a 9000×9000 PNG (1-bit, about 10 kB, made once), over the
  default 50,000,000-pixel limit.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

HUB_MODELS: dict[str, dict[str, Any]] = {
    "local/chat-model": {"pipeline_tag": "text-generation", "tags": ["conversational"], "trendingScore": 50},
    "local/popular-chat": {"pipeline_tag": "text-generation", "tags": ["conversational"], "trendingScore": 30},
    "local/unpopular": {"pipeline_tag": "text-generation", "tags": [], "trendingScore": 2},
    "local/vision-model": {"pipeline_tag": "image-text-to-text", "tags": ["conversational"], "trendingScore": 40},
    "local/image-model": {"pipeline_tag": "text-to-image", "tags": [], "trendingScore": 90},
    "local/cold-image": {"pipeline_tag": "text-to-image", "tags": [], "trendingScore": 5},
    "local/base-model": {"pipeline_tag": "text-generation", "tags": [],
                         "config": {"model_type": "llama", "tokenizer_config": {"eos_token": "<|im_end|>"}}},
    "local/echo-prompt": {"pipeline_tag": "text-generation", "tags": [],
                          "config": {"model_type": "llama", "tokenizer_config": {"eos_token": "<|eot_id|>"}}},
}


@functools.lru_cache(maxsize=1)
def huge_png(size: tuple[int, int] = (9000, 9000)) -> bytes:
    """A large-dimension PNG that is cheap to send: one bit per pixel, all zero."""
    buffer = io.BytesIO()
    Image.new("1", size).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class Recorded:
    method: str
    path: str
    authorization: str | None
    body: Any


@dataclass
class HfServer:
    """The app plus what it saw; behaviour is scripted by the model id (see the module docstring)."""

    slow_seconds: float = 3.0
    token_delay: float = 0.0
    openai_models: list[str] = field(default_factory=lambda: ["served/model-a", "served/model-b"])
    requests: list[Recorded] = field(default_factory=list)
    _loading: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[
            Route("/v1/chat/completions", self.chat, methods=["POST"]),
            Route("/v1/models", self.list_openai_models),
            Route("/api/models", self.hub_list),
            Route("/api/models/{model_id:path}", self.hub_model),
            Route("/models/{model_id:path}", self.legacy, methods=["POST"]),
        ])

    # -- what the tests read ------------------------------------------------------------
    def calls(self, path_prefix: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith(path_prefix)]

    def authorizations(self, path_prefix: str = "") -> list[str | None]:
        return [r.authorization for r in self.calls(path_prefix)]

    async def _record(self, request: Request) -> Any:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        self.requests.append(Recorded(request.method, request.url.path, request.headers.get("authorization"), body))
        return body

    # -- scripted failures -----------------------------------------------------------------
    def _failure(self, model: str) -> Response | None:
        if model.startswith("status-"):
            code = int(model.split("-", 1)[1])
            headers = {"Retry-After": "7"} if code == 429 else {}
            message = "Model local is currently loading" if code == 503 else f"scripted {code}"
            return JSONResponse({"error": message}, status_code=code, headers=headers)
        if model.startswith("loading-"):
            left = self._loading.setdefault(model, int(model.split("-", 1)[1]))
            if left > 0:
                self._loading[model] = left - 1
                return JSONResponse({"error": "Model is currently loading", "estimated_time": 0.05},
                                    status_code=503)
        return None

    async def _chunks(self, model: str, pieces: list[str], encode, tail: list[str]):
        """Stream `pieces` encoded as lines, honouring the scripted mid-stream behaviours."""
        for index, piece in enumerate(pieces):
            if index == 2 and model == "malformed":
                yield "data: {this is not json\n\n"
                return
            if index == 2 and model == "cut":
                raise ConnectionResetError("scripted cut")
            if index == 2 and model == "slow-mid":
                await asyncio.sleep(self.slow_seconds)
            if index == 2 and model == "stream-error":
                yield "data: " + json.dumps({"error": "scripted overload", "error_type": "overloaded"}) + "\n\n"
                return
            if self.token_delay:
                await asyncio.sleep(self.token_delay)
            yield encode(index, piece)
        for line in tail:
            yield line

    async def _maybe_slow(self, model: str) -> None:
        if model == "slow-start":
            await asyncio.sleep(self.slow_seconds)

    # -- OpenAI-compatible ----------------------------------------------------------------------
    async def chat(self, request: Request) -> Response:
        body = await self._record(request)
        model = str(body.get("model") or "")
        failure = self._failure(model)
        if failure is not None:
            return failure
        await self._maybe_slow(model)
        messages = body.get("messages") or []
        images = sum(1 for m in messages if isinstance(m.get("content"), list)
                     for part in m["content"] if part.get("type") == "image_url")
        last = messages[-1]["content"] if messages else ""
        if isinstance(last, list):
            last = " ".join(p.get("text", "") for p in last if p.get("type") == "text")
        text = f"I got {images} image(s) about {last}" if images else f"Hello from {model}: {last}"
        words = text.split(" ")
        pieces = [] if model == "empty" else [w if i == 0 else " " + w for i, w in enumerate(words)]

        def encode(index: int, piece: str) -> str:
            chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
                     "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece},
                                  "finish_reason": None}]}
            return "data: " + json.dumps(chunk) + "\n\n"

        final = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
                 "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": "stop"}]}
        tail = ["data: " + json.dumps(final) + "\n\n", "data: [DONE]\n\n"]
        return StreamingResponse(self._chunks(model, pieces, encode, tail), media_type="text/event-stream")

    async def list_openai_models(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({"object": "list", "data": [{"id": m, "object": "model"} for m in self.openai_models]})

    # -- Hub API -------------------------------------------------------------------------------------
    async def hub_list(self, request: Request) -> Response:
        await self._record(request)
        tag = request.query_params.get("pipeline_tag")
        return JSONResponse([{"id": model_id, "pipeline_tag": info["pipeline_tag"],
                              "trendingScore": info.get("trendingScore", 0)}
                             for model_id, info in HUB_MODELS.items() if info["pipeline_tag"] == tag])

    async def hub_model(self, request: Request) -> Response:
        await self._record(request)
        model_id = request.path_params["model_id"]
        info = HUB_MODELS.get(model_id)
        if info is None:
            return JSONResponse({"error": "Repository not found"}, status_code=404)
        return JSONResponse({"id": model_id, **info})

    # -- legacy: text-to-image and TGI raw stream --------------------------------------------------
    async def legacy(self, request: Request) -> Response:
        body = await self._record(request)
        model = request.path_params["model_id"]
        failure = self._failure(model)
        if failure is not None:
            return failure
        await self._maybe_slow(model)
        if "image" in request.headers.get("accept", ""):
            if model.endswith("huge-image"):
                return Response(huge_png(), media_type="image/png")
            return self._image(body)
        return self._tgi(model, body)

    def _image(self, body: dict) -> Response:
        params = body.get("parameters") or {}
        seed = int(params.get("seed") or 0)
        size = (int(params.get("width") or 64), int(params.get("height") or 64))
        buffer = io.BytesIO()
        Image.new("RGB", size, (seed % 256, (seed // 256) % 256, 7)).save(buffer, format="PNG")
        return Response(buffer.getvalue(), media_type="image/png")

    def _tgi(self, model: str, body: dict) -> Response:
        prompt = str(body.get("inputs") or "")
        text = prompt if model == "local/echo-prompt" else f"Raw answer from {model}"
        words = text.split(" ")
        pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]

        def encode(index: int, piece: str) -> str:
            token = {"id": index, "text": piece, "logprob": -0.1, "special": False}
            return "data:" + json.dumps({"index": index, "token": token, "generated_text": None,
                                         "details": None}) + "\n\n"

        tail = []
        if model != "tgi-length":
            eos = {"id": 2, "text": "</s>", "logprob": -0.1, "special": True}
            tail.append("data:" + json.dumps({"index": len(pieces), "token": eos, "generated_text": text,
                                              "details": {"finish_reason": "eos_token", "generated_tokens": 3,
                                                          "input_length": 1}}) + "\n\n")
        return StreamingResponse(self._chunks(model, pieces, encode, tail), media_type="text/event-stream")
