"""Gradio routes the playground does not use and a visitor could make costly are closed (ui/closed_routes.py)."""

from __future__ import annotations

import httpx
import pytest

from providers import Registry
from tests.support.fake_provider import FakeProvider
from tests.support.servers import launch_blocks
from ui.app import build_demo


@pytest.fixture(scope="module")
def app():
    with launch_blocks(build_demo(Registry([FakeProvider()]))) as url:
        yield url


@pytest.mark.parametrize("path", ["gradio_api/process_recording", "gradio_api/process_recording/"])
def test_the_screen_recorder_route_is_closed(app, path):
    """Gradio would run ffmpeg once per listed zoom effect (or, without ffmpeg, store and echo the video)."""
    effects = '[' + ",".join(['{"boundingBox": {"topLeft": [0.1, 0.1], "bottomRight": [0.9, 0.9]}}'] * 1000) + ']'
    with httpx.Client(base_url=app, timeout=60) as http:
        response = http.post(path, files={"video": ("clip.mp4", b"\0" * 10_000, "video/mp4")},
                             data={"zoom_effects": effects})
    assert response.status_code == 404
    assert response.text == "This app does not offer this route."


def test_other_routes_stay_open(app):
    with httpx.Client(base_url=app, timeout=60) as http:
        assert http.get("gradio_api/info").status_code == 200
        assert http.post("gradio_api/upload", files={"files": ("a.txt", b"hello")}).status_code == 200
