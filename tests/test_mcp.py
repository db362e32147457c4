"""The playground as an MCP server: the official `mcp` client (streamable HTTP) against the app in-process,
with the fake provider and a provider with a credential of its own (tests/support/keyed_provider.py)."""

from __future__ import annotations

import ast
import base64
import dataclasses
import io

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ImageContent
from PIL import Image

from providers import Registry
from tests.support.fake_provider import FakeProvider
from tests.support.keyed_provider import KeyedProvider
from tests.support.mcp_client import call, text_of
from tests.support.servers import app_subprocess, launch_blocks
from ui.app import build_demo
from ui.config import AppSettings
from ui.mcp import MCP_PATH

TOOLS = {"chat", "vision", "image", "providers", "compare"}
KEY = "demo-key-0123456789-wxyz"


def _settings(**changes) -> AppSettings:
    return dataclasses.replace(AppSettings.from_env(), **changes)


@pytest.fixture(scope="module")
def mcp_url():
    """The playground with MCP on; the keyed provider comes first but needs a key, so the fake one answers
    callers who bring none."""
    demo = build_demo(Registry([KeyedProvider(), FakeProvider()]), _settings(visitor_per_minute=0))
    with launch_blocks(demo, mcp_server=True) as url:
        yield url + MCP_PATH


async def test_lists_the_tools_with_descriptions_and_only_the_prompt_required(mcp_url):
    async with streamable_http_client(mcp_url) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) - {"code"} == TOOLS  # View code's own endpoint is listed too, typed and described
    assert tools["code"].inputSchema["properties"]["messages"]["type"] == "array"
    assert "Python, JavaScript or curl" in tools["code"].description or "as `language` code" in tools["code"].description
    chat = tools["chat"]
    assert chat.description.startswith("Chat with a text model; only `messages` is required.")
    schema = chat.inputSchema
    assert schema["required"] == ["messages"]
    assert schema["properties"]["messages"]["anyOf"][0] == {"type": "string"}
    assert schema["properties"]["structured_output"]["enum"] == ["off", "json", "json_schema"]
    assert schema["properties"]["temperature"] == {"type": "number", "default": 0.7,
                                                   "description": "Sampling temperature, 0 to 2."}
    assert "first provider that can answer you" in schema["properties"]["provider"]["description"]
    assert tools["image"].inputSchema["required"] == ["prompt"]
    assert tools["compare"].inputSchema["required"] == ["prompt"]
    assert tools["vision"].inputSchema["required"] == ["prompt"]
    assert "required" not in tools["providers"].inputSchema
    for name in TOOLS:
        for parameter, spec in tools[name].inputSchema["properties"].items():
            assert isinstance(spec.get("type", "string"), str), (name, parameter)  # a real JSON type each
            assert spec.get("description"), (name, parameter)


async def test_chat_with_only_a_prompt_answers_through_the_provider_that_can(mcp_url):
    result = await call(mcp_url, "chat", {"messages": "hello there"})
    assert not result.isError
    assert text_of(result) == "Echo: hello there"


async def test_the_callers_own_key_comes_through_its_header_and_serves_that_caller_only(mcp_url):
    keyed = await call(mcp_url, "chat", {"messages": "hello"}, headers={"x-demo-key": KEY})
    assert text_of(keyed) == "Keyed: wxyz heard hello"  # the keyed provider is ready for this caller: the default
    listed = text_of(await call(mcp_url, "providers", {}, headers={"x-demo-key": KEY}))
    listing = ast.literal_eval(listed.removeprefix("root="))  # Gradio's str() of the (unqueued) JSON output
    assert [p["availability"] for p in listing] == ["ready", "ready"]
    # Gradio's MCP server makes every call in one session of its own: the key must not stay with it.
    anonymous = await call(mcp_url, "chat", {"messages": "hello"})
    assert text_of(anonymous) == "Echo: hello"
    refused = await call(mcp_url, "chat", {"messages": "hello", "provider": "keyed"})
    assert refused.isError and text_of(refused) == "Keyed Service refused this app's access: pick another provider."


async def test_image_with_only_a_prompt_returns_the_picture(mcp_url):
    result = await call(mcp_url, "image", {"prompt": "a red square", "width": 320, "height": 256, "seed": 7},
                        progress=True)
    assert not result.isError, text_of(result)
    pictures = [c for c in result.content if isinstance(c, ImageContent)]
    assert len(pictures) == 1 and pictures[0].mimeType == "image/png"
    with Image.open(io.BytesIO(base64.b64decode(pictures[0].data))) as image:
        assert image.size == (320, 256) and image.getpixel((0, 0)) == (7, 0, 0)
    assert "'provider': 'fake', 'model': 'pattern', 'seed': 7" in text_of(result)


async def test_image_without_progress_names_the_file_and_what_was_used(mcp_url):
    """Without a progress token Gradio's MCP server returns a two-output tool's values as text."""
    result = await call(mcp_url, "image", {"prompt": "a red square", "width": 256, "height": 256, "seed": 3})
    assert not result.isError
    assert "/gradio_api/file=" in text_of(result) and "'seed': 3" in text_of(result)


async def test_compare_and_structured_output_keep_their_meaning(mcp_url):
    columns = ast.literal_eval(text_of(await call(mcp_url, "compare", {"prompt": "hi"})))  # Gradio's str()
    assert [(c["provider"], c["model"], c["reply"]) for c in columns] == [("fake", "echo", "Echo: hi"),
                                                                        ("fake", "slow", "Echo: hi")]
    refused = await call(mcp_url, "chat", {"messages": "hi", "structured_output": "json"})
    assert refused.isError and "Fake Provider does not offer structured output" in text_of(refused)


async def test_a_caller_over_the_limit_is_refused_as_on_the_web():
    demo = build_demo(Registry([KeyedProvider(), FakeProvider()]),
                      _settings(visitor_per_minute=2, visitor_max_streams=0))
    with launch_blocks(demo, mcp_server=True) as url:
        first = [await call(url + MCP_PATH, "chat", {"messages": f"hi {i}"}) for i in range(2)]
        over = await call(url + MCP_PATH, "chat", {"messages": "one more"})
        other = await call(url + MCP_PATH, "chat", {"messages": "mine"}, headers={"x-demo-key": KEY})
    assert [text_of(r) for r in first] == ["Echo: hi 0", "Echo: hi 1"]
    assert over.isError and "Too many requests: 2 a minute at most" in text_of(over)
    assert text_of(other) == "Keyed: wxyz heard mine"  # another caller (its own credential) has its own count


def test_the_app_serves_mcp_unless_turned_off(tmp_path):
    """`python app.py` serves the MCP endpoint by default; PLAYGROUND_MCP=0 leaves it out."""
    env = {"PLAYGROUND_PROVIDERS": "fake", "PLAYGROUND_EXTRA_PROVIDERS": "tests.support.fake_provider:FakeProvider",
           "GRADIO_TEMP_DIR": str(tmp_path)}
    request = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    accept = {"accept": "application/json, text/event-stream"}
    with app_subprocess(env) as (url, _):
        listed = httpx.post(url + MCP_PATH, json=request, headers=accept, timeout=30)
    assert listed.status_code == 200 and '"name":"chat"' in listed.text.replace(" ", "")
    with app_subprocess({**env, "PLAYGROUND_MCP": "0"}) as (url, _):
        assert httpx.post(url + MCP_PATH, json=request, headers=accept, timeout=30).status_code == 404
