"""Availability per visitor: what each visitor can use, from the operator's settings, their own
credentials and the last status check; and a provider with a credential of its own, added by one
file and a registry line."""

from __future__ import annotations

import pytest
from gradio_client import Client

from playground.service import Playground
from playground.status import status_rows
from providers import Availability, Capability, Registry, Visitor
from providers.huggingchat.provider import HuggingChatProvider
from providers.huggingface.provider import HuggingFaceProvider
from providers.registry import build_registry
from providers.spaces.flux import FluxSchnellProvider
from tests.support import fake_spaces
from tests.support.fake_provider import FakeProvider
from tests.support.servers import free_port, launch_blocks
from ui.app import build_demo
from ui.config import AppSettings

OPERATOR_TOKEN = "hf_operatorOperatorOperator01"
VISITOR_TOKEN = "hf_visitorVisitorVisitor0002"
DEMO_KEY = "demo-key-0123456789abcd"


@pytest.fixture
def router(monkeypatch):
    """Hugging Face through its router (no custom server), no shared token, not on a Space."""
    for name in ("HF_INFERENCE_BASE_URL", "HF_TOKEN", "SPACE_ID", "ALLOW_SHARED_CREDENTIALS", "HUGGINGCHAT_COOKIE"):
        monkeypatch.delenv(name, raising=False)


def _state(provider, visitor=None) -> Availability:
    return provider.availability(visitor).availability


def test_operator_token_off_a_space_serves_everyone(router, monkeypatch):
    hf = HuggingFaceProvider()
    assert _state(hf) is Availability.NEEDS_SIGN_IN
    assert hf.availability().reason == "needs a Hugging Face token"
    monkeypatch.setenv("HF_TOKEN", OPERATOR_TOKEN)
    assert _state(hf) is Availability.READY and _state(hf, Visitor("anyone")) is Availability.READY


def test_a_visitors_own_token_serves_that_visitor_only(router, monkeypatch):
    monkeypatch.setenv("SPACE_ID", "someone/playground")  # a public Space: the operator's token is not lent
    monkeypatch.setenv("HF_TOKEN", OPERATOR_TOKEN)
    hf, chat = HuggingFaceProvider(), HuggingChatProvider()
    alice, bob = Visitor("alice", hf_token=VISITOR_TOKEN), Visitor("bob")
    assert _state(hf, alice) is Availability.READY
    assert _state(hf, bob) is Availability.NEEDS_SIGN_IN
    assert _state(chat, alice) is Availability.NEEDS_SIGN_IN  # a Hugging Face token is no HuggingChat sign-in
    registry = Registry([hf, FluxSchnellProvider()])
    assert registry.default_for(Capability.IMAGE, alice) is hf
    assert registry.default_for(Capability.IMAGE, bob).id == "flux-schnell"  # the one that answers bob
    assert [row[2] for row in status_rows(registry.all(), bob)] == ["needs sign-in", "ready"]


async def test_an_unreachable_space_is_not_ready_after_a_check(monkeypatch):
    flux = FluxSchnellProvider()
    monkeypatch.setenv("SPACES_CHECK_TIMEOUT", "20")
    monkeypatch.setenv("FLUX_SCHNELL_SPACE", f"http://127.0.0.1:{free_port()}/")
    assert _state(flux) is Availability.READY  # nothing known yet: no network until asked
    await flux.check()
    state = flux.availability()
    assert state.availability is Availability.UNREACHABLE and "127.0.0.1" in state.reason
    with launch_blocks(fake_spaces.flux_space(fake_spaces.SpaceLog(), dev=False)) as url:
        monkeypatch.setenv("FLUX_SCHNELL_SPACE", url)
        await flux.check()
        assert _state(flux) is Availability.READY
        flux.unreachable("asleep at the last check")
        playground = Playground(Registry([flux]))
        await playground.image("a red square", provider_id="flux-schnell", model=None, visitor=Visitor("v"),
                               width=256, height=256, steps=2)
    assert _state(flux) is Availability.READY  # an answer shows it is back, before any new check


def test_a_provider_with_its_own_credential_is_one_file_and_a_registry_line(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_PROVIDERS", "keyed,fake")
    monkeypatch.setenv("PLAYGROUND_EXTRA_PROVIDERS",
                       "tests.support.keyed_provider:KeyedProvider,tests.support.fake_provider:FakeProvider")
    monkeypatch.delenv("DEMO_SERVICE_KEY", raising=False)
    registry = build_registry()
    assert [c.label for c in registry.credentials()] == ["Demo service key"]
    demo = build_demo(registry, AppSettings.from_env())
    field = next(b for b in demo.blocks.values() if getattr(b, "label", None) == "Demo service key")
    assert field.type == "password" and field.info == "Any value of 16 or more characters."
    with launch_blocks(demo) as url:
        anonymous = Client(url, verbose=False)
        keyed = Client(url, verbose=False, headers={"x-demo-key": DEMO_KEY})
        try:
            listing = {p["id"]: p for p in anonymous.predict(api_name="/providers")}
            assert listing["keyed"]["availability"] == "needs_sign_in"
            assert listing["keyed"]["credential"] == "Demo service key"
            assert listing["fake"]["availability"] == "ready"
            listing = {p["id"]: p for p in keyed.predict(api_name="/providers")}
            assert listing["keyed"]["availability"] == "ready"
            reply = keyed.predict(messages=[{"role": "user", "content": "hello"}], provider="keyed",
                                  model="keyed-model", system_prompt="", temperature=0.7, max_tokens=64,
                                  top_p=0.9, api_name="/chat")
            assert reply == "Keyed: abcd heard hello"
        finally:
            anonymous.close()
            keyed.close()


def test_registry_lists_each_declared_credential_once():
    registry = Registry([FakeProvider(), HuggingFaceProvider(), FluxSchnellProvider(), HuggingChatProvider()])
    assert [c.header for c in registry.credentials()] == ["x-hf-token", "x-huggingchat-cookie"]
