"""Local stand-ins for every provider, started once for the reliability suite.

Each server is the one the adapter's own tests use (tests/support/*); the suite
points the adapters at them through their settings (`provider_env`).
"""

from __future__ import annotations

import contextlib

import pytest

from tests.support import fake_spaces
from tests.support.flowgpt_server import FlowGptState
from tests.support.flowgpt_server import create_app as flowgpt_app
from tests.support.h2o_server import H2oState
from tests.support.h2o_server import create_app as h2o_app
from tests.support.hf_server import HfServer
from tests.support.huggingchat_server import HuggingChatServer
from tests.support.servers import launch_blocks, serve_asgi

HF_VISITOR_TOKEN = "hf_reliabilityVisitorTOKEN0001"
HUGGINGCHAT_COOKIE = "reliability-cookie-alice-0001"

#: The per-read time limit the suite gives every adapter (seconds): "timeout" cells wait this long.
READ_TIMEOUT = "0.6"


class HeaderLog:
    """ASGI middleware noting every request's server, path and headers (to see where secrets went)."""

    def __init__(self, app, name: str, seen: list[tuple[str, str, dict[str, str]]]) -> None:
        self.app, self.name, self.seen = app, name, seen

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            self.seen.append((self.name, scope["path"], headers))
        await self.app(scope, receive, send)


@pytest.fixture(scope="session")
def local_servers():
    """Every provider's local server; yields {name: (url, handle)} plus "headers": (None, [seen requests]).

    The OpenAI-compatible server is a second HF-protocol server on `localhost`, a host
    not trusted as Hugging Face's, so it must never receive a Hugging Face token.
    """
    seen: list[tuple[str, str, dict[str, str]]] = []
    hf = HfServer(slow_seconds=3.0)
    compat = HfServer(slow_seconds=3.0)
    chat = HuggingChatServer({HUGGINGCHAT_COOKIE})
    chat.slow_seconds = 3.0
    h2o, flow = H2oState(), FlowGptState()
    logs = {name: fake_spaces.SpaceLog() for name in ("phi4", "schnell", "busy")}
    with contextlib.ExitStack() as stack:
        hf.url = stack.enter_context(serve_asgi(HeaderLog(hf.app, "hf", seen)))
        compat.url = stack.enter_context(serve_asgi(HeaderLog(compat.app, "compat", seen))).replace(
            "127.0.0.1", "localhost")
        chat.url = stack.enter_context(serve_asgi(HeaderLog(chat.app, "huggingchat", seen))) + "/chat"
        servers = {
            "hf": (hf.url, hf),
            "compat": (compat.url, compat),
            "huggingchat": (chat.url, chat),
            "h2o": (stack.enter_context(serve_asgi(HeaderLog(h2o_app(h2o), "h2o", seen))), h2o),
            "flowgpt": (stack.enter_context(serve_asgi(HeaderLog(flowgpt_app(flow), "flowgpt", seen))), flow),
            "phi4": (stack.enter_context(launch_blocks(fake_spaces.phi4_space(logs["phi4"]))), logs["phi4"]),
            "schnell": (stack.enter_context(launch_blocks(fake_spaces.flux_space(logs["schnell"], dev=False))),
                        logs["schnell"]),
            "busy": (stack.enter_context(launch_blocks(fake_spaces.busy_space(logs["busy"]))), logs["busy"]),
            "headers": (None, seen),
        }
        yield servers


def env_for(servers: dict) -> dict[str, str]:
    """Settings that point every adapter at its local server, with short time limits."""
    hf_url = servers["hf"][0]
    return {
        "HF_INFERENCE_BASE_URL": hf_url,
        "HF_ENDPOINT": hf_url,
        "HF_TRUSTED_HOSTS": "127.0.0.1",
        "HF_INFERENCE_TIMEOUT": READ_TIMEOUT,
        "HF_LOADING_MAX_WAIT": "0",
        "OPENAI_COMPAT_BASE_URL": servers["compat"][0] + "/v1",
        "HUGGINGCHAT_URL": servers["huggingchat"][0],
        "H2O_URL": servers["h2o"][0],
        "FLOWGPT_URL": servers["flowgpt"][0],
        "PHI4_SPACE": servers["phi4"][0],
        "FLUX_SCHNELL_SPACE": servers["schnell"][0],
        "FLUX_DEV_SPACE": servers["schnell"][0],
        "SPACES_TIMEOUT": "20",
        "PROVIDER_READ_TIMEOUT": READ_TIMEOUT,
    }


@pytest.fixture
def provider_env(local_servers, monkeypatch):
    """Every adapter pointed at its local server for this test; returns the settings."""
    env = env_for(local_servers)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("HF_TOKEN", "HF_INFERENCE_API", "HF_INFERENCE_API_KEY", "OPENAI_COMPAT_API_KEY",
                 "HUGGINGCHAT_COOKIE", "OPENAI_COMPAT_MODELS", "PLAYGROUND_PROVIDERS"):
        monkeypatch.delenv(name, raising=False)
    local_servers["huggingchat"][1].replies.clear()
    local_servers["huggingchat"][1].requests.clear()
    local_servers["hf"][1].requests.clear()
    local_servers["compat"][1].requests.clear()
    local_servers["headers"][1].clear()
    return env
