"""Shared fixtures: an isolated environment, the app in-process, gradio_client clients."""

from __future__ import annotations

import os
import tempfile

_TMP = tempfile.mkdtemp(prefix="playground-tests-")
os.environ.update({
    "GRADIO_TEMP_DIR": os.path.join(_TMP, "gradio"),
    "ARENA_VOTES_PATH": os.path.join(_TMP, "arena_votes.jsonl"),  # never the repo's data/
    "ARENA_DATABASE_URL": "sqlite:///" + os.path.join(_TMP, "arena.db"),
    "GRADIO_ANALYTICS_ENABLED": "False",
    # Tests make many quick calls from one session; the fair-use tests set their own limits.
    "PLAYGROUND_VISITOR_PER_MINUTE": "0",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_OFFLINE": "0",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
})
for _var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "SPACE_ID", "HUGGINGCHAT_COOKIE"):
    os.environ.pop(_var, None)
os.makedirs(os.environ["GRADIO_TEMP_DIR"], exist_ok=True)

import pytest  # noqa: E402
from gradio_client import Client  # noqa: E402

from providers import Registry  # noqa: E402
from tests.support.fake_provider import FakeProvider  # noqa: E402
from tests.support.servers import launch_blocks  # noqa: E402
from ui.app import build_demo  # noqa: E402
from ui.config import AppSettings  # noqa: E402

FAKE_SPEC = "tests.support.fake_provider:FakeProvider"


@pytest.fixture(scope="session")
def tmp_root() -> str:
    return _TMP


@pytest.fixture(scope="module")
def app_url():
    """The playground with the fake provider, served in-process on a free port."""
    demo = build_demo(Registry([FakeProvider()]), AppSettings.from_env())
    with launch_blocks(demo) as url:
        yield url


@pytest.fixture
def client(app_url):
    client = Client(app_url, verbose=False)
    try:
        yield client
    finally:
        client.close()
