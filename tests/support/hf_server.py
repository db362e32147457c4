"""A local stand-in for the Hugging Face router, the Hub API, a TGI server and OpenAI-compatible servers.

Speaks the layouts the services serve today (docs/huggingface.md):
- router and OpenAI-compatible servers: `POST /v1/chat/completions` (OpenAI chat SSE; `model` may carry a
  `:provider` suffix; `continue_final_message` extends the last assistant message as vLLM and TGI do),
  `GET /v1/models`;
- the router's hf-inference task route `POST /hf-inference/models/{id}`: text-to-image when the client
  asks for an image (PNG back), else text generation (TGI's `data:` token stream when `"stream": true`);
- a self-hosted server's hf-inference layout `POST /models/{id}`: text-to-image only (a TGI server has no
  such route, so text generation there is a 404);
- TGI: `POST /generate_stream`, `POST /generate`, `POST /` (either, by the `stream` flag), `GET /info`,
  serving the one model `tgi_model`;
- the Hub API: `GET /api/models`, `GET /api/models/{id}` (with `expand=...` only the fields asked for,
  e.g. `inferenceProviderMapping`).
Every request is recorded with its Authorization header.

The model's name (the part after the last `/`, without a `:provider` suffix) scripts the behaviour:
- anything else: streams "Hello from <model>: <last user text>" word by word
  (vision: "I got <n> image(s) ..."); on TGI routes "Raw answer from <model>", and `echo-prompt`
  streams the raw prompt back;
- `status-<code>`: answers that HTTP status with the body the service sends (router: `{"error": "..."}`
  or OpenAI-style `{"error": {"message", "type", "code"}}`; TGI: `{"error", "error_type"}`; 429 with
  Retry-After: 7);
- `loading-<n>`: answers 503 (Retry-After: 1) n times, then works;
- `malformed`: two tokens, then a line that is not JSON;
- `cut`: two tokens, then the connection drops;
- `slow-start`: waits `slow_seconds` before answering; `slow-mid`: two tokens, then waits;
- `stream-error`: two tokens, then an in-stream `{"error": ..., "error_type": "overloaded"}` object;
- `tgi-length`: the token stream ends without a special token;
- `empty`: a stream with no text (only the final chunk and `[DONE]`);
- `huge-image` (text-to-image): a 9000×9000 PNG (1-bit, about 10 kB, made once), over the
  default 50,000,000-pixel limit.

Structured output: a chat body with `response_format` is honoured as servers do. `json_object`
answers `{"answer": "<the usual answer>"}`; `json_schema` answers a value built from the schema
(strings say "Hello from <model>", numbers are 1, an enum gives its first option, arrays one item,
objects every property). Two models break it on purpose: `json-mismatch` answers JSON without the
required properties (the others get the wrong type), and `json-broken` answers text that is not JSON.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

_CHAT = {"pipeline_tag": "text-generation", "tags": ["conversational"]}

#: Hub models; `providers` becomes the `inferenceProviderMapping` ({provider: task}).
HUB_MODELS: dict[str, dict[str, Any]] = {
    "local/chat-model": {**_CHAT, "trendingScore": 50,
                         "providers": {"together": "conversational", "hf-inference": "conversational"}},
    "local/popular-chat": {**_CHAT, "trendingScore": 30, "providers": {"together": "conversational"}},
    "local/unpopular": {"pipeline_tag": "text-generation", "tags": [], "trendingScore": 2},
    "local/vision-model": {"pipeline_tag": "image-text-to-text", "tags": ["conversational"], "trendingScore": 40},
    "local/image-model": {"pipeline_tag": "text-to-image", "tags": [], "trendingScore": 90,
                          "providers": {"hf-inference": "text-to-image", "fal-ai": "text-to-image"}},
    "local/fal-image": {"pipeline_tag": "text-to-image", "tags": [], "providers": {"fal-ai": "text-to-image"}},
    "local/cold-image": {"pipeline_tag": "text-to-image", "tags": [], "trendingScore": 5},
    "local/base-model": {"pipeline_tag": "text-generation", "tags": [], "providers": {"hf-inference": "text-generation"},
                         "config": {"model_type": "llama", "tokenizer_config": {"eos_token": "<|im_end|>"}}},
    "local/together-base": {"pipeline_tag": "text-generation", "tags": [], "providers": {"together": "text-generation"},
                            "config": {"model_type": "llama", "tokenizer_config": {"eos_token": "<|im_end|>"}}},
    "local/echo-prompt": {"pipeline_tag": "text-generation", "tags": [], "providers": {"hf-inference": "text-generation"},
                          "config": {"model_type": "llama", "tokenizer_config": {"eos_token": "<|eot_id|>"}}},
}

#: What the router answers for a status: a plain `{"error": str}`, or OpenAI-style (type, code).
_ROUTER_ERRORS: dict[int, str | tuple[str, str, str]] = {
    400: ("The requested model '{model}' is not supported by any provider you have enabled.",
          "invalid_request_error", "model_not_supported"),
    401: "Invalid credentials in Authorization header",
    402: "You have exceeded your monthly included credits for Inference Providers.",
    403: "Access to model {model} is restricted. You must have access to it and be authenticated to access it.",
    404: ("The requested model '{model}' does not exist.", "invalid_request_error", "model_not_found"),
    410: "The requested API is no longer supported.",
    429: "You have reached the rate limit for this model.",
    500: ("Internal server error", "server_error", "internal_error"),
    503: ("Service Unavailable: the model {model} is currently loading", "service_unavailable", "model_loading"),
}
#: TGI's `error_type` per status.
_TGI_ERROR_TYPES = {400: "validation", 422: "validation", 424: "generation", 429: "overloaded",
                    500: "incomplete_generation", 503: "overloaded"}


@functools.lru_cache(maxsize=1)
def huge_png(size: tuple[int, int] = (9000, 9000)) -> bytes:
    """A large-dimension PNG that is cheap to send: one bit per pixel, all zero."""
    buffer = io.BytesIO()
    Image.new("1", size).save(buffer, format="PNG")
    return buffer.getvalue()


def script_name(model: str) -> str:
    """The part of a model id that scripts the behaviour: after the last `/`, without a `:provider` suffix."""
    return model.split(":", 1)[0].rsplit("/", 1)[-1]


def words(text: str) -> list[str]:
    """Text as streamed pieces: words with their leading space."""
    return [w if i == 0 else " " + w for i, w in enumerate(text.split(" "))] if text else []


def sse(data: dict[str, Any], prefix: str = "data: ") -> str:
    return prefix + json.dumps(data) + "\n\n"


@dataclass
class Recorded:
    method: str
    path: str
    authorization: str | None
    body: Any
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class HfServer:
    """The app plus what it saw; behaviour is scripted by the model id (see the module docstring)."""

    slow_seconds: float = 3.0
    token_delay: float = 0.0
    openai_models: list[str] = field(default_factory=lambda: ["served/model-a", "served/model-b"])
    #: The one model the TGI routes serve (a TGI server is started for one model).
    tgi_model: str = "local/echo-prompt"
    requests: list[Recorded] = field(default_factory=list)
    _loading: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[
            Route("/v1/chat/completions", self.chat, methods=["POST"]),
            Route("/v1/models", self.list_openai_models),
            Route("/api/models", self.hub_list),
            Route("/api/models/{model_id:path}", self.hub_model),
            Route("/hf-inference/models/{model_id:path}", self.hf_inference, methods=["POST"]),
            Route("/models/{model_id:path}", self.image_task, methods=["POST"]),
            Route("/generate_stream", self.tgi_generate_stream, methods=["POST"]),
            Route("/generate", self.tgi_generate, methods=["POST"]),
            Route("/", self.tgi_compat, methods=["POST"]),
            Route("/info", self.tgi_info),
        ])

    # -- what the tests read ------------------------------------------------------------
    def calls(self, path_prefix: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith(path_prefix)]

    def authorizations(self, path_prefix: str = "") -> list[str | None]:
        return [r.authorization for r in self.calls(path_prefix)]

    def reset(self) -> None:
        """Forget requests and scripted state between tests."""
        self.requests.clear()
        self._loading.clear()
        self.token_delay = 0.0
        self.tgi_model = "local/echo-prompt"

    async def _record(self, request: Request) -> Any:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        self.requests.append(Recorded(request.method, request.url.path, request.headers.get("authorization"), body,
                                      dict(request.query_params)))
        return body

    # -- scripted failures -----------------------------------------------------------------
    def _failure(self, model: str, *, tgi: bool = False) -> Response | None:
        """The scripted error response for `model`, in the router's or TGI's body format, if any."""
        name = script_name(model)
        if name.startswith("status-"):
            code = int(name.split("-", 1)[1])
        elif name.startswith("loading-") and self._loading.setdefault(name, int(name.split("-", 1)[1])) > 0:
            self._loading[name] -= 1
            code = 503
        else:
            return None
        headers = {"Retry-After": "7"} if code == 429 else {"Retry-After": "1"} if code == 503 else {}
        if tgi:
            body: dict[str, Any] = {"error": f"scripted {code} for {model}",
                                    "error_type": _TGI_ERROR_TYPES.get(code, "generation")}
        else:
            known = _ROUTER_ERRORS.get(code, f"scripted {code}")
            if isinstance(known, tuple):
                message, kind, error_code = known
                body = {"error": {"message": message.format(model=model), "type": kind, "code": error_code}}
            else:
                body = {"error": known.format(model=model)}
        return JSONResponse(body, status_code=code, headers=headers)

    async def _chunks(self, model: str, pieces: list[str], encode: Callable[[int, str], str],
                      tail: list[str]) -> AsyncIterator[str]:
        """Stream `pieces` encoded as lines, honouring the scripted mid-stream behaviours."""
        name = script_name(model)
        for index, piece in enumerate(pieces):
            if index == 2 and name == "malformed":
                yield "data: {this is not json\n\n"
                return
            if index == 2 and name == "cut":
                raise ConnectionResetError("scripted cut")
            if index == 2 and name == "slow-mid":
                await asyncio.sleep(self.slow_seconds)
            if index == 2 and name == "stream-error":
                yield sse({"error": "scripted overload", "error_type": "overloaded"})
                return
            if self.token_delay:
                await asyncio.sleep(self.token_delay)
            yield encode(index, piece)
        for line in tail:
            yield line

    async def _maybe_slow(self, model: str) -> None:
        if script_name(model) == "slow-start":
            await asyncio.sleep(self.slow_seconds)

    # -- OpenAI-compatible chat (the router, vLLM, TGI's /v1) ---------------------------------------
    async def chat(self, request: Request) -> Response:
        body = await self._record(request)
        model = str(body.get("model") or "")
        failure = self._failure(model)
        if failure is not None:
            return failure
        await self._maybe_slow(model)
        messages = body.get("messages") or []
        if body.get("continue_final_message"):
            refusal = _continue_refusal(body, messages)
            if refusal is not None:
                return refusal
            text = _continuation(model, messages)
        elif body.get("response_format"):
            text = _structured(model, body["response_format"])
        else:  # a trailing assistant message, if any, is answered as a new turn
            text = _answer(model, messages)
        pieces = [] if script_name(model) == "empty" else words(text)

        def encode(index: int, piece: str) -> str:
            return sse({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
                        "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece},
                                     "finish_reason": None}]})

        final = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
                 "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": "stop"}]}
        tail = [sse(final), "data: [DONE]\n\n"]
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
        full = {"_id": f"id-{model_id}", "id": model_id, **{k: v for k, v in info.items() if k != "providers"},
                "inferenceProviderMapping": {
                    provider: {"status": "live", "providerId": f"{provider}-{model_id}", "task": task}
                    for provider, task in info.get("providers", {}).items()}}
        expand = request.query_params.getlist("expand") + request.query_params.getlist("expand[]")
        if expand:  # the Hub answers only the fields asked for
            full = {k: v for k, v in full.items() if k in ("_id", "id", *expand)}
        return JSONResponse(full)

    # -- task routes: the router's hf-inference, a self-hosted image server ---------------------------
    async def hf_inference(self, request: Request) -> Response:
        return await self._task(request, text=True)

    async def image_task(self, request: Request) -> Response:
        return await self._task(request, text=False)

    async def _task(self, request: Request, *, text: bool) -> Response:
        body = await self._record(request)
        model = request.path_params["model_id"]
        wants_image = "image" in request.headers.get("accept", "")
        if not wants_image and not text:
            return JSONResponse({"error": "Not Found"}, status_code=404)
        failure = self._failure(model)
        if failure is not None:
            return failure
        await self._maybe_slow(model)
        if wants_image:
            if script_name(model) == "huge-image":
                return Response(huge_png(), media_type="image/png")
            return _image(body)
        return self._generate(model, body, stream=bool(body.get("stream")), single=False)

    # -- TGI -----------------------------------------------------------------------------------------
    async def tgi_generate_stream(self, request: Request) -> Response:
        return await self._tgi(request, stream=True)

    async def tgi_generate(self, request: Request) -> Response:
        return await self._tgi(request, stream=False, single=True)

    async def tgi_compat(self, request: Request) -> Response:
        return await self._tgi(request, stream=None)

    async def tgi_info(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({"model_id": self.tgi_model, "max_total_tokens": 4096, "router": "text-generation-router"})

    async def _tgi(self, request: Request, *, stream: bool | None, single: bool = False) -> Response:
        body = await self._record(request)
        failure = self._failure(self.tgi_model, tgi=True)
        if failure is not None:
            return failure
        await self._maybe_slow(self.tgi_model)
        stream = bool(body.get("stream")) if stream is None else stream
        return self._generate(self.tgi_model, body, stream=stream, single=single)

    def _generate(self, model: str, body: dict, *, stream: bool, single: bool) -> Response:
        """TGI text generation: a `data:` token stream ending with a special token, or the whole text."""
        prompt = str(body.get("inputs") or "")
        text = prompt if script_name(model) == "echo-prompt" else f"Raw answer from {model}"
        if not stream:
            answer = {"generated_text": text}
            return JSONResponse(answer if single else [answer])
        pieces = words(text)

        def encode(index: int, piece: str) -> str:
            token = {"id": index, "text": piece, "logprob": -0.1, "special": False}
            return sse({"index": index, "token": token, "generated_text": None, "details": None}, "data:")

        tail = []
        if script_name(model) != "tgi-length":
            eos = {"id": 2, "text": "</s>", "logprob": -0.1, "special": True}
            tail.append(sse({"index": len(pieces), "token": eos, "generated_text": text,
                             "details": {"finish_reason": "eos_token", "generated_tokens": len(pieces) + 1,
                                         "seed": None}}, "data:"))
        return StreamingResponse(self._chunks(model, pieces, encode, tail), media_type="text/event-stream")


def _text_of(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if p.get("type") == "text")
    return str(content or "")


def _answer(model: str, messages: list[dict]) -> str:
    """The scripted answer to a conversation: to its last message, whoever wrote it."""
    images = sum(1 for m in messages if isinstance(m.get("content"), list)
                 for part in m["content"] if part.get("type") == "image_url")
    last = _text_of(messages[-1]["content"]) if messages else ""
    return f"I got {images} image(s) about {last}" if images else f"Hello from {model}: {last}"


def _structured(model: str, response_format: dict) -> str:
    """The JSON answer to a `response_format` (see the module docstring), as compact-ish JSON text."""
    name = script_name(model)
    if name == "json-broken":
        return "Sure! Here is the data you asked for: name is Ada"
    schema = (response_format.get("json_schema") or {}).get("schema")
    if response_format.get("type") != "json_schema" or not isinstance(schema, dict):
        return json.dumps({"answer": f"Hello from {model}"})
    if name == "json-mismatch":
        wrong = {"string": 7, "integer": "seven", "number": "seven", "boolean": "yes", "array": {}, "object": []}
        return json.dumps({key: wrong.get(str(sub.get("type")), None) for key, sub in
                           (schema.get("properties") or {}).items() if key not in (schema.get("required") or [])}
                          or {"unexpected": True})
    return json.dumps(_value_for(schema, model))


def _value_for(schema: dict, model: str) -> Any:
    """A value matching a (simple) JSON schema."""
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        return {key: _value_for(sub, model) for key, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [_value_for(schema.get("items") or {"type": "string"}, model)]
    return {"string": f"Hello from {model}", "integer": 1, "number": 1.5, "boolean": True, "null": None}.get(
        str(kind), f"Hello from {model}")


def _continue_refusal(body: dict, messages: list[dict]) -> Response | None:
    """vLLM's 400s for a continue request it cannot honour (its `{"object": "error", ...}` body)."""
    if body.get("add_generation_prompt", True):
        message = "continue_final_message and add_generation_prompt cannot both be true"
    elif not messages or messages[-1].get("role") != "assistant":
        message = "continue_final_message is set but the final message is not from the assistant"
    else:
        return None
    return JSONResponse({"object": "error", "message": message, "type": "BadRequestError", "param": None,
                         "code": 400}, status_code=400)


def _continuation(model: str, messages: list[dict]) -> str:
    """The rest of the scripted answer after the final (partial) assistant message, as vLLM streams it."""
    partial = _text_of(messages[-1]["content"])
    whole = _answer(model, messages[:-1])
    return whole[len(partial):] if whole.startswith(partial) and len(whole) > len(partial) else " and so on."


def _image(body: dict) -> Response:
    params = body.get("parameters") or {}
    seed = int(params.get("seed") or 0)
    size = (int(params.get("width") or 64), int(params.get("height") or 64))
    buffer = io.BytesIO()
    Image.new("RGB", size, (seed % 256, (seed // 256) % 256, 7)).save(buffer, format="PNG")
    return Response(buffer.getvalue(), media_type="image/png")
