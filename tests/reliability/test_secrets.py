"""Secrets: concurrent sessions with different tokens and cookies each send their own,
no secret reaches a log line, and none goes to a host it was not meant for.

The app runs in-process with every HTTP provider pointed at its local server; every
request those servers receive is recorded with its headers (conftest.HeaderLog). The
app's logs go through a handler carrying the redaction `setup_logging` installs.
"""

from __future__ import annotations

import io
import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from providers import Registry
from providers.flowgpt import FlowGptProvider
from providers.h2o import H2oProvider
from providers.huggingchat.provider import HuggingChatProvider
from providers.huggingface.provider import HuggingFaceProvider
from providers.inference.openai_compat import OpenAICompatProvider
from providers.logs import setup_logging
from tests.support.servers import launch_blocks
from ui.app import build_demo
from ui.config import AppSettings

SESSIONS = 6
H2O_MODEL = "h2oai/h2ogpt-gm-oasst1-en-2048-falcon-40b-v1"


def secrets_of(i: int) -> dict[str, str]:
    return {"token": f"hf_secretSession{i}TOKENabcdef", "cookie": f"hc-cookie-session-{i}-qwerty",
            "ip": f"ip-token-session-{i}-zxcv"}


@pytest.fixture
def app_logs():
    """Everything the app logs while the test runs, at DEBUG, through the redacting set-up."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    setup_logging("DEBUG")
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def app_url(provider_env, local_servers, monkeypatch):
    # This test is about where secrets go, not about time limits: the suite's short read limit
    # (meant for its "timeout" cells) must not fail six concurrent sessions on a busy machine.
    for name in ("PROVIDER_READ_TIMEOUT", "HF_INFERENCE_TIMEOUT"):
        monkeypatch.setenv(name, "30")
    local_servers["huggingchat"][1].cookies.update(secrets_of(i)["cookie"] for i in range(SESSIONS))
    registry = Registry([HuggingFaceProvider(), OpenAICompatProvider(), HuggingChatProvider(), H2oProvider(),
                         FlowGptProvider()])
    with launch_blocks(build_demo(registry, AppSettings.from_env())) as url:
        yield url


def session(url: str, i: int) -> list[str]:
    """One visitor's conversation over several providers (including failures that get logged)."""
    secret = secrets_of(i)
    client = Client(url, verbose=False, headers={"x-hf-token": secret["token"],
                                                   "x-huggingchat-cookie": secret["cookie"],
                                                   "x-ip-token": secret["ip"]})
    params = {"system_prompt": "", "temperature": 0.5, "max_tokens": 64, "top_p": 0.9}

    def chat(provider: str, model: str, text: str) -> str:
        job = client.submit(messages=[{"role": "user", "content": text}], provider=provider, model=model,
                            api_name="/chat", **params)
        try:
            return job.result(timeout=30)
        except AppError as exc:
            return f"error: {exc}"

    try:
        return [
            chat("huggingface", "local/chat-model", f"s{i} hf"),
            chat("huggingchat", "text-model", f"s{i} hc"),
            chat("openai-compatible", "served/model-a", f"s{i} oa"),
            chat("h2o", H2O_MODEL, f"s{i} h2o #malformed"),
            chat("flowgpt", "gpt-3.5-turbo", f"s{i} flow #malformed"),
            chat("huggingface", "status-401", f"s{i} refused"),
            chat("huggingchat", "text-model", f"s{i} hc again"),
        ]
    finally:
        client.close()


def test_concurrent_sessions_send_only_their_own_secrets_and_log_none(app_url, local_servers, app_logs):
    with ThreadPoolExecutor(SESSIONS) as pool:
        replies = list(pool.map(lambda i: session(app_url, i), range(SESSIONS)))

    for i, answers in enumerate(replies):
        assert answers[0] == f"Hello from local/chat-model: s{i} hf"
        assert answers[1].startswith("You said:") and f"s{i} hc" in answers[1]
        assert answers[2] == f"Hello from served/model-a: s{i} oa"
        assert answers[3].startswith("You said:") and answers[4].startswith("gpt-3.5-turbo says:")
        assert answers[5] == "error: Hugging Face refused your token: check it in Settings."
        assert f"s{i} hc again" in answers[6]

    # Each HF request carried the token of the session whose text it sent.
    hf_calls = local_servers["hf"][1].calls("/v1/chat")
    assert len(hf_calls) == 2 * SESSIONS
    for call in hf_calls:
        i = int(call.body["messages"][-1]["content"].split()[0][1:])
        assert call.authorization == f"Bearer {secrets_of(i)['token']}"

    # Each HuggingChat message went with the cookie of the session that typed it.
    sends = [r for r in local_servers["huggingchat"][1].requests if r.route == "send"]
    assert len(sends) == 2 * SESSIONS
    for recorded in sends:
        owner = next(i for i in range(SESSIONS) if f"s{i} hc" in recorded.data["inputs"])
        assert recorded.cookie_header == f"hf-chat={secrets_of(owner)['cookie']}"

    # No secret reached a host it was not meant for (HF token: the HF server's Authorization
    # only; cookie: HuggingChat's Cookie only; the ip token: Spaces only, so nowhere here).
    seen = local_servers["headers"][1]
    assert {name for name, _, _ in seen} >= {"hf", "compat", "huggingchat", "h2o", "flowgpt"}
    all_secrets = [(kind, value) for i in range(SESSIONS) for kind, value in secrets_of(i).items()]
    for server, path, headers in seen:
        for header, value in headers.items():
            for kind, secret in all_secrets:
                if secret not in value:
                    continue
                allowed = ((kind == "token" and server == "hf" and header == "authorization")
                           or (kind == "cookie" and server == "huggingchat" and header == "cookie"))
                assert allowed, f"{kind} sent to {server}{path} in {header}"

    # No secret in any log line, though the run logged (malformed lines, a refused token).
    text = app_logs.getvalue()
    assert "malformed line" in text
    for kind, secret in all_secrets:
        assert secret not in text, f"a {kind} reached the logs"
