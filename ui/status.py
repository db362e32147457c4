"""A provider's state in words, as pickers and the Settings tab show it (no gradio here)."""

from __future__ import annotations

from providers import Provider

WORKING = "working"
NEEDS_SIGN_IN = "needs sign-in"
NOT_CONFIGURED = "not configured"
NOT_WORKING = "not working"


def provider_state(provider: Provider) -> str:
    """One of WORKING, NEEDS_SIGN_IN, NOT_CONFIGURED, NOT_WORKING."""
    try:
        status = provider.status()
    except Exception:  # a broken status check must not break the page
        return NOT_WORKING
    if not status.working:
        return NOT_WORKING
    if not status.configured:
        return NOT_CONFIGURED
    if status.needs_auth:
        return NEEDS_SIGN_IN
    return WORKING


def status_rows(providers: list[Provider]) -> list[list[str]]:
    """Rows of [provider, offers, state, note] for the status table."""
    rows = []
    for provider in providers:
        offers = ", ".join(sorted(c.value for c in provider.capabilities))
        rows.append([provider.label, offers, provider_state(provider), provider.note or ""])
    return rows
