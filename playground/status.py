"""A provider's availability in words, as pickers and the Settings tab show it (no gradio here)."""

from __future__ import annotations

import asyncio
import logging

from providers import Availability, Provider, ProviderState, Visitor

logger = logging.getLogger(__name__)

#: How each availability reads in a picker label and the status table.
WORDS: dict[Availability, str] = {
    Availability.READY: "ready",
    Availability.NEEDS_SIGN_IN: "needs sign-in",
    Availability.NOT_CONFIGURED: "not configured",
    Availability.UNREACHABLE: "unreachable",
    Availability.GONE: "not working",
}


def provider_state(provider: Provider, visitor: Visitor | None = None) -> ProviderState:
    """The provider's availability for `visitor`; a broken check reads as unreachable, never breaks the page."""
    try:
        return provider.availability(visitor)
    except Exception:
        logger.exception("Checking the availability of %s failed", provider.label)
        return ProviderState(Availability.UNREACHABLE, "its status check failed")


def provider_label(provider: Provider, visitor: Visitor | None = None) -> str:
    """"Label" when ready for this visitor, else "Label (needs sign-in)" and so on."""
    state = provider_state(provider, visitor)
    return provider.label if state.ready else f"{provider.label} ({WORDS[state.availability]})"


def status_rows(providers: list[Provider], visitor: Visitor | None = None) -> list[list[str]]:
    """Rows of [provider, offers, status, note] for the status table, as `visitor` sees them."""
    rows = []
    for provider in providers:
        offers = ", ".join(sorted(c.value for c in provider.capabilities))
        state = provider_state(provider, visitor)
        note = state.reason if not state.ready and state.reason != provider.note else ""
        rows.append([provider.label, offers, WORDS[state.availability],
                     " ".join(part for part in (note, provider.note) if part)])
    return rows


class StatusChecks:
    """"Refresh status" for everyone: the providers' checks, run at most once per `min_interval` seconds.

    Any visitor may press the button; the checks are shared (they make network calls), so a
    click within the interval reuses the last results instead of checking again.
    """

    def __init__(self, providers: list[Provider], *, timeout: float, min_interval: float) -> None:
        self.providers = providers
        self.timeout = timeout
        self.min_interval = min_interval
        self._last = float("-inf")
        self._lock: asyncio.Lock | None = None

    async def run(self) -> None:
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            loop = asyncio.get_running_loop()
            if loop.time() - self._last < self.min_interval:
                return
            await check_all(self.providers, self.timeout)
            self._last = loop.time()


async def check_all(providers: list[Provider], timeout: float) -> None:
    """Run every provider's status check at once, each bounded by `timeout` seconds."""
    async def one(provider: Provider) -> None:
        try:
            await asyncio.wait_for(provider.check(), timeout)
        except asyncio.TimeoutError:
            provider.unreachable(f"no answer within {timeout:g} s")
        except Exception:
            logger.exception("The status check of %s failed", provider.label)
    await asyncio.gather(*(one(p) for p in providers))
