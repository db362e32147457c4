"""Where credentials may go and what a visitor cannot make the server do (README "Security").

Over real HTTP on 127.0.0.1: the app in-process with the real Hugging Face and
OpenAI-compatible adapters, a local Hugging Face stand-in, and a trap server playing
the attacker's host. An audit hook records every outgoing connection the process
makes while a hostile request runs, so "no request to any other host" is checked for
every host and port, not only the trap's.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from contextlib import contextmanager

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from playground.service import Playground
from providers import AuthRequiredError, InputError, Message, Registry, Visitor
from providers.credentials import operator_credential, use_explicit_tokens_only
from providers.huggingface.provider import HuggingFaceProvider
from providers.inference.openai_compat import OpenAICompatProvider
from providers.model_ids import is_hub_model_id, is_server_model_id
from tests.support.hf_server import HfServer
from tests.support.mcp_client import call, text_of
from tests.support.network_audit import network_activity
from tests.support.rest import rest_call
from tests.support.servers import ROOT, launch_blocks, serving
from tests.support.trap_server import TrapServer
from ui.app import build_demo
from ui.config import AppSettings
from ui.mcp import MCP_PATH

OPERATOR_TOKEN = "hf_operatorTokenSECURITY0001"
VISITOR_TOKEN = "hf_visitorTokenSECURITY0002"
LIMIT = 30
NOT_A_MODEL_ID = "is not a model id"
BARE_NAME = "evil.example"
#: A 1×1 PNG as a data: URL (how API and MCP callers may send an image).
TINY_PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")
GOOD_ID = "org/model"
#: View code's languages, one per tab where every hostile id is tried on every endpoint.
LANGUAGE_PER_TAB = {"text": "python", "vision": "javascript", "image": "curl"}


# -- outgoing connections ------------------------------------------------------------------------
@contextmanager
def outgoing_connections():
    """Yields the list of (host, port) this process connects to while the block runs (tests/support/network_audit.py)."""
    with network_activity() as activity:
        yield activity.connections


def port_of(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1].split("/")[0])


# -- servers -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trap():
    with serving(TrapServer()) as server:
        yield server


@pytest.fixture(scope="module")
def hf_server():
    with serving(HfServer()) as server:
        yield server


def hostile_ids(trap: TrapServer) -> list[str]:
    """Model ids shaped like a URL, a host, a scheme-relative address or a path."""
    host_port = trap.host_port
    return [
        f"{trap.url}/v1/chat/completions",
        f"https://{host_port}/steal",
        f"HTTP://{host_port}/steal",
        f"//{host_port}/steal",
        host_port,
        f"localhost:{port_of(trap.url)}",
        BARE_NAME,
        "../../v1/chat/completions",
        "org/model/../../v1/chat/completions",
        "/etc/passwd",
        "%2e%2e/%2e%2e/v1/chat/completions",
        "org/model?target=x",
        "org/model#x",
        "org/ model",
        "org/model\r\nHost: evil.example",
        "a" * 300 + "/b",
    ]


@pytest.fixture(scope="module")
def default_app(trap):
    """The default configuration: HF_TOKEN set, HF_INFERENCE_BASE_URL unset (the router); MCP served."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HF_TOKEN", OPERATOR_TOKEN)
        for name in ("HF_INFERENCE_BASE_URL", "SPACE_ID", "OPENAI_COMPAT_BASE_URL"):
            env.delenv(name, raising=False)
        demo = build_demo(Registry([HuggingFaceProvider()]), AppSettings.from_env())
        with launch_blocks(demo, mcp_server=True) as url:
            yield url


@pytest.fixture(params=["operator token", "visitor token"])
def hostile_client(request, default_app, trap):
    headers = {"x-hf-token": VISITOR_TOKEN} if request.param == "visitor token" else None
    client = Client(default_app, verbose=False, headers=headers)
    trap.clear()
    try:
        yield client
    finally:
        client.close()


def png(path) -> str:
    Image.new("RGB", (32, 32), (200, 10, 10)).save(path)
    return str(path)


def code_params(tab: str, language: str, model: str) -> dict:
    """A `/code` call for `tab` in `language` (a one-message conversation, or an image prompt)."""
    return dict(tab=tab, provider="huggingface", model=model, messages=[{"role": "user", "content": "hello"}],
                prompt="a cat" if tab == "image" else "", language=language)


def assert_refused(client: Client, app_port: int, api_name: str, params: dict) -> None:
    """The call fails with "… is not a model id" and connects to nothing but the app."""
    with outgoing_connections() as seen:
        with pytest.raises(AppError, match=NOT_A_MODEL_ID):
            client.submit(api_name=api_name, **params).result(timeout=LIMIT)
    assert {port for _, port in seen} <= {app_port}, (api_name, params, seen)


# -- model ids are never addresses ---------------------------------------------------------------
def test_hostile_model_ids_are_refused_on_every_endpoint_before_any_request(hostile_client, default_app, trap,
                                                                             tmp_path):
    photo = png(tmp_path / "photo.png")
    app_port = port_of(default_app)
    for model in hostile_ids(trap):
        calls = [
            ("/chat", dict(messages=[{"role": "user", "content": "hello"}], provider="huggingface", model=model,
                           system_prompt="", temperature=0.7, max_tokens=64, top_p=0.9)),
            ("/vision", dict(prompt="what is it?", images=[handle_file(photo)], history=[], provider="huggingface",
                             model=model, temperature=0.7, max_tokens=64)),
            ("/image", dict(prompt="a cat", provider="huggingface", model=model, negative_prompt="", width=256,
                            height=256, steps=4, guidance=3.5, seed=1)),
            *[("/code", code_params(tab, language, model)) for tab, language in LANGUAGE_PER_TAB.items()],
        ]
        for api_name, params in calls:
            assert_refused(hostile_client, app_port, api_name, params)
        with outgoing_connections() as seen:
            columns = hostile_client.submit(
                prompt="hello", targets=[{"provider": "huggingface", "model": model}] * 2, system_prompt="",
                temperature=0.7, max_tokens=64, top_p=0.9, api_name="/compare").result(timeout=LIMIT)
        assert all(NOT_A_MODEL_ID in (column["error"] or "") for column in columns), (model, columns)
        assert {port for _, port in seen} <= {app_port}, ("/compare", model, seen)
    assert trap.hits == []


def test_view_code_refuses_hostile_ids_in_every_language_and_writes_good_ones(hostile_client, default_app, trap):
    """`/code` resolves the model as a run would, for every tab and language; a good id still gets its code."""
    app_port = port_of(default_app)
    for model in (f"{trap.url}/v1/chat/completions", f"//{trap.host_port}/steal", "../../v1/chat/completions"):
        for tab in LANGUAGE_PER_TAB:
            for language in LANGUAGE_PER_TAB.values():
                assert_refused(hostile_client, app_port, "/code", code_params(tab, language, model))
    for tab in ("text", "vision"):  # the image tab looks the model's serving provider up on the Hub
        for language in LANGUAGE_PER_TAB.values():
            snippet = hostile_client.submit(api_name="/code", **code_params(tab, language, GOOD_ID)).result(
                timeout=LIMIT)
            assert f'"{GOOD_ID}"' in snippet, (tab, language, snippet)
    assert trap.hits == []


# -- the same over MCP -----------------------------------------------------------------------------
def mcp_calls(model: str) -> dict[str, dict]:
    """Each MCP tool that takes a model id, called with `model`."""
    return {"chat": {"messages": "hello", "provider": "huggingface", "model": model},
            "image": {"prompt": "a cat", "provider": "huggingface", "model": model},
            "compare": {"prompt": "hello", "targets": [{"provider": "huggingface", "model": model}] * 2},
            "code": {"tab": "text", "provider": "huggingface", "model": model, "prompt": "hello"}}


@pytest.mark.parametrize("headers", [None, {"x-hf-token": VISITOR_TOKEN}], ids=["no header", "visitor token"])
async def test_hostile_model_ids_are_refused_over_mcp(default_app, trap, headers):
    """MCP tools reach the app through Gradio's own client on the app's port: nothing else may be reached."""
    app_port = port_of(default_app)
    trap.clear()
    for model in (f"{trap.url}/v1/chat/completions", f"//{trap.host_port}/steal", trap.host_port,
                  "../../v1/chat/completions"):
        for tool, arguments in mcp_calls(model).items():
            with outgoing_connections() as seen:
                result = await call(default_app + MCP_PATH, tool, arguments, headers=headers)
            if tool == "compare":  # a column's error is part of its answer (Gradio's str() of the columns)
                errors = [column["error"] or "" for column in ast.literal_eval(text_of(result))]
                assert len(errors) == 2 and all(NOT_A_MODEL_ID in e for e in errors), (model, errors)
            else:
                assert result.isError and NOT_A_MODEL_ID in text_of(result), (tool, model, text_of(result))
            assert {port for _, port in seen} == {app_port}, (tool, model, seen)  # this test's MCP client at least
    assert trap.hits == []


@pytest.fixture
def configured_servers(hf_server, monkeypatch):
    """Hugging Face pointed at a configured server (trusted for the token) and an OpenAI-compatible one."""
    monkeypatch.setenv("HF_INFERENCE_BASE_URL", hf_server.url)
    monkeypatch.setenv("HF_ENDPOINT", hf_server.url)
    monkeypatch.setenv("HF_TRUSTED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("OPENAI_COMPAT_BASE_URL", hf_server.url + "/v1")
    monkeypatch.setenv("HF_TOKEN", OPERATOR_TOKEN)
    monkeypatch.delenv("SPACE_ID", raising=False)
    hf_server.requests.clear()
    return hf_server


@pytest.mark.parametrize("api", ["chat", "text-generation"])
async def test_configured_servers_get_no_request_for_a_hostile_id(configured_servers, trap, monkeypatch, api):
    """Ids joined into a URL path (`{base}/models/{id}` in raw mode) can't climb to other routes."""
    monkeypatch.setenv("HF_INFERENCE_API", api)
    playground = Playground(Registry([HuggingFaceProvider(), OpenAICompatProvider()]))
    trap.clear()
    for provider in ("huggingface", "openai-compatible"):
        for model in hostile_ids(trap):
            if model == BARE_NAME:
                continue  # a valid server model name (see the next test)
            with outgoing_connections() as seen:
                with pytest.raises(InputError, match=NOT_A_MODEL_ID):
                    async for _ in playground.chat([Message("user", "hi")], provider_id=provider, model=model,
                                                   visitor=Visitor(session_id="s")):
                        pass
            assert seen == [], (provider, model, seen)
    assert configured_servers.requests == [] and trap.hits == []


async def test_a_dotted_name_is_only_ever_data_for_the_configured_server(configured_servers, trap):
    """Self-hosted servers name models freely (`model.gguf`, `hf.co/org/repo:Q4`): such a name is sent in
    the request body to the configured server, never used as an address."""
    playground = Playground(Registry([OpenAICompatProvider()]))
    trap.clear()
    with outgoing_connections() as seen:
        async for _ in playground.chat([Message("user", "hi")], provider_id="openai-compatible", model=BARE_NAME,
                                       visitor=Visitor(session_id="s")):
            pass
    assert {port for _, port in seen} == {port_of(configured_servers.url)}
    assert [r.body["model"] for r in configured_servers.calls("/v1/chat")] == [BARE_NAME]
    assert trap.hits == []


async def test_a_good_id_still_reaches_the_configured_server(configured_servers):
    playground = Playground(Registry([HuggingFaceProvider()]))
    async for turn in playground.chat([Message("user", "hi")], provider_id="huggingface",
                                      model="local/chat-model", visitor=Visitor(session_id="s")):
        pass
    assert turn.reply.text == "Hello from local/chat-model: hi"
    assert configured_servers.authorizations("/v1/chat") == [f"Bearer {OPERATOR_TOKEN}"]


def test_model_id_grammar():
    for good in ("meta-llama/Llama-3.3-70B-Instruct", "Qwen/Qwen2.5-VL-7B-Instruct", "openai/gpt-oss-120b:together",
                 "deepseek-ai/DeepSeek-R1:fastest", "a/b", "google/gemma-3-27b-it"):
        assert is_hub_model_id(good), good
    for bad in ("gpt2", "http://x/y", "a//b", "a/../b", "a/b/c", "-a/b", "a./b", "a/b:", "a/b:Upper", "a--b/c",
                "a/b ", " a/b", "a/b\x00", "a" * 97 + "/b", "café/model"):
        assert not is_hub_model_id(bad), bad
    for good in ("llama3.1:8b", "gpt-4o-mini", "served/model-a", "qwen2.5-coder:7b-instruct-q4_K_M",
                 "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", "model@q4"):
        assert is_server_model_id(good), good
    for bad in ("http://x", "//x/y", "../x", "a/../b", "/abs", "a b", "a%2e", "a?b", "a#b", "127.0.0.1:80",
                "localhost:8000", "localhost", "[::1]:80", "x" * 201):
        assert not is_server_model_id(bad), bad


def test_a_bad_model_id_in_an_error_is_bounded(default_app):
    client = Client(default_app, verbose=False)
    try:
        with pytest.raises(AppError) as caught:
            client.predict(messages=[{"role": "user", "content": "hi"}], provider="huggingface",
                           model="http://" + "x" * 200_000, system_prompt="", temperature=0.7, max_tokens=64,
                           top_p=0.9, api_name="/chat")
        assert NOT_A_MODEL_ID in str(caught.value) and len(str(caught.value)) < 400
    finally:
        client.close()


# -- operator credentials on a public Space ------------------------------------------------------
async def _chat_once(playground: Playground, visitor: Visitor) -> str:
    text = ""
    async for turn in playground.chat([Message("user", "hi")], provider_id="huggingface", model="local/chat-model",
                                      visitor=visitor):
        text = turn.reply.text
    return text


async def test_public_space_does_not_lend_the_operator_token(configured_servers, monkeypatch):
    monkeypatch.setenv("SPACE_ID", "someone/playground")
    monkeypatch.delenv("ALLOW_SHARED_CREDENTIALS", raising=False)
    playground = Playground(Registry([HuggingFaceProvider()]))
    with pytest.raises(AuthRequiredError, match="Sign in with Hugging Face"):
        await _chat_once(playground, Visitor(session_id="anonymous"))
    assert configured_servers.requests == []  # no request at all, so no operator token anywhere

    assert await _chat_once(playground, Visitor(session_id="v", hf_token=VISITOR_TOKEN))
    assert configured_servers.authorizations("/v1/chat") == [f"Bearer {VISITOR_TOKEN}"]

    monkeypatch.setenv("ALLOW_SHARED_CREDENTIALS", "1")
    configured_servers.requests.clear()
    assert await _chat_once(playground, Visitor(session_id="anonymous"))
    assert configured_servers.authorizations("/v1/chat") == [f"Bearer {OPERATOR_TOKEN}"]


def test_operator_credentials_are_shared_only_off_a_space_or_when_allowed(monkeypatch):
    monkeypatch.setenv("HUGGINGCHAT_COOKIE", "operator-cookie-value-123456")
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert operator_credential("HUGGINGCHAT_COOKIE") == "operator-cookie-value-123456"
    monkeypatch.setenv("SPACE_ID", "someone/playground")
    monkeypatch.delenv("ALLOW_SHARED_CREDENTIALS", raising=False)
    assert operator_credential("HUGGINGCHAT_COOKIE") is None
    monkeypatch.setenv("ALLOW_SHARED_CREDENTIALS", "1")
    assert operator_credential("HUGGINGCHAT_COOKIE") == "operator-cookie-value-123456"


# -- the newest header wins; numbers are checked ----------------------------------------------------
def test_a_later_token_header_in_the_same_session_is_used(configured_servers):
    demo = build_demo(Registry([HuggingFaceProvider()]), AppSettings.from_env())
    with launch_blocks(demo) as url:
        client = Client(url, verbose=False, headers={"x-hf-token": "hf_firstHeaderToken0001"})
        try:
            params = dict(messages=[{"role": "user", "content": "hi"}], provider="huggingface",
                          model="local/chat-model", system_prompt="", temperature=0.7, max_tokens=64, top_p=0.9,
                          api_name="/chat")
            client.predict(**params)
            client.headers["x-hf-token"] = "hf_secondHeaderToken0002"
            client.predict(**params)
        finally:
            client.close()
    assert configured_servers.authorizations("/v1/chat") == ["Bearer hf_firstHeaderToken0001",
                                                            "Bearer hf_secondHeaderToken0002"]


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", '"hot"', "[1]"])
def test_non_numbers_in_numeric_parameters_get_a_clear_error(default_app, bad):
    hi = '[{"role": "user", "content": "hi"}]'
    two = '[{"provider": "huggingface", "model": "a/b"}, {"provider": "huggingface", "model": "a/b"}]'
    calls = {
        "chat": (f'[{hi}, "huggingface", "local/chat-model", "", {bad}, 64, 0.9, "off", null]', "temperature"),
        "vision": (f'["what is it?", ["{TINY_PNG}"], [], "huggingface", "a/b", 0.7, {bad}]', "max_tokens"),
        "image": (f'["a cat", "huggingface", "local/image-model", "", {bad}, 256, 4, 3.5, 1]', "width"),
        "compare": (f'["hi", {two}, "", 0.7, 64, {bad}]', "top_p"),
        "code": (f'["text", "huggingface", "a/b", {hi}, "", "", {bad}, 64, 0.9, "", 1024, 1024, null, null, -1, '
                 '"python", "off", null]', "temperature"),
    }
    for api_name, (data, name) in calls.items():
        event, message = rest_call(default_app, api_name, data)
        assert event == "error", (api_name, event, message)
        assert re.search(f"'{name}' must be a (finite )?number", message), (api_name, message)


# -- huggingface_hub adds no token of its own -------------------------------------------------------
def test_the_library_never_sends_hf_token_to_hf_endpoint(trap, tmp_path):
    """The provider-mapping look-up goes to HF_ENDPOINT; with a non-Hugging-Face endpoint, HF_TOKEN must not."""
    script = (
        "import asyncio\n"
        "from providers.inference.clients import Endpoint\n"
        "from providers.huggingface.provider import HuggingFaceProvider\n"
        "asyncio.run(HuggingFaceProvider()._warm_routing(Endpoint(None, 'k', 'together', 5.0), 'org/model'))\n"
    )
    env = {"HF_ENDPOINT": trap.url, "HF_TOKEN": OPERATOR_TOKEN, "HF_HUB_DISABLE_TELEMETRY": "1",
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    trap.clear()
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, timeout=120,
                   capture_output=True)
    assert trap.hits, "the look-up should have reached the configured HF_ENDPOINT"
    assert all(hit.authorization is None for hit in trap.hits), trap.hits


def test_explicit_tokens_only_is_idempotent():
    use_explicit_tokens_only()
    from huggingface_hub.utils._headers import get_token_to_send
    assert get_token_to_send(None) is None and get_token_to_send("hf_x") == "hf_x"
