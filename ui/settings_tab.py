"""Settings tab: the visitor's credentials (session-only, optionally remembered) and provider status.

The credential fields are built from what the listed providers declare (`Provider.credential`),
so a provider with a credential of its own needs no change here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from playground.status import status_rows
from providers import Visitor
from providers.credentials import Credential

from .context import AppContext

REMEMBER_KEY = "playground_credentials"
_FORGOTTEN = {"remember": False}  # Gradio never writes an empty value, so "forget" is a marker
STATUS_HEADERS = ["Provider", "Offers", "Status", "Note"]


@dataclass
class SettingsTab:
    """What other parts of the app wire to: `changed` updates whenever the visitor's credentials do."""

    changed: gr.Markdown
    table: gr.Dataframe
    #: The page-load step that restores remembered credentials (chain what depends on them after it).
    loaded: Any


def credentials_summary(visitor: Visitor, credentials: list[Credential], *,
                        signed_in_with_hf: bool = False) -> str:
    """"This session: Hugging Face token **set** · …", saying when the app's shared one is used."""
    parts = []
    for credential in credentials:
        if signed_in_with_hf and credential.from_sign_in:
            state = "signed in with Hugging Face"
        elif credential.own(visitor):
            state = "set"
        elif credential.value_for(visitor):
            state = "not set (this app's shared one is used)"
        else:
            state = "not set"
        parts.append(f"{credential.label} **{state}**")
    return "This session: " + " · ".join(parts) + "." if parts else "No provider here needs credentials."


def build_settings_tab(ctx: AppContext, demo: gr.Blocks) -> SettingsTab:
    credentials = ctx.registry.credentials()
    gr.Markdown("### Your credentials\nUsed only for your session and never logged. "
                "Providers marked *needs sign-in* use them.")
    fields: dict[str, gr.Textbox] = {}
    for credential in credentials:
        if ctx.settings.oauth and credential.from_sign_in:
            gr.LoginButton("Sign in with Hugging Face")
            fields[credential.key] = gr.Textbox(visible=False, label=credential.label)
        else:
            fields[credential.key] = gr.Textbox(label=credential.label, type="password",
                                                placeholder=credential.placeholder, info=credential.help)
    remember = gr.Checkbox(label="Remember in this browser", value=False,
                           info="Keeps them, encrypted, in this browser's storage. Not on shared computers.")
    summary = gr.Markdown(label="Credentials in use")
    stored = gr.BrowserState(_FORGOTTEN, storage_key=REMEMBER_KEY, secret=ctx.settings.browser_secret)
    restored = gr.State(False)

    gr.Markdown("### Providers")
    table = gr.Dataframe(status_rows(ctx.registry.all()), headers=STATUS_HEADERS,
                         label="Provider status", interactive=False, wrap=True)
    with gr.Row():
        refresh = gr.Button("Refresh status", size="sm", scale=0, min_width=140)

    def use(visitor: Visitor, typed: dict[str, str], oauth_token: gr.OAuthToken | None) -> None:
        """Give the visitor what they typed, with a Hugging Face sign-in taking the place of its field."""
        values = dict(typed)
        if oauth_token is not None:
            values.update({c.key: oauth_token.token for c in credentials if c.from_sign_in})
        visitor.set_credentials(**values)

    def shown(visitor: Visitor, signed_in: bool) -> tuple[str, list[list[str]]]:
        return (credentials_summary(visitor, credentials, signed_in_with_hf=signed_in),
                status_rows(ctx.registry.all(), visitor))

    def apply(values: dict, request: gr.Request, oauth_token: gr.OAuthToken | None = None):
        visitor = ctx.visitor(request)
        signed_in = oauth_token is not None
        typed = {key: (values.get(field) or "").strip() for key, field in fields.items()}
        use(visitor, typed, oauth_token)
        if values.get(remember):
            saved = {"remember": True, **{c.key: "" if signed_in and c.from_sign_in else typed[c.key]
                                           for c in credentials}}
        else:
            saved = _FORGOTTEN
        # `True` for `restored`: once the visitor has entered something, a later change of the stored
        # value (this very write) must never restore older values over what they typed.
        return saved, *shown(visitor, signed_in), True

    def restore(saved: dict | None, done: bool, request: gr.Request, oauth_token: gr.OAuthToken | None = None):
        """On page load: take credentials remembered in this browser (once) and any Hugging Face sign-in."""
        visitor = ctx.visitor(request)
        signed_in = oauth_token is not None
        saved = saved if isinstance(saved, dict) else {}
        if done or not saved.get("remember"):
            if signed_in:
                use(visitor, dict(visitor.credentials), oauth_token)
            return *[gr.update()] * (len(fields) + 1), *shown(visitor, signed_in), done
        typed = {key: str(saved.get(key) or "") for key in fields}
        use(visitor, typed, oauth_token)
        return *typed.values(), True, *shown(visitor, signed_in), True

    async def refresh_status(request: gr.Request) -> list[list[str]]:
        await ctx.status_checks.run()
        return status_rows(ctx.registry.all(), ctx.visitor(request))

    # Applied when the visitor has finished typing (Enter or leaving the field), never per keystroke:
    # each applied value is registered for log redaction. Restoring the fields fires none of these.
    # Ticking "Remember" right after typing fires the field's blur and then the tick: "always_last" runs
    # them one after the other, the tick with the values of that moment, so neither is lost or reordered.
    triggers = [event for field in fields.values() for event in (field.submit, field.blur)] + [remember.input]
    gr.on(triggers, apply, inputs={*fields.values(), remember}, outputs=[stored, summary, table, restored],
          api_visibility="private", queue=False, show_progress="hidden", trigger_mode="always_last")
    restore_outputs = [*fields.values(), remember, summary, table, restored]
    loaded = demo.load(restore, inputs=[stored, restored], outputs=restore_outputs,
                       api_visibility="private", queue=False, show_progress="hidden")
    stored.change(restore, inputs=[stored, restored], outputs=restore_outputs,
                  api_visibility="private", queue=False, show_progress="hidden")
    refresh.click(refresh_status, None, table, api_visibility="private")
    return SettingsTab(changed=summary, table=table, loaded=loaded)
