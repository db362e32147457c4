"""One wording per cause: the same failure reads the same for every HTTP provider and for a Space,
naming the provider, over real HTTP against the local stand-ins (rows and plans of the fault matrix)."""

from __future__ import annotations

import re

import pytest

from playground.service import Playground, describe_error
from providers import Registry, Visitor
from tests.reliability.test_fault_matrix import ROWS, SPACE_ROWS, _turn, row_playground, start_fault
from tests.support.servers import free_port

HTTP_ROWS = [pid for pid in ROWS if pid not in SPACE_ROWS]
#: Each cause as the visitor reads it ({p}: the provider's label).
WORDING = {
    "refused": "{p} could not be reached: it may be asleep or offline. Try again in a minute or pick another provider.",
    "timeout": "{p} did not answer in time: it may be busy. Try again in a minute or pick another provider.",
    "429": "{p} is busy (rate limited): try again in N s.",
    "500": "{p} is having trouble (server error): try again in a minute or pick another provider.",
    "401-no-credential": "{p} needs you to sign in: add your {noun} in Settings.",
    "401-credential": "{p} refused your {noun}: check it in Settings.",
    "401-app-key": "{p} refused this app's access: pick another provider.",
}
#: Where each adapter finds its service (pointed at a closed port for "connection refused").
LOCATION = {"huggingface": "HF_INFERENCE_BASE_URL", "openai-compatible": "OPENAI_COMPAT_BASE_URL",
            "huggingchat": "HUGGINGCHAT_URL", "h2o": "H2O_URL", "flowgpt": "FLOWGPT_URL",
            "phi4": "PHI4_SPACE", "flux-schnell": "FLUX_SCHNELL_SPACE"}
#: The credential a visitor gives each provider that takes one, as the message names it.
NOUN = {"huggingface": "token", "huggingchat": "cookie"}


def _read(message: str, label: str) -> str:
    """The message with the provider's label as {p} and the seconds to wait as N (each server asks its own)."""
    return re.sub(r"try again in \d+ s", "try again in N s", message.replace(label, "{p}"))


def _expected(cause: str, provider_id: str) -> str:
    return WORDING[cause].replace("{noun}", NOUN.get(provider_id, ""))


@pytest.mark.parametrize("provider_id", list(ROWS))
async def test_connection_refused_reads_the_same_everywhere(provider_id, provider_env, monkeypatch):
    monkeypatch.setenv(LOCATION[provider_id], f"http://127.0.0.1:{free_port()}/")
    monkeypatch.setenv("SPACES_TIMEOUT", "20")
    row = ROWS[provider_id]
    provider = row.provider()
    model = "" if provider_id == "huggingchat" else row.ok_model  # its model list comes from the server
    _, error = await _turn(Playground(Registry([provider])), provider, row, model, row.ok_text, row.visitor())
    assert _read(describe_error(error), provider.label) == WORDING["refused"]


@pytest.mark.parametrize("provider_id, fault", [(pid, f) for pid in HTTP_ROWS for f in ("429", "500", "timeout")]
                         + [(pid, "timeout") for pid in SPACE_ROWS])
async def test_a_busy_broken_or_slow_service_reads_the_same_everywhere(provider_id, fault, local_servers,
                                                                         provider_env, monkeypatch):
    row = ROWS[provider_id]
    plan = row.plan(fault)
    async with row_playground(row) as (provider, playground, visitor):
        await start_fault(plan, row, provider, playground, visitor, local_servers, monkeypatch)
        _, error = await _turn(playground, provider, row, plan.model, plan.text, visitor)
    assert error is not None
    assert _read(describe_error(error), provider.label) == WORDING[fault]


@pytest.mark.parametrize("provider_id", HTTP_ROWS)
async def test_a_refused_sign_in_reads_the_same_everywhere(provider_id, local_servers, provider_env):
    """A 401: the visitor's own credential refused (check it in Settings), or the app's own access refused."""
    row = ROWS[provider_id]
    plan = row.plan("401")
    provider = row.provider()
    if plan.arm:
        plan.arm(local_servers)
    _, error = await _turn(Playground(Registry([provider])), provider, row, plan.model, plan.text, row.visitor())
    cause = "401-credential" if provider_id in NOUN else "401-app-key"
    assert _read(describe_error(error), provider.label) == _expected(cause, provider_id)
    assert error.needs_credential is (provider_id in NOUN)


@pytest.mark.parametrize("provider_id", list(NOUN))
async def test_no_credential_reads_the_same_for_every_provider_that_takes_one(provider_id, provider_env):
    row = ROWS[provider_id]
    provider = row.provider()
    _, error = await _turn(Playground(Registry([provider])), provider, row, row.ok_model, row.ok_text,
                           Visitor("nobody"))
    assert _read(describe_error(error), provider.label) == _expected("401-no-credential", provider_id)
    assert error.needs_credential
