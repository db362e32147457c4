"""Files come only as uploads: a file given as a link is refused before any look-up (README "Security").

Gradio would download `{"path": "https://…", "meta": {"_type": "gradio.FileData"}}` wherever it
appears in an event's data, and fetch `/gradio_api/file=https://…` for anyone (ui/remote_files.py).
The link names a host under `.invalid`: had the server tried to fetch it, the audit hook would
record the name look-up, which is how these tests fail on Gradio's own behaviour.
"""

from __future__ import annotations

import base64
import io
import json

import httpx
import pytest
from gradio_client import Client, handle_file
from mcp.types import ImageContent
from PIL import Image

from providers import Registry
from providers.messages import LINKED_FILE_MESSAGE
from tests.support.fake_provider import FakeProvider
from tests.support.mcp_client import call, text_of
from tests.support.network_audit import network_activity
from tests.support.rest import rest_call
from tests.support.servers import launch_blocks
from ui.app import build_demo
from ui.config import AppSettings
from ui.mcp import MCP_PATH
from ui.remote_files import is_link

HOST = "files.example.invalid"
LINK = f"https://{HOST}/cat.png"
REFUSED = "does not fetch links"
LIMIT = 60


def linked_file(url: str = LINK) -> dict:
    """A file reference as Gradio's clients write one, naming a URL instead of an upload."""
    return {"path": url, "url": url, "orig_name": "cat.png", "meta": {"_type": "gradio.FileData"}}


@pytest.fixture(scope="module")
def app():
    demo = build_demo(Registry([FakeProvider()]), AppSettings.from_env())
    with launch_blocks(demo, mcp_server=True) as url:
        yield url


@pytest.fixture
def rest(app):
    with httpx.Client(base_url=app, timeout=LIMIT) as http:
        yield http


def png(path) -> str:
    Image.new("RGB", (24, 24), (10, 200, 10)).save(path)
    return str(path)


def data_url() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 24), (10, 10, 200)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_links_are_told_apart_from_uploads():
    for link in (LINK, "http://x/y.png", "HTTPS://x/y.png", " https://x/y.png"):
        assert is_link(link), link
    for local in ("/tmp/gradio/abc/cat.png", "cat.png", "data:image/png;base64,AAAA", None, "httpx.png"):
        assert not is_link(local), local


@pytest.mark.parametrize("where", ["images", "history", "json messages"])
def test_a_linked_file_is_refused_with_a_clear_message_and_never_looked_up(app, where):
    turn = [{"role": "user", "content": [{"type": "file", "file": linked_file()}]},
            {"role": "assistant", "content": "a cat"}]
    api_name, data = {
        "images": ("vision", ["what is it?", [linked_file()], [], "fake", "describe", 0.5, 100]),
        "history": ("vision", ["and now?", [], turn, "fake", "describe", 0.5, 100]),
        "json messages": ("chat", [turn + [{"role": "user", "content": "hi"}], "fake", "echo", "", 0.7, 64, 0.9,
                                   "off", None]),
    }[where]
    with network_activity() as activity:
        event, message = rest_call(app, api_name, json.dumps(data))
    assert event == "error" and LINKED_FILE_MESSAGE in message, (event, message)
    assert not [name for name in activity.lookups if HOST in name.lower()], activity.lookups


@pytest.mark.parametrize("route", [f"gradio_api/file={LINK}", f"gradio_api/file/{LINK}",
                                   f"gradio_api/file=%20{LINK}", f"gradio_api/file={LINK.upper()}"])
def test_the_file_routes_never_fetch_a_link(rest, route):
    with network_activity() as activity:
        response = rest.get(route)
        head = rest.head(route)
    assert response.status_code == 403 and "does not fetch files from other sites" in response.text
    assert head.status_code == 403
    assert not [name for name in activity.lookups if HOST in name.lower()], activity.lookups


def test_uploads_and_the_apps_own_files_still_work(app, rest, tmp_path):
    client = Client(app, verbose=False)
    try:
        answer = client.predict(prompt="what is it?", images=[handle_file(png(tmp_path / "green.png"))], history=[],
                                provider="fake", model="describe", temperature=0.5, max_tokens=100,
                                api_name="/vision")
        assert "24x24" in answer, answer
        path, _ = client.predict(prompt="a red square", provider="fake", model="pattern", negative_prompt="",
                                 width=64, height=64, steps=4, guidance=3.5, seed=1, api_name="/image")
    finally:
        client.close()
    served = rest.get(f"gradio_api/file={path}")  # the app serves its own results as before
    assert served.status_code == 200 and served.content.startswith(b"\x89PNG")


async def test_mcp_images_as_links_are_refused_and_as_data_urls_work(app):
    url = app + MCP_PATH
    with network_activity() as activity:
        refused = await call(url, "vision", {"prompt": "what is it?", "images": [LINK]})
    assert refused.isError and REFUSED in text_of(refused), text_of(refused)
    assert not [name for name in activity.lookups if HOST in name.lower()], activity.lookups
    answered = await call(url, "vision", {"prompt": "what is it?", "images": [data_url()]})
    assert not answered.isError and "24x24" in text_of(answered), text_of(answered)
    assert not any(isinstance(c, ImageContent) for c in answered.content)
