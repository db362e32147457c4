"""Settings applies credentials when the visitor has finished typing, not on every keystroke,
so only finished credentials are registered for log redaction (no browser needed)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from providers import Registry, logs
from providers.huggingchat.provider import HuggingChatProvider
from providers.huggingface.provider import HuggingFaceProvider
from providers.logs import SecretRegistry, redact
from tests.support.fake_provider import FakeProvider
from ui.app import build_demo
from ui.config import AppSettings

TOKEN = "hfx-Zq8rT2mWx9LpK4vN7bYc1dFg6hJs3aE5uQ0o"
COOKIE = "cookie-7f3a9c2e-41b8-4d6a-9e0f-2b5c8d1a7e64"


@pytest.fixture
def fresh_secrets(monkeypatch) -> SecretRegistry:
    registry = SecretRegistry()
    monkeypatch.setattr(logs, "_secrets", registry)
    return registry


@pytest.fixture(scope="module")
def demo():
    return build_demo(Registry([FakeProvider(), HuggingFaceProvider(), HuggingChatProvider()]),
                      AppSettings.from_env())


def _apply(apply, demo, token: str, cookie: str, remember: bool, request):
    """Call Settings' apply as Gradio does: inputs as {component: value}."""
    fields = {getattr(b, "label", None): b for b in demo.blocks.values()}
    return apply({fields["Hugging Face token"]: token, fields["HuggingChat cookie"]: cookie,
                  fields["Remember in this browser"]: remember}, request)


def settings_dependencies(demo, name: str) -> list:
    """The Settings tab's event listeners running the function called `name` (apply / restore)."""
    return [fn for fn in demo.fns.values()
            if fn.fn is not None and fn.fn.__qualname__ == f"build_settings_tab.<locals>.{name}"]


def settings_dependency(demo, name: str):
    (found,) = settings_dependencies(demo, name)
    return found


def settings_function(demo, name: str):
    """That function, with the triggers of all its listeners as (component label, event) pairs."""
    found = settings_dependencies(demo, name)
    triggers = {(getattr(demo.blocks.get(block_id), "label", None), event)
                for dependency in found for block_id, event in dependency.targets}
    return found[0].fn, triggers


def test_credentials_are_applied_on_submit_or_blur_never_on_change(demo):
    _, triggers = settings_function(demo, "apply")
    assert triggers == {("Hugging Face token", "submit"), ("Hugging Face token", "blur"),
                        ("HuggingChat cookie", "submit"), ("HuggingChat cookie", "blur"),
                        ("Remember in this browser", "input")}
    assert not any(event == "change" for _, event in triggers)
    # Ticking "Remember" just after typing fires blur then input: the second waits for the first and
    # runs with the values of that moment (with "once" it would be dropped and nothing remembered).
    assert settings_dependency(demo, "apply").trigger_mode == "always_last"


def test_applying_registers_the_finished_credentials_only(demo, fresh_secrets):
    apply, _ = settings_function(demo, "apply")
    request = SimpleNamespace(session_hash="settings-apply", headers={})
    saved, summary, _, restored = _apply(apply, demo, TOKEN, f"  {COOKIE} ", False, request)
    assert restored is True  # what the visitor entered is never overwritten by a later restore
    assert "token **set**" in summary and "cookie **set**" in summary and saved == {"remember": False}
    assert redact(f"token {TOKEN} and cookie {COOKIE}") == "token [REDACTED] and cookie [REDACTED]"
    assert len(fresh_secrets) == 2
    partial = TOKEN[:20]  # what a per-keystroke handler would have registered on the way
    assert redact(f"partial {partial}!") == f"partial {partial}!"
    _apply(apply, demo, "Fetching", "127.0.0.1", False, request)  # too short to be credentials: never secrets
    assert len(fresh_secrets) == 2 and redact("Fetching 127.0.0.1") == "Fetching 127.0.0.1"


def test_restoring_remembered_credentials_registers_them(demo, fresh_secrets):
    restore, triggers = settings_function(demo, "restore")
    assert {event for _, event in triggers} == {"load", "change"}
    request = SimpleNamespace(session_hash="settings-restore", headers={})
    saved = {"remember": True, "hf_token": TOKEN, "huggingchat_cookie": COOKIE}
    token, cookie, remember, summary, _, done = restore(saved, False, request)
    assert (token, cookie, remember, done) == (TOKEN, COOKIE, True, True)
    assert redact(f"{TOKEN}/{COOKIE}") == "[REDACTED]/[REDACTED]"
