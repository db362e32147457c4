"""View code: every Python snippet runs in a subprocess against the local stand-ins and gets the answer the
playground got; curl snippets run with curl; JavaScript snippets pass `node --check`; no snippet holds a key."""

from __future__ import annotations

import ast
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gradio_client import Client
from PIL import Image

from playground.service import Playground
from playground.snippets import build_snippet
from playground.structured import response_format
from providers import Capability, InputError, Message, Registry, Visitor
from providers.huggingface.provider import HuggingFaceProvider
from providers.inference.openai_compat import OpenAICompatProvider
from providers.media import prepare_image
from providers.spaces.flux import FluxDevProvider, FluxSchnellProvider
from providers.spaces.phi4 import Phi4Provider
from tests.support import fake_spaces
from tests.support.fake_provider import FakeProvider
from tests.support.hf_server import HfServer
from tests.support.servers import launch_blocks, serving
from ui.app import build_demo
from ui.code_view import api_params

TOKEN = "hf_snippetSecretDDDD4444"
SERVER_KEY = "sk-snippet-secret-5555"


@pytest.fixture(scope="module")
def hf_server():
    with serving(HfServer()) as server:
        yield server


@pytest.fixture(scope="module")
def spaces():
    log = fake_spaces.SpaceLog()
    apps = {"phi4": fake_spaces.phi4_space(log), "schnell": fake_spaces.flux_space(log, dev=False),
            "dev": fake_spaces.flux_space(log, dev=True)}
    contexts = {name: launch_blocks(app) for name, app in apps.items()}
    try:
        yield {name: context.__enter__() for name, context in contexts.items()}
    finally:
        for context in contexts.values():
            context.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def env(hf_server, monkeypatch):
    """The local server as the router, the Hub and an OpenAI-compatible server; keys only in the environment."""
    for name, value in {"HF_ROUTER_URL": hf_server.url, "HF_ENDPOINT": hf_server.url, "HF_TRUSTED_HOSTS": "127.0.0.1",
                        "HF_TOKEN": TOKEN, "OPENAI_COMPAT_BASE_URL": hf_server.url + "/v1",
                        "OPENAI_COMPAT_API_KEY": SERVER_KEY, "HF_INFERENCE_TIMEOUT": "20",
                        "SPACES_TIMEOUT": "30", "NO_PROXY": "127.0.0.1,localhost"}.items():
        monkeypatch.setenv(name, value)
    for name in ("HF_INFERENCE_BASE_URL", "HF_INFERENCE_PROVIDER", "HF_INFERENCE_API"):
        monkeypatch.delenv(name, raising=False)
    hf_server.reset()


def _png(size=(64, 48), colour=(200, 10, 10)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def visitor() -> Visitor:
    return Visitor(session_id="snippets", hf_token=TOKEN)


async def played(playground: Playground, messages: list[Message], provider: str, model: str, tab: str,
                 **params) -> str:
    """The answer the playground got for this conversation."""
    text = ""
    async for turn in playground.chat([Message(m.role, m.text, list(m.images)) for m in messages],
                                      provider_id=provider, model=model, visitor=visitor(),
                                      capability=Capability(tab), **params):
        text = turn.reply.text
    return text


def save_images(messages: list[Message], folder: Path) -> None:
    """The conversation's images next to the snippet, numbered as the snippet names them."""
    images = [image for message in messages for image in message.images]
    for number, image in enumerate(images, start=1):
        (folder / f"image-{number}.jpg").write_bytes(image.data)


def run_python(code: str, folder: Path) -> str:
    result = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True, timeout=120,
                            env=os.environ.copy())
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


def check_javascript(code: str, folder: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: JavaScript snippets are only checked where it is (CI installs nodejs)")
    path = folder / "snippet.mjs"
    path.write_text(code)
    result = subprocess.run([node, "--check", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


async def snippets(playground: Playground, tab: str, **request) -> dict[str, str]:
    """The snippet in every language; none holds a key."""
    written = {lang: await build_snippet(playground, tab, lang, **request) for lang in ("python", "javascript", "curl")}
    for code in written.values():
        assert TOKEN not in code and SERVER_KEY not in code
    return written


# -- Hugging Face (the router) and an OpenAI-compatible server ---------------------------------------------
@pytest.mark.parametrize("provider_cls, provider, model", [
    (HuggingFaceProvider, "huggingface", "local/chat-model"),
    (OpenAICompatProvider, "openai-compatible", "served/model-b"),
])
async def test_text_chat_snippets_get_the_playgrounds_answer(provider_cls, provider, model, tmp_path, hf_server):
    playground = Playground(Registry([provider_cls()]))
    messages = [Message("user", "first"), Message("assistant", "an answer"), Message("user", "say $HOME `now`")]
    params = {"system_prompt": "Be brief.", "temperature": 0.3, "max_tokens": 50, "top_p": 0.9}
    answer = await played(playground, messages, provider, model, "text", **params)
    sent = hf_server.calls("/v1/chat")[-1]
    code = await snippets(playground, "text", provider_id=provider, model=model, messages=messages, **params)
    assert f'"{model}"' in code["python"]
    client = "from openai import OpenAI" if provider_cls is OpenAICompatProvider else "InferenceClient"
    assert client in code["python"]
    assert run_python(code["python"], tmp_path) == answer
    snippet_call = hf_server.calls("/v1/chat")[-1]
    assert snippet_call.body == sent.body  # the very request the playground sent
    assert snippet_call.authorization == sent.authorization  # the key, read from the environment
    check_javascript(code["javascript"], tmp_path)
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed: the curl snippet cannot run here")
    result = subprocess.run(["bash", "-c", code["curl"]], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env=os.environ.copy())
    assert result.returncode == 0, result.stderr
    assert hf_server.calls("/v1/chat")[-1].body == {**sent.body}
    assert " ".join(answer.split()[-2:]).replace("$HOME", "") in result.stdout.replace("$HOME", "")


@pytest.mark.parametrize("provider_cls, provider, model", [
    (HuggingFaceProvider, "huggingface", "local/chat-model"),
    (OpenAICompatProvider, "openai-compatible", "served/model-b"),
])
async def test_structured_output_snippets_send_the_schema_as_the_playground_does(provider_cls, provider, model,
                                                                                 tmp_path, hf_server):
    playground = Playground(Registry([provider_cls()]))
    messages = [Message("user", "name a colour")]
    schema = '{"type": "object", "properties": {"colour": {"type": "string"}}, "required": ["colour"]}'
    answer = await played(playground, messages, provider, model, "text", max_tokens=50,
                          response_format=response_format("json_schema", schema))
    sent = hf_server.calls("/v1/chat")[-1]
    assert sent.body["response_format"]["json_schema"]["schema"]["required"] == ["colour"]
    code = await snippets(playground, "text", provider_id=provider, model=model, messages=messages, max_tokens=50,
                          structured_output="json_schema", json_schema=schema)
    assert run_python(code["python"], tmp_path) == answer
    assert hf_server.calls("/v1/chat")[-1].body == sent.body  # the schema as the playground sent it
    check_javascript(code["javascript"], tmp_path)
    with pytest.raises(InputError, match="does not offer structured output"):
        await snippets(Playground(Registry([FakeProvider()])), "text", provider_id="fake", model="echo",
                       messages=messages, structured_output="json")


@pytest.mark.parametrize("provider_cls, provider, model", [
    (HuggingFaceProvider, "huggingface", "local/vision-model"),
    (OpenAICompatProvider, "openai-compatible", "served/model-a"),
])
async def test_vision_snippets_send_the_images_as_data_urls(provider_cls, provider, model, tmp_path, hf_server):
    playground = Playground(Registry([provider_cls()]))
    image = prepare_image(_png())
    messages = [Message("user", "what is it?", [image])]
    answer = await played(playground, messages, provider, model, "vision", temperature=0.5, max_tokens=40)
    sent = hf_server.calls("/v1/chat")[-1]
    code = await snippets(playground, "vision", provider_id=provider, model=model, messages=messages,
                          temperature=0.5, max_tokens=40)
    assert 'data_url("image-1.jpg", "image/jpeg")' in code["python"] and image.base64()[:40] not in code["python"]
    save_images(messages, tmp_path)
    assert run_python(code["python"], tmp_path) == answer == "I got 1 image(s) about what is it?"
    assert hf_server.calls("/v1/chat")[-1].body == sent.body
    check_javascript(code["javascript"], tmp_path)
    if shutil.which("curl"):
        result = subprocess.run(["bash", "-c", code["curl"]], cwd=tmp_path, capture_output=True, text=True,
                                timeout=60, env=os.environ.copy())
        assert result.returncode == 0 and hf_server.calls("/v1/chat")[-1].body == sent.body, result.stderr


async def test_image_snippet_makes_the_same_image_on_the_routers_task_route(tmp_path, hf_server):
    playground = Playground(Registry([HuggingFaceProvider()]))
    request = {"prompt": "a red square", "width": 256, "height": 320, "seed": 77, "steps": 9, "guidance": 4.0}
    result, _ = await playground.image(provider_id="huggingface", model="local/image-model", visitor=visitor(),
                                       **request)
    code = await snippets(playground, "image", provider_id="huggingface", model="local/image-model", **request)
    assert "/hf-inference/models/local/image-model" in code["python"]
    run_python(code["python"], tmp_path)
    with Image.open(tmp_path / "image.png") as made, Image.open(io.BytesIO(result.data)) as expected:
        assert made.size == expected.size == (256, 320)
        assert made.convert("RGB").getpixel((5, 5)) == expected.convert("RGB").getpixel((5, 5))
    bodies = [c.body for c in hf_server.calls("/hf-inference/models/")]
    assert bodies[-1] == bodies[-2]  # the very request the playground sent
    check_javascript(code["javascript"], tmp_path)
    if shutil.which("curl"):
        subprocess.run(["bash", "-c", code["curl"]], cwd=tmp_path, check=True, timeout=60, env=os.environ.copy())
        assert hf_server.calls("/hf-inference/models/")[-1].body == bodies[-1]
        with Image.open(tmp_path / "image.png") as made:
            assert made.size == (256, 320)


# -- Gradio Spaces --------------------------------------------------------------------------------------------
async def test_phi4_snippet_calls_the_spaces_two_steps_on_one_session(spaces, monkeypatch, tmp_path):
    monkeypatch.setenv("PHI4_SPACE", spaces["phi4"])
    playground = Playground(Registry([Phi4Provider()]))
    messages = [Message("user", "hello"), Message("assistant", "hi"),
                Message("user", "what is this?", [prepare_image(_png((80, 60)))])]
    answer = await played(playground, messages, "phi4", "", "vision")
    code = await snippets(playground, "vision", provider_id="phi4", model="", messages=messages)
    assert '"/process_message"' in code["python"] and '"/bot_response"' in code["python"]
    save_images(messages, tmp_path)
    assert run_python(code["python"], tmp_path) == answer
    assert "new images: 80x60" in answer and "earlier images: 0" in answer
    check_javascript(code["javascript"], tmp_path)


@pytest.mark.parametrize("provider_cls, space", [(FluxSchnellProvider, "schnell"), (FluxDevProvider, "dev")])
async def test_flux_snippet_gets_the_same_seed_and_size(provider_cls, space, spaces, monkeypatch, tmp_path):
    monkeypatch.setenv(provider_cls.setting, spaces[space])
    playground = Playground(Registry([provider_cls()]))
    request = {"prompt": "a lighthouse", "width": 320, "height": 256, "seed": 1234, "steps": 3}
    result, _ = await playground.image(provider_id=provider_cls.id, model="", visitor=visitor(), **request)
    code = await snippets(playground, "image", provider_id=provider_cls.id, model="", **request)
    assert ('guidance_scale' in code["python"]) is (space == "dev")
    path, seed = ast.literal_eval(run_python(code["python"], tmp_path))
    with Image.open(path) as made:
        assert (made.size, seed) == ((result.width, result.height), result.seed) == ((320, 256), 1234)
    check_javascript(code["javascript"], tmp_path)


# -- this app's own API (providers with no public client) ---------------------------------------------------
async def test_providers_without_a_client_are_written_against_this_apps_api(tmp_path):
    demo = build_demo(Registry([FakeProvider()]))
    with launch_blocks(demo) as url:
        playground = demo.playground.playground
        app = {"app_url": url, "app_params": api_params(demo)}
        text = [Message("user", "hello there")]
        code = await snippets(playground, "text", provider_id="fake", model="echo", messages=text, **app,
                              system_prompt="sys", temperature=0.2)
        assert 'api_name="/chat"' in code["python"]
        assert run_python(code["python"], tmp_path) == await played(playground, text, "fake", "echo", "text",
                                                                     system_prompt="sys", temperature=0.2)
        check_javascript(code["javascript"], tmp_path)
        if shutil.which("curl"):
            result = subprocess.run(["bash", "-c", code["curl"]], cwd=tmp_path, capture_output=True, text=True,
                                    timeout=60, env=os.environ.copy())
            assert "[sys] Echo: hello there" in result.stdout, result.stderr

        vision = [Message("user", "describe", [prepare_image(_png((40, 30)))])]
        code = await snippets(playground, "vision", provider_id="fake", model="describe", messages=vision,
                              **app)
        save_images(vision, tmp_path)
        assert run_python(code["python"], tmp_path) == await played(playground, vision, "fake", "describe", "vision")

        code = await snippets(playground, "image", provider_id="fake", model="pattern", prompt="dots", width=256,
                              height=256, seed=3, **app)
        path, info = ast.literal_eval(run_python(code["python"], tmp_path))
        assert (info["seed"], info["width"]) == (3, 256) and Path(path).exists()


def test_code_endpoint_returns_the_snippet_without_the_token(hf_server):
    demo = build_demo(Registry([HuggingFaceProvider()]))
    with launch_blocks(demo) as url:
        client = Client(url, verbose=False, headers={"x-hf-token": TOKEN})
        try:
            python = client.predict(tab="text", provider="huggingface", model="local/chat-model",
                                    messages=[{"role": "user", "content": "hi"}], temperature=0.4,
                                    api_name="/code")
            curl = client.predict(tab="image", provider="huggingface", model="local/image-model", prompt="cat",
                                  language="curl", api_name="/code")
            with pytest.raises(Exception, match="language"):
                client.predict(tab="text", messages=[{"role": "user", "content": "hi"}], language="cobol",
                               api_name="/code")
        finally:
            client.close()
    assert '"local/chat-model"' in python and "temperature=0.4" in python and TOKEN not in python
    assert 'os.environ["HF_TOKEN"]' in python
    assert curl.startswith("curl ") and '"inputs": "cat"' in curl and TOKEN not in curl



def test_a_visitors_text_cannot_spell_a_live_marker_in_a_curl_body():
    """Only the snippet's own images become shell expressions; text that looks like a marker stays text."""
    from playground.snippets import _curl_image, _shell_json
    from providers.code import ImageFile

    body = _shell_json({"text": ["@@MARK0@@", "\0MARK0\0", "$(rm -rf ~) `id`"], "image": ImageFile(1)}, _curl_image)
    assert body.count("${IMAGE_1}") == 1
    assert '"@@MARK0@@"' in body and '"\\\\u0000MARK0\\\\u0000"' in body
    assert '"\\$(rm -rf ~) \\`id\\`"' in body
