"""View code: the request the playground would send, written as Python, JavaScript or curl (no gradio here).

`build_snippet` checks and resolves the request as a run would (`Playground.resolve`, the sampling
and image bounds), asks the provider how it is reached (`Provider.code_target`, see `providers.code`)
and hands both to the builder registered for that target's client (`BUILDERS`): huggingface_hub's
InferenceClient, the `openai` client, gradio_client on a Space, or gradio_client on this app's own
API for providers with no public client. Credentials never appear: snippets read them from the
environment (`HF_TOKEN`, or the server's key variable). Images are read from files saved next to
the snippet (`image-1.jpg`, ...), numbered through the conversation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import Any

from providers import Capability, ChatRequest, ImageRequest, InputError, Message, Provider, Visitor
from providers.code import (
    HUGGINGFACE,
    OPENAI,
    PLAYGROUND,
    SPACE,
    CodeTarget,
    GradioCall,
    ImageFile,
    PreviousOutput,
)

from .limits import visitor_limit_key
from .service import Playground, sampling_params
from .structured import check_offered, response_format

TABS = {"text": Capability.TEXT, "vision": Capability.VISION, "image": Capability.IMAGE}
LANGUAGES = ("python", "javascript", "curl")
#: This app's own endpoint per tab (ui/api.py); `AppParams` gives its parameters, in order.
APP_ENDPOINTS = {"text": "/chat", "vision": "/vision", "image": "/image"}
#: An endpoint's parameters as (name, default), in order; JavaScript and curl send every one.
AppParams = dict[str, list[tuple[str, Any]]]


@dataclass(frozen=True)
class CodeRequest:
    """What a snippet sends: the tab, the provider, its target and the checked request."""

    tab: str
    provider: Provider
    target: CodeTarget
    request: ChatRequest | ImageRequest

    @property
    def chat(self) -> ChatRequest:
        assert isinstance(self.request, ChatRequest)
        return self.request

    @property
    def image(self) -> ImageRequest:
        assert isinstance(self.request, ImageRequest)
        return self.request


async def code_request(playground: Playground, tab: str, *, provider_id: str | None, model: str | None,
                       messages: list[Message] | None = None, prompt: str = "", app_url: str = "",
                       app_params: AppParams | None = None, **params: Any) -> CodeRequest:
    """The checked request for `tab` and how its provider is reached. Raises InputError (and provider errors)."""
    capability = TABS.get(tab)
    if capability is None:
        raise InputError(f"Unknown tab {tab!r}: expected one of {', '.join(TABS)}.")
    request: ChatRequest | ImageRequest
    if capability is Capability.IMAGE:
        provider, request = await playground.image_request(prompt, provider_id=provider_id, model=model,
                                                           **_image_params(params))
    else:
        messages = list(messages or [])
        if not messages or messages[-1].role != "user":
            raise InputError("Type a message first: the code shows the request for the next message.")
        provider, resolved = await playground.resolve(provider_id, model, capability)
        fmt = response_format(params.get("structured_output"), params.get("json_schema")) if tab == "text" else None
        check_offered(provider, fmt)
        request = ChatRequest(messages=messages, model=resolved, capability=capability,
                              system_prompt=str(params.get("system_prompt") or "") if tab == "text" else "",
                              response_format=fmt,
                              **sampling_params(params.get("temperature"), params.get("max_tokens"),
                                                params.get("top_p") if tab == "text" else None))
    target = await provider.code_target(request)
    if target.client == PLAYGROUND:
        target = _app_target(tab, provider, request, app_url, app_params or {})
    return CodeRequest(tab, provider, target, request)


def _image_params(params: dict[str, Any]) -> dict[str, Any]:
    names = ("negative_prompt", "width", "height", "steps", "guidance", "seed")
    return {name: params[name] for name in names if params.get(name) is not None}


async def build_snippet(playground: Playground, tab: str, language: str, *, visitor: Visitor | None = None,
                        **request: Any) -> str:
    """The snippet for `tab`'s request (see `code_request`) in `language` (python, javascript or curl).

    Resolving a request may ask a provider about the model (its list, its routing), so for a
    `visitor` it counts as one of their requests under the fair-use limits.
    """
    if language not in LANGUAGES:
        raise InputError(f"Unknown language {language!r}: expected one of {', '.join(LANGUAGES)}.")
    admitted = playground.fair_use.admit(visitor_limit_key(visitor)) if visitor else nullcontext()
    with admitted:
        code = await code_request(playground, tab, **request)
    return BUILDERS[code.target.client](code, language)


# -- images and values ------------------------------------------------------------------------------
def _numbered(request: ChatRequest) -> dict[int, ImageFile]:
    """Every image of the conversation as its numbered file, by the image's identity."""
    images = [image for message in request.messages for image in message.images]
    return {id(image): ImageFile(n, image.mime) for n, image in enumerate(images, start=1)}


def _images_in(value: Any) -> list[ImageFile]:
    if isinstance(value, ImageFile):
        return [value]
    if isinstance(value, dict):
        return [i for v in value.values() for i in _images_in(v)]
    if isinstance(value, (list, tuple)):
        return [i for v in value for i in _images_in(v)]
    return []


Expr = Callable[[Any], str]
_LITERALS = {"python": {True: "True", False: "False", None: "None"},
             "js": {True: "true", False: "false", None: "null"},
             "json": {True: "true", False: "false", None: "null"}}


def literal(value: Any, lang: str, expr: Expr, indent: int = 0) -> str:
    """`value` as a literal of `lang` (python, js or json), pretty-printed; markers are written by `expr`."""
    pad, inner = " " * indent, " " * (indent + 4)
    if isinstance(value, (ImageFile, PreviousOutput)):
        return expr(value)
    if isinstance(value, bool) or value is None:
        return _LITERALS[lang][value]
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(str(k))}: {literal(v, lang, expr, indent + 4)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(f"{inner}{literal(v, lang, expr, indent + 4)}" for v in value) + f"\n{pad}]"
    raise TypeError(f"cannot write {type(value).__name__} in a snippet")


def _no_marker(value: Any) -> str:
    raise TypeError(f"unexpected {value!r} in a snippet")


def _shell_json(value: Any, expr: Expr) -> str:
    """JSON for an unquoted shell here-document: `\\`, `$` and backticks escaped, markers left live.

    Markers are held under keys with NUL characters, which JSON escapes in any text, so a visitor's
    prompt can never spell one."""
    marks: dict[str, str] = {}

    def hold(marker: Any) -> str:
        key = f"\0MARK{len(marks)}\0"
        marks[key] = expr(marker)
        return key

    text = literal(value, "json", hold).replace("\\", "\\\\").replace("$", "\\$").replace("`", "\\`")
    for key, live in marks.items():
        text = text.replace(key, live)
    return text


def _kwargs(arguments: dict[str, Any], expr: Expr, indent: int = 4) -> str:
    """Python keyword arguments, one a line."""
    pad = " " * indent
    return "".join(f"{pad}{name}={literal(value, 'python', expr, indent)},\n" for name, value in arguments.items())


# -- OpenAI-style chat (Hugging Face and OpenAI-compatible servers) -------------------------------------
def _chat_messages(request: ChatRequest) -> list[dict[str, Any]]:
    """The messages as `chat_messages` sends them, images as numbered files (vision only)."""
    files = _numbered(request)
    out: list[dict[str, Any]] = []
    if request.system_prompt.strip():
        out.append({"role": "system", "content": request.system_prompt})
    for message in request.messages:
        if request.capability is Capability.VISION and message.images:
            parts: list[dict[str, Any]] = [{"type": "text", "text": message.text}] if message.text else []
            parts += [{"type": "image_url", "image_url": {"url": files[id(image)]}} for image in message.images]
            out.append({"role": message.role, "content": parts})
        else:
            out.append({"role": message.role, "content": message.text})
    return out


def _chat_body(code: CodeRequest) -> dict[str, Any]:
    request = code.chat
    sampling = {"temperature": request.temperature, "max_tokens": request.max_tokens, "top_p": request.top_p}
    body = {"model": code.target.model, "messages": _chat_messages(request),
            **{k: v for k, v in sampling.items() if v is not None}, "stream": True}
    if request.response_format is not None:
        body["response_format"] = request.response_format.openai()
    return body


def chat_url(base_url: str) -> str:
    """Where chat completions go from a base URL, as huggingface_hub and the openai client build it."""
    base = base_url.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    return f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions"


def _key(target: CodeTarget, lang: str) -> str:
    """The key read from the environment (a placeholder when the server needs none)."""
    name = target.key_env
    if lang == "python":
        return f'os.environ["{name}"]' if target.key_required else f'os.environ.get("{name}", "no-key")'
    if lang == "js":
        return f"process.env.{name}" if target.key_required else f'(process.env.{name} ?? "no-key")'
    return f"${name}" if target.key_required else f"${{{name}:-no-key}}"


_PY_DATA_URL = '''import base64


def data_url(path: str, mime: str) -> str:
    """An image file as a data URL (save the conversation's images next to this script)."""
    with open(path, "rb") as file:
        return f"data:{mime};base64,{base64.b64encode(file.read()).decode()}"
'''
_JS_DATA_URL = '''import { readFileSync } from "node:fs";

// An image file as a data URL (save the conversation's images next to this script).
const dataUrl = (path, mime) => `data:${mime};base64,${readFileSync(path).toString("base64")}`;
'''
_PY_PRINT_STREAM = '''for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        print(chunk.choices[0].delta.content, end="", flush=True)
print()
'''
_JS_PRINT_STREAM = '''for await (const chunk of stream) {
  const text = chunk.choices?.[0]?.delta?.content;
  if (text) process.stdout.write(text);
}
process.stdout.write("\\n");
'''


def _py_image(marker: Any) -> str:
    if isinstance(marker, ImageFile):
        return f'data_url("{marker.name}", "{marker.mime}")'
    return _no_marker(marker)


def _js_image(marker: Any) -> str:
    if isinstance(marker, ImageFile):
        return f'dataUrl("{marker.name}", "{marker.mime}")'
    return _no_marker(marker)


def _curl_images(images: list[ImageFile]) -> str:
    lines = [f'IMAGE_{i.number}="data:{i.mime};base64,$(base64 < {i.name} | tr -d \'\\n\')"' for i in images]
    return ("# The conversation's images, saved next to this script\n" + "\n".join(lines) + "\n\n") if lines else ""


def _curl_image(marker: Any) -> str:
    if isinstance(marker, ImageFile):
        return f'"${{IMAGE_{marker.number}}}"'
    return _no_marker(marker)


def _curl_chat(code: CodeRequest, url: str) -> str:
    body = _chat_body(code)
    return (_curl_images(_images_in(body)) + f'curl -sN "{url}" \\\n'
            f'  -H "Authorization: Bearer {_key(code.target, "shell")}" \\\n'
            '  -H "Content-Type: application/json" \\\n'
            f"  -d @- <<JSON\n{_shell_json(body, _curl_image)}\nJSON\n")


def _chat_python(code: CodeRequest, client: str) -> str:
    body = _chat_body(code)
    images = _images_in(body)
    head = "import os\n" + (_PY_DATA_URL if images else "") + "\n"
    target = code.target
    if client == OPENAI:
        base_url = chat_url(target.base_url).removesuffix("/chat/completions")  # the openai client adds it
        head += ("from openai import OpenAI\n\n"
                 f'client = OpenAI(base_url="{base_url}", api_key={_key(target, "python")})\n'
                 "stream = client.chat.completions.create(\n")
    else:
        head += ("from huggingface_hub import InferenceClient\n\n"
                 f'client = InferenceClient(base_url="{target.base_url}", api_key={_key(target, "python")})\n'
                 "stream = client.chat_completion(\n")
    return head + _kwargs(body, _py_image) + ")\n" + _PY_PRINT_STREAM


def _chat_js(code: CodeRequest, client: str) -> str:
    body = _chat_body(code)
    images = _images_in(body)
    head = _JS_DATA_URL + "\n" if images else ""
    target = code.target
    if client == HUGGINGFACE:
        body.pop("stream")
        return (f'import {{ InferenceClient }} from "@huggingface/inference";\n{head}\n'
                f'const client = new InferenceClient({_key(target, "js")}).endpoint("{chat_url(target.base_url)}");\n'
                f"const stream = client.chatCompletionStream({literal(body, 'js', _js_image)});\n"
                + _JS_PRINT_STREAM)
    return (head + f'const response = await fetch("{chat_url(target.base_url)}", {{\n'
            '  method: "POST",\n'
            f'  headers: {{ Authorization: `Bearer ${{{_key(target, "js")}}}`, "Content-Type": "application/json" }},\n'
            f"  body: JSON.stringify({literal(body, 'js', _js_image, 2)}),\n"
            "});\n" + _JS_READ_SSE +
            "for await (const data of events(response)) {\n"
            "  const text = data.choices?.[0]?.delta?.content;\n"
            "  if (text) process.stdout.write(text);\n"
            "}\n"
            'process.stdout.write("\\n");\n')


_JS_READ_SSE = '''
// The answer streams as server-sent events: one JSON object per "data:" line.
async function* events(response) {
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const piece of response.body) {
    buffer += decoder.decode(piece, { stream: true });
    const lines = buffer.split("\\n");
    buffer = lines.pop();
    for (const line of lines) {
      const data = line.startsWith("data:") ? line.slice(5).trim() : "";
      if (data && data !== "[DONE]") yield JSON.parse(data);
    }
  }
}

'''


# -- Hugging Face ----------------------------------------------------------------------------------
def _hf_image_params(request: ImageRequest) -> dict[str, Any]:
    """text_to_image's parameters as `generate_image` sends them (a random seed: none)."""
    params = {"negative_prompt": request.negative_prompt or None, "width": request.width, "height": request.height,
              "num_inference_steps": request.steps, "guidance_scale": request.guidance,
              "seed": request.seed if request.seed >= 0 else None}
    return {k: v for k, v in params.items() if v is not None}


def huggingface_snippet(code: CodeRequest, language: str) -> str:
    if code.tab != "image":
        if language == "python" and _has_schema(code):
            # huggingface_hub rewrites a JSON schema for this address into TGI's older form, which drops the
            # schema; the openai client sends it as the playground does (providers/inference/exact_format.py).
            return ("# huggingface_hub would rewrite this JSON schema; the openai client sends it as is.\n"
                    + _chat_python(code, OPENAI))
        return {"python": _chat_python, "javascript": _chat_js}.get(language, _curl_hf_chat)(code, HUGGINGFACE)
    target, request = code.target, code.image
    params = _hf_image_params(request)
    routing = f', provider="{target.routing}"' if target.routing else ""
    if language == "python":
        return ("import os\n\nfrom huggingface_hub import InferenceClient\n\n"
                f'client = InferenceClient(api_key={_key(target, "python")}{routing})\n'
                "image = client.text_to_image(\n"
                f"    {literal(request.prompt, 'python', _no_marker)},\n"
                + _kwargs({"model": target.model, **params}, _no_marker) + ")\n"
                'image.save("image.png")\nprint("image.png", image.size)\n')
    payload = {"inputs": request.prompt, "parameters": params}
    if language == "javascript":
        provider = {"provider": target.routing} if target.routing else {}
        options = {"model": target.model} if target.routing else {}
        client = "client" if target.routing else f'client.endpoint("{target.model}")'
        return ('import { writeFileSync } from "node:fs";\n'
                'import { InferenceClient } from "@huggingface/inference";\n\n'
                f'const client = new InferenceClient({_key(target, "js")});\n'
                f"const image = await {client}.textToImage("
                f"{literal({**options, **provider, **payload}, 'js', _no_marker)}, {{ outputType: \"blob\" }});\n"
                'writeFileSync("image.png", Buffer.from(await image.arrayBuffer()));\n')
    if target.routing:
        return (f"# huggingface_hub routes {target.routing}'s text-to-image itself, with a payload of that "
                "provider's:\n"
                "# use the Python or JavaScript snippet.\n")
    return (f'curl -s "{target.model}" \\\n'
            f'  -H "Authorization: Bearer {_key(target, "shell")}" \\\n'
            '  -H "Content-Type: application/json" -H "Accept: image/png" \\\n'
            f"  -o image.png -d @- <<JSON\n{_shell_json(payload, _no_marker)}\nJSON\n")


def _has_schema(code: CodeRequest) -> bool:
    fmt = code.chat.response_format
    return fmt is not None and fmt.schema is not None


def _curl_hf_chat(code: CodeRequest, _client: str) -> str:
    return _curl_chat(code, chat_url(code.target.base_url))


def openai_snippet(code: CodeRequest, language: str) -> str:
    if language == "python":
        return _chat_python(code, OPENAI)
    if language == "javascript":
        return _chat_js(code, OPENAI)
    return _curl_chat(code, chat_url(code.target.base_url))


# -- Gradio: Spaces and this app's own API ---------------------------------------------------------------
def _app_target(tab: str, provider: Provider, request: ChatRequest | ImageRequest, app_url: str,
                app_params: AppParams) -> CodeTarget:
    """This app's own endpoint for the tab, with the provider's credential sent in its header; the endpoint's
    other parameters (from `app_params`) keep their defaults."""
    api_name = APP_ENDPOINTS[tab]
    if isinstance(request, ImageRequest):
        values: dict[str, Any] = {"prompt": request.prompt, "negative_prompt": request.negative_prompt,
                                  "width": request.width, "height": request.height, "steps": request.steps,
                                  "guidance": request.guidance, "seed": request.seed}
    else:
        files = _numbered(request)
        conversation = [{"role": m.role, "content": [*(files[id(i)] for i in m.images), m.text] if m.images
                         else m.text} for m in request.messages]
        last = request.messages[-1]
        values = {"system_prompt": request.system_prompt, "temperature": request.temperature,
                  "max_tokens": request.max_tokens, "top_p": request.top_p}
        if request.response_format is not None:
            schema = request.response_format.schema
            values.update(structured_output="json" if schema is None else "json_schema", json_schema=schema)
        values.update({"messages": conversation} if tab == "text" else
                      {"prompt": last.text, "images": [files[id(i)] for i in last.images],
                       "history": conversation[:-1]})
    values.update(provider=provider.id, model=request.model)
    declared = app_params.get(api_name)
    arguments = ({name: values.get(name, default) for name, default in declared} if declared
                 else {name: value for name, value in values.items() if value not in (None, "")})
    credential = provider.credential
    return CodeTarget(PLAYGROUND, base_url=app_url or "http://127.0.0.1:7860/",
                      key_env=credential.operator_setting if credential else "",
                      key_header=credential.header if credential else "",
                      calls=(GradioCall(api_name, arguments),))


def _space_base(source: str) -> str:
    """A Space's own address: a URL as given, `owner/name` as https://owner-name.hf.space."""
    if "://" in source:
        return source.rstrip("/")
    return "https://" + source.replace("/", "-").replace(".", "-").replace("_", "-").lower() + ".hf.space"


def _answer_of(code: CodeRequest, lang: str, var: str) -> str:
    """The statement printing the final output: a chat's text (a Space's history ends with it), or the outputs."""
    if code.target.client == SPACE and code.tab != "image":  # the content: a string or typed parts
        if lang == "python":
            return (f'content = {var}[-1]["content"]\n'
                    'print(content if isinstance(content, str) else "".join(p.get("text", "") for p in content))\n')
        return (f"const content = {var}[0].at(-1).content;\n"
                'console.log(typeof content === "string" ? content : content.map((p) => p.text ?? "").join(""));\n')
    if lang == "python":
        return f"print({var})\n"
    return f"console.log({var}[0]);\n" if code.tab != "image" else f"console.log(JSON.stringify({var}));\n"


_PY_WITH_FILES = '''

def with_files(value):
    """Files in an answer come back as downloaded paths: send them again as files."""
    if isinstance(value, list):
        return [with_files(v) for v in value]
    if isinstance(value, dict):
        return {k: with_files(v) for k, v in value.items()}
    return handle_file(value) if isinstance(value, str) and os.path.isfile(value) else value
'''


def gradio_snippet(code: CodeRequest, language: str) -> str:
    return {"python": _gradio_python, "javascript": _gradio_js}.get(language, _gradio_curl)(code)


def _gradio_python(code: CodeRequest) -> str:
    target = code.target
    images = _images_in([c.arguments for c in target.calls])
    chained = len(target.calls) > 1

    def expr(marker: Any) -> str:
        if isinstance(marker, ImageFile):
            return f'handle_file("{marker.name}")'
        return "with_files(output[0])" if images else "output[0]"

    if target.client == PLAYGROUND:
        auth = (f', headers={{"{target.key_header}": {_key(replace(target, key_required=True), "python")}}}'
                if target.key_header else "")
    else:
        auth = ', token=os.environ.get("HF_TOKEN")'
    text = ("import os\n\nfrom gradio_client import Client" + (", handle_file" if images else "") + "\n"
            + (_PY_WITH_FILES if images and chained else "")
            + f'\nclient = Client("{target.base_url}"{auth}, verbose=False)\n')
    for call in target.calls:
        text += f"output = client.predict(\n{_kwargs(call.arguments, expr)}    api_name=\"{call.api_name}\",\n)\n"
    return text + _answer_of(code, "python", "output")


_JS_GRADIO = '''const SESSION = Math.random().toString(36).slice(2);

// Gradio's HTTP API: start a call, then read its events until it completes.
async function call(apiName, data) {
  const start = await fetch(`${BASE}/gradio_api/call${apiName}`, {
    method: "POST",
    headers: { ...HEADERS, "Content-Type": "application/json" },
    body: JSON.stringify({ data, session_hash: SESSION }),
  });
  if (!start.ok) throw new Error(`HTTP ${start.status}: ${await start.text()}`);
  const { event_id } = await start.json();
  const events = await (await fetch(`${BASE}/gradio_api/call${apiName}/${event_id}`, { headers: HEADERS })).text();
  let event = "";
  let output = null;
  for (const line of events.split("\\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    if (line.startsWith("data:") && event === "complete") output = JSON.parse(line.slice(5));
    if (line.startsWith("data:") && event === "error") throw new Error(line.slice(5).trim());
  }
  return output;
}
'''
_JS_UPLOAD = '''
// Files are uploaded first; calls then name them by their path on the server.
async function upload(path) {
  const form = new FormData();
  form.append("files", new Blob([readFileSync(path)]), path);
  const response = await fetch(`${BASE}/gradio_api/upload`, { method: "POST", headers: HEADERS, body: form });
  const [uploaded] = await response.json();
  return { path: uploaded, meta: { _type: "gradio.FileData" } };
}
'''


def _gradio_js(code: CodeRequest) -> str:
    target = code.target
    images = _images_in([c.arguments for c in target.calls])
    header = ("{ " + f'"{target.key_header}": {_key(replace(target, key_required=True), "js")}' + " }"
              if target.client == PLAYGROUND and target.key_header
              else "{}" if target.client == PLAYGROUND else
              "process.env.HF_TOKEN ? { Authorization: `Bearer ${process.env.HF_TOKEN}` } : {}")

    def expr(marker: Any) -> str:
        return f'await upload("{marker.name}")' if isinstance(marker, ImageFile) else "output[0]"

    text = ('import { readFileSync } from "node:fs";\n\n' if images else "") + (
        f'const BASE = "{_gradio_base(target)}";\nconst HEADERS = {header};\n' + _JS_GRADIO
        + (_JS_UPLOAD if images else "") + "\nlet output;\n")
    for call in target.calls:
        data = literal(list(call.arguments.values()), "js", expr)
        text += f'output = await call("{call.api_name}", {data});\n'
    return text + _answer_of(code, "js", "output")


def _gradio_base(target: CodeTarget) -> str:
    return _space_base(target.base_url) if target.client == SPACE else target.base_url.rstrip("/")


def _gradio_curl(code: CodeRequest) -> str:
    target = code.target
    images = sorted(set(_images_in([c.arguments for c in target.calls])), key=lambda i: i.number)
    if target.client == PLAYGROUND:
        auth = f'-H "{target.key_header}: ${target.key_env}"' if target.key_header else ""
    else:
        auth = '-H "Authorization: Bearer $HF_TOKEN"'
    text = f'BASE="{_gradio_base(target)}"\nSESSION="snippet-$RANDOM$RANDOM"\n'
    if images:
        text += "\n# The conversation's images, uploaded first\n"
        text += "".join(f'IMAGE_{i.number}=$(curl -s {auth} -F "files=@{i.name}" "$BASE/gradio_api/upload" '
                        "| sed -E 's/^\\[\"(.*)\"\\]$/\\1/')\n" for i in images)

    def expr(marker: Any) -> str:
        if isinstance(marker, ImageFile):
            return f'{{"path": "$IMAGE_{marker.number}", "meta": {{"_type": "gradio.FileData"}}}}'
        return "$PREVIOUS"

    for index, call in enumerate(target.calls):
        name = call.api_name.lstrip("/")
        if index:
            text += "PREVIOUS=$(echo \"$OUTPUT\" | jq -c '.[0]')  # needs jq\n"
        body = _shell_json({"data": list(call.arguments.values()), "session_hash": "@@SESSION@@"}, expr)
        body = body.replace('"@@SESSION@@"', '"$SESSION"')
        text += (f"\nEVENT=$(curl -s -X POST \"$BASE/gradio_api/call/{name}\" {auth} "
                 "-H \"Content-Type: application/json\" -d @- <<JSON "
                 "| sed -E 's/.*\"event_id\": *\"([^\"]+)\".*/\\1/'\n"
                 f"{body}\nJSON\n)\n"
                 f"OUTPUT=$(curl -sN \"$BASE/gradio_api/call/{name}/$EVENT\" {auth} "
                 "| sed -n 's/^data: //p' | tail -n 1)\n")
    return text + 'echo "$OUTPUT"\n'


#: Snippet builders by `CodeTarget.client`: a provider declares its target, never the UI.
BUILDERS: dict[str, Callable[[CodeRequest, str], str]] = {
    HUGGINGFACE: huggingface_snippet,
    OPENAI: openai_snippet,
    SPACE: gradio_snippet,
    PLAYGROUND: gradio_snippet,
}
