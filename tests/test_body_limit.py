"""A request body over PLAYGROUND_MAX_REQUEST_BYTES is refused (413) before Gradio reads it (ui/body_limit.py)."""

from __future__ import annotations

import dataclasses
import json

import httpx
import pytest
from gradio_client import Client

from providers import Registry
from tests.support.fake_provider import FakeProvider
from tests.support.servers import launch_blocks
from ui.app import build_demo
from ui.config import AppSettings

LIMIT = 200_000


@pytest.fixture(scope="module")
def app():
    settings = dataclasses.replace(AppSettings.from_env(), max_request_bytes=LIMIT)
    with launch_blocks(build_demo(Registry([FakeProvider()]), settings)) as url:
        yield url


def chat_body(text: str) -> bytes:
    return json.dumps({"data": [[{"role": "user", "content": text}], "fake", "echo"]}).encode()


def test_a_body_over_the_limit_is_refused_with_a_clear_message(app):
    with httpx.Client(base_url=app, timeout=60) as http:
        declared = http.post("gradio_api/call/chat", content=chat_body("x" * LIMIT),
                             headers={"content-type": "application/json"})
        chunked = http.post("gradio_api/call/chat", content=iter([chat_body("y" * LIMIT)]),
                            headers={"content-type": "application/json"})
        joined = http.post("gradio_api/queue/join", content=chat_body("z" * LIMIT),
                           headers={"content-type": "application/json"})
    for response in (declared, chunked, joined):
        assert response.status_code == 413, response.text
        assert f"larger than {LIMIT:,} bytes" in response.json()["detail"]


def test_requests_under_the_limit_and_uploads_are_served(app, tmp_path):
    with httpx.Client(base_url=app, timeout=60) as http:
        started = http.post("gradio_api/call/chat", content=iter([chat_body("hello")]),
                            headers={"content-type": "application/json"})
        assert started.status_code == 200 and started.json()["event_id"]
        big = tmp_path / "big.bin"
        big.write_bytes(b"\0" * (LIMIT * 2))  # uploads are bounded per file by Gradio (max_file_size), not here
        with big.open("rb") as file:
            uploaded = http.post("gradio_api/upload", files={"files": ("big.bin", file)})
        assert uploaded.status_code == 200, uploaded.text
    client = Client(app, verbose=False)
    try:
        assert client.predict("hello", api_name="/chat") == "Echo: hello"
    finally:
        client.close()
