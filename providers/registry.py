"""The registry: the one place that lists adapters.

Adding a provider = one adapter file + one line in `BUILTIN_PROVIDERS`.
Operators and tests may add more with `PLAYGROUND_EXTRA_PROVIDERS`
("module:Class,..."), and choose which are shown with `PLAYGROUND_PROVIDERS`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable

from .base import Availability, Capability, Provider
from .config import env_list
from .credentials import Credential
from .errors import UnknownProviderError
from .session import Visitor
from .settings import RegistrySettings

logger = logging.getLogger(__name__)

#: Built-in adapters as "module:Class", imported when the registry is first built.
BUILTIN_PROVIDERS: tuple[str, ...] = (
    "providers.huggingface.provider:HuggingFaceProvider",
    "providers.inference.openai_compat:OpenAICompatProvider",
    "providers.huggingchat.provider:HuggingChatProvider",
    "providers.h2o:H2oProvider",
    "providers.flowgpt:FlowGptProvider",
    "providers.spaces.phi4:Phi4Provider",
    "providers.spaces.flux:FluxSchnellProvider",
    "providers.spaces.flux:FluxDevProvider",
    "providers.auto:AutoProvider",
)


def load_class(spec: str) -> type[Provider]:
    module_name, _, attr = spec.partition(":")
    module = importlib.import_module(module_name)
    cls = getattr(module, attr)
    if not (isinstance(cls, type) and issubclass(cls, Provider)):
        raise TypeError(f"{spec} is not a Provider subclass")
    return cls


class Registry:
    """Providers by id, in display order."""

    def __init__(self, providers: Iterable[Provider]) -> None:
        self._providers: dict[str, Provider] = {}
        for provider in providers:
            if provider.id in self._providers:
                raise ValueError(f"Duplicate provider id {provider.id!r}")
            self._providers[provider.id] = provider
        for provider in self._providers.values():
            if provider.delegating:  # providers built on others (Auto) learn which registry holds them
                provider.attach_registry(self)

    def all(self) -> list[Provider]:
        return list(self._providers.values())

    def ids(self) -> list[str]:
        return list(self._providers)

    def for_capability(self, capability: Capability) -> list[Provider]:
        return [p for p in self._providers.values() if p.supports(capability)]

    def get(self, provider_id: str) -> Provider:
        provider = self._providers.get((provider_id or "").strip())
        if provider is None:
            raise UnknownProviderError(
                f"Unknown provider {provider_id!r}. Available: {', '.join(self._providers) or 'none'}."
            )
        return provider

    def default_for(self, capability: Capability, visitor: Visitor | None = None) -> Provider | None:
        """The first provider offering a capability that can answer `visitor` now.

        Failing that, the first one that could after sign-in or a retry, else the first listed.
        """
        candidates = self.for_capability(capability)
        states = [(p, p.availability(visitor).availability) for p in candidates]
        for wanted in (Availability.READY, Availability.NEEDS_SIGN_IN, Availability.UNREACHABLE):
            for provider, availability in states:
                if availability is wanted:
                    return provider
        return candidates[0] if candidates else None

    def credentials(self) -> list[Credential]:
        """Every credential the listed providers declare, once each, in display order."""
        declared = {p.credential.key: p.credential for p in self._providers.values() if p.credential}
        return list(declared.values())


def build_registry() -> Registry:
    """Instantiate the built-in and extra providers, honouring PLAYGROUND_PROVIDERS."""
    specs = list(BUILTIN_PROVIDERS) + list(RegistrySettings.current().extra_providers)
    providers: list[Provider] = []
    for spec in specs:
        try:
            provider = load_class(spec)()
        except Exception:
            logger.exception("Could not load provider %s; it is left out", spec)
            continue
        if provider.listed_only_when_configured and not provider.is_configured():
            continue
        providers.append(provider)
    return Registry(select_by_setting(providers, "PLAYGROUND_PROVIDERS"))


def select_by_setting(providers: list[Provider], setting: str) -> list[Provider]:
    """The providers a comma-separated id list setting names, in its order (all when unset).

    Unknown ids are logged and skipped; repeated ids count once.
    """
    chosen = env_list(setting)
    if not chosen:
        return providers
    by_id = {p.id: p for p in providers}
    unknown = [pid for pid in chosen if pid not in by_id]
    if unknown:
        logger.warning("%s names unknown providers: %s", setting, ", ".join(unknown))
    return [by_id[pid] for pid in dict.fromkeys(chosen) if pid in by_id]
