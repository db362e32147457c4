"""Auto: text chat with the first working, configured provider that produces an answer.

Providers are tried in the order of `AUTO_PROVIDERS` (comma-separated ids; by
default every text provider of the registry, in display order), each with its
default text model. A provider that fails before any content is skipped; an
error after content started is reported, not retried elsewhere (the partial
answer stays). When every provider fails, one error lists each with its cause.
The provider and model that answered come as an `Attribution` event before the
answer (shown in the answer's caption and the API's metadata, never in its text).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace

from .base import Availability, Capability, ChatRequest, Provider, ProviderState
from .errors import NotConfiguredError, PlaygroundError, ProtocolError, UnavailableError, internal_error
from .events import Attribution, ChatEvent, Finish, ImageOutput, ReasoningDelta, Status, TextDelta
from .registry import Registry, select_by_setting
from .session import Visitor
from .streams import aclose_quietly

logger = logging.getLogger(__name__)

class AllProvidersFailedError(UnavailableError):
    """Every provider Auto tried failed; `errors` holds each one's error.

    The visitor reads one short line (how many were tried, and the first cause); the log reads them all.
    """

    summary = "no provider could answer"

    def __init__(self, provider: str, errors: list[PlaygroundError]) -> None:
        self.errors = list(errors)
        super().__init__(provider, "; ".join(str(e) for e in self.errors))

    @property
    def failures(self) -> list[str]:
        """Each provider's failure as the visitor reads it."""
        return [e.user_message for e in self.errors]

    def _compose(self) -> str:
        return "\n".join([f"{self.provider}: {self.summary}."] + [f"- {e}" for e in self.errors])

    @property
    def user_message(self) -> str:
        count = len(self.errors)
        first = self.errors[0].user_message if self.errors else "none is configured."
        return f"{self.provider} tried {count} provider{'' if count == 1 else 's'}; none answered: {first}"


class AutoProvider(Provider):
    id = "auto"
    label = "Auto"
    capabilities = frozenset({Capability.TEXT})
    models = {Capability.TEXT: ["auto"]}
    delegating = True
    note = "Tries the working providers in turn (AUTO_PROVIDERS) and says which one answered."

    def __init__(self, registry: Registry | None = None) -> None:
        self._registry = registry

    def attach_registry(self, registry: Registry) -> None:
        """Called by the Registry that holds this provider."""
        if self._registry is None:
            self._registry = registry

    def candidates(self, visitor: Visitor | None = None) -> list[Provider]:
        """The providers to try for `visitor`, in order: those ready, then those last found unreachable."""
        if self._registry is None:
            return []
        pool = [p for p in self._registry.for_capability(Capability.TEXT)
                if not p.delegating]  # never another fallback provider (or itself)
        pool = select_by_setting(pool, "AUTO_PROVIDERS")
        states = [(p, p.availability(visitor).availability) for p in pool]
        return ([p for p, a in states if a is Availability.READY]
                + [p for p, a in states if a is Availability.UNREACHABLE])

    def availability(self, visitor: Visitor | None = None) -> ProviderState:
        if self.candidates(visitor):
            return ProviderState(Availability.READY)
        return ProviderState(Availability.NOT_CONFIGURED, "no provider it tries can answer you now")

    async def chat(self, request: ChatRequest, visitor: Visitor) -> AsyncIterator[ChatEvent]:
        candidates = self.candidates(visitor)
        if not candidates:
            raise NotConfiguredError(self.label, "no working provider is configured for text chat",
                                     hint="Configure a provider or list some in AUTO_PROVIDERS")
        failures: list[PlaygroundError] = []
        for provider in candidates:
            model = provider.default_model(Capability.TEXT)
            attempt = replace(request, model=model, capability=Capability.TEXT)
            yield Status(f"Trying {provider.label}…")
            held: list[ChatEvent] = []  # titles, sources... shown only if this provider answers
            started = False
            stream = provider.chat(attempt, visitor)
            try:
                async for event in stream:
                    if started:
                        yield event
                    elif _is_content(event):
                        started = True
                        logger.info("Auto: %s (%s) is answering", provider.label, model)
                        yield Attribution(provider.label, model, provider.id)
                        for pending in held:
                            yield pending
                        yield event
                    elif isinstance(event, Status):
                        yield event
                    elif not isinstance(event, Finish):
                        held.append(event)
            except PlaygroundError as exc:
                if started:
                    raise
                logger.info("Auto: %s failed (%s); trying the next provider", provider.label, exc)
                failures.append(exc)
                continue
            except Exception as exc:
                if started:
                    raise
                failures.append(internal_error(provider.label, exc))
                continue
            finally:
                await aclose_quietly(stream)
            if started:
                return
            failures.append(ProtocolError(provider.label, "the service returned an empty answer", cause="empty"))
        raise AllProvidersFailedError(self.label, failures)


def _is_content(event: ChatEvent) -> bool:
    if isinstance(event, (TextDelta, ReasoningDelta)):
        return bool(event.text)
    return isinstance(event, ImageOutput)
