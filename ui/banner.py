"""The sign-in banner: "Sign in or add a token to use Hugging Face models", with a button to Settings.

A toast cannot hold a button, so a credential the visitor can give (and that some listed provider needs)
is asked for here, between the header and the tabs. It shows on page load for a visitor without that
credential, hides once their credentials make those providers ready, and shows again when a turn fails
for want of a credential (`banner_for_error`).
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from playground.status import provider_state
from providers import Availability, PlaygroundError, Provider, Visitor

from .context import AppContext
from .inert import html_text
from .settings_tab import SettingsTab

SETTINGS_TAB = "settings"


@dataclass
class Banner:
    """The banner's parts: the row shown or hidden, its text and the "Open Settings" button."""

    row: gr.Row
    text: gr.Markdown
    button: gr.Button

    @property
    def outputs(self) -> list:
        """What `banner_update` and `banner_for_error` update, in order."""
        return [self.row, self.text]


def banner_text(labels: list[str]) -> str:
    """"Sign in or add a token to use Hugging Face models" for the providers named."""
    names = " and ".join(dict.fromkeys(labels))
    return f"**Sign in or add a token to use {html_text(names)} models**"


def waiting_for_sign_in(providers: list[Provider], visitor: Visitor | None) -> list[Provider]:
    """The providers that would answer `visitor` once they give a credential in Settings."""
    return [p for p in providers
            if p.credential is not None and provider_state(p, visitor).availability is Availability.NEEDS_SIGN_IN]


def banner_update(ctx: AppContext, visitor: Visitor | None) -> list[dict]:
    """Shown (naming the providers) while some listed provider waits for this visitor's credential, else hidden."""
    waiting = waiting_for_sign_in([p for p in ctx.registry.all() if not p.delegating], visitor)
    if not waiting:
        return [gr.update(visible=False), gr.update()]
    return [gr.update(visible=True), gr.update(value=banner_text([p.label for p in waiting]))]


def banner_for_error(exc: BaseException) -> list[dict]:
    """The banner for a failed turn: shown when a credential is the fix (`needs_credential`), else unchanged."""
    if isinstance(exc, PlaygroundError) and exc.needs_credential:
        return [gr.update(visible=True), gr.update(value=banner_text([getattr(exc, "provider", "these")]))]
    return [gr.update(), gr.update()]


def build_banner() -> Banner:
    """The banner, hidden until the page knows who the visitor is (place it above the tabs)."""
    with gr.Row(visible=False, elem_id="signin-banner", equal_height=True) as row:
        text = gr.Markdown(elem_id="signin-banner-text")
        button = gr.Button("Open Settings", variant="primary", size="sm", scale=0, min_width=140,
                           elem_id="signin-banner-open")
    return Banner(row, text, button)


def wire_banner(banner: Banner, ctx: AppContext, settings: SettingsTab, tabs: gr.Tabs) -> None:
    """Shown on load and whenever the visitor's credentials change; its button selects the Settings tab."""
    def update(request: gr.Request) -> list[dict]:
        return banner_update(ctx, ctx.visitor(request))

    settings.loaded.then(update, None, banner.outputs, api_visibility="private", queue=False,
                         show_progress="hidden")
    settings.changed.change(update, None, banner.outputs, api_visibility="private", queue=False,
                            show_progress="hidden")
    banner.button.click(lambda: gr.update(selected=SETTINGS_TAB), None, tabs, api_visibility="private",
                        queue=False, show_progress="hidden")
