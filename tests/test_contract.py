"""The provider contract, typed errors, the reply accumulator and the registry."""

from __future__ import annotations

import pytest

from providers import (
    Capability,
    Finish,
    InputError,
    ModelNotSupportedError,
    RateLimitedError,
    ReasoningDelta,
    Registry,
    Reply,
    Source,
    Sources,
    TextDelta,
    Title,
    UnknownProviderError,
    build_registry,
)
from providers.base import Provider
from providers.errors import (
    AuthRequiredError,
    BadRequestError,
    ForbiddenError,
    GoneError,
    PaymentRequiredError,
    ProtocolError,
    UnavailableError,
    error_for_status,
)
from tests.support.fake_provider import FakeProvider


class TextOnly(Provider):
    id = "text-only"
    label = "Text Only"
    capabilities = frozenset({Capability.TEXT})
    models = {Capability.TEXT: ["small", "large"]}
    default_models = {Capability.TEXT: "large"}
    aliases = {"big": "large"}


class Gone(TextOnly):
    id = "gone"
    label = "Gone Service"
    working = False


class AnyModel(TextOnly):
    id = "any"
    label = "Any Model"
    accepts_any_model = True


def test_get_model_resolves_default_alias_and_known():
    provider = TextOnly()
    assert provider.get_model(Capability.TEXT, "") == "large"
    assert provider.get_model(Capability.TEXT, None) == "large"
    assert provider.get_model(Capability.TEXT, "big") == "large"
    assert provider.get_model(Capability.TEXT, " small ") == "small"


def test_unknown_model_is_a_clear_error_naming_provider_and_choices():
    with pytest.raises(ModelNotSupportedError) as info:
        TextOnly().get_model(Capability.TEXT, "huge")
    message = str(info.value)
    assert message.startswith("Text Only: model not supported")
    assert "'huge'" in message and "small, large" in message


def test_free_form_models_are_accepted_when_declared():
    assert AnyModel().get_model(Capability.TEXT, "org/some-model") == "org/some-model"


def test_describe_lists_identity_capabilities_models_and_status():
    described = Gone().describe()
    assert described["id"] == "gone" and described["label"] == "Gone Service"
    assert described["capabilities"] == ["text"]
    assert described["models"] == {"text": ["small", "large"]}
    assert described["default_models"] == {"text": "large"}
    assert (described["availability"], described["credential"]) == ("gone", None)


@pytest.mark.parametrize("status, kind, words", [
    (401, AuthRequiredError, "sign-in required"),
    (402, PaymentRequiredError, "out of credits"),
    (403, ForbiddenError, "access denied"),
    (404, ModelNotSupportedError, "model not supported"),
    (410, GoneError, "no longer served"),
    (429, RateLimitedError, "rate limited"),
    (400, BadRequestError, "rejected the request"),
    (500, UnavailableError, "unavailable"),
    (503, UnavailableError, "unavailable"),
    (302, ProtocolError, "unexpected response"),
])
def test_http_statuses_map_to_typed_errors(status, kind, words):
    error = error_for_status("Example", status, "details here")
    assert type(error) is kind
    assert str(error).startswith("Example: ") and words in str(error)
    assert "details here" in str(error)


def test_rate_limit_carries_retry_after():
    error = error_for_status("Example", 429, retry_after="12")
    assert isinstance(error, RateLimitedError) and error.retry_after == 12
    assert "Try again in 12 s" in str(error)
    assert error_for_status("Example", 429, retry_after="soon").retry_after is None


def test_reply_accumulates_every_event_kind():
    reply = Reply()
    assert not reply.has_content
    for event in (ReasoningDelta("hm "), ReasoningDelta("ok"), TextDelta("Hel"), TextDelta("lo"),
                  Sources((Source("A", "https://a"),)), Sources((Source("A", "https://a"), Source("B", "https://b"))),
                  Title("Greeting"), Finish("length")):
        reply.apply(event)
    assert reply.reasoning == "hm ok" and reply.text == "Hello"
    assert [s.url for s in reply.sources] == ["https://a", "https://b"]
    assert reply.title == "Greeting" and reply.finish_reason == "length" and reply.has_content


def test_registry_filters_by_capability_and_looks_up_by_id():
    registry = Registry([TextOnly(), FakeProvider(), Gone()])
    assert [p.id for p in registry.for_capability(Capability.TEXT)] == ["text-only", "fake", "gone"]
    assert [p.id for p in registry.for_capability(Capability.IMAGE)] == ["fake"]
    assert registry.get("fake").label == "Fake Provider"
    with pytest.raises(UnknownProviderError, match="Unknown provider 'nope'. Available: text-only, fake, gone"):
        registry.get("nope")
    assert isinstance(UnknownProviderError("x"), InputError)


def test_registry_default_skips_providers_that_are_not_working():
    registry = Registry([Gone(), TextOnly()])
    assert registry.default_for(Capability.TEXT).id == "text-only"
    assert registry.default_for(Capability.IMAGE) is None


def test_registry_rejects_duplicate_ids():
    with pytest.raises(ValueError, match="Duplicate"):
        Registry([TextOnly(), TextOnly()])


def test_extra_providers_and_selection_come_from_settings(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_EXTRA_PROVIDERS", "tests.support.fake_provider:FakeProvider, tests.test_contract:Gone")
    monkeypatch.setenv("PLAYGROUND_PROVIDERS", "gone,fake")
    assert build_registry().ids() == ["gone", "fake"]


def test_a_broken_extra_provider_is_left_out(monkeypatch, caplog):
    monkeypatch.setenv("PLAYGROUND_EXTRA_PROVIDERS", "tests.support.fake_provider:Missing,tests.support.fake_provider:FakeProvider")
    monkeypatch.setenv("PLAYGROUND_PROVIDERS", "fake")
    assert build_registry().ids() == ["fake"]
    assert "Could not load provider tests.support.fake_provider:Missing" in caplog.text


class SelfHosted(TextOnly):
    id = "self-hosted"
    label = "Self Hosted"
    listed_only_when_configured = True

    def is_configured(self) -> bool:
        import os
        return bool(os.environ.get("SELF_HOSTED_URL"))


def test_providers_that_need_configuration_are_listed_only_when_configured(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_EXTRA_PROVIDERS", "tests.test_contract:SelfHosted,tests.test_contract:TextOnly")
    monkeypatch.setenv("PLAYGROUND_PROVIDERS", "self-hosted,text-only")
    monkeypatch.delenv("SELF_HOSTED_URL", raising=False)
    assert build_registry().ids() == ["text-only"]
    monkeypatch.setenv("SELF_HOSTED_URL", "http://127.0.0.1:1")
    assert build_registry().ids() == ["self-hosted", "text-only"]
