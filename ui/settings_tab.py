"""Settings tab: the visitor's credentials (session-only, optionally remembered) and provider status."""

from __future__ import annotations

import gradio as gr

from providers import Visitor

from .context import AppContext
from .status import status_rows

REMEMBER_KEY = "playground_credentials"
_FORGOTTEN = {"remember": False}  # Gradio never writes an empty value, so "forget" is a marker


def credentials_summary(visitor: Visitor, *, signed_in_with_hf: bool = False) -> str:
    token = "signed in with Hugging Face" if signed_in_with_hf else (
        "set" if visitor.hf_token else "not set")
    cookie = "set" if visitor.huggingchat_cookie else "not set"
    return f"This session: Hugging Face token **{token}** · HuggingChat cookie **{cookie}**."


def build_settings_tab(ctx: AppContext, demo: gr.Blocks) -> None:
    gr.Markdown("### Your credentials\nUsed only for your session and never logged. "
                "Providers marked *needs sign-in* use them.")
    if ctx.settings.oauth:
        gr.LoginButton("Sign in with Hugging Face")
        token = gr.Textbox(visible=False, label="Hugging Face token")
    else:
        token = gr.Textbox(label="Hugging Face token", type="password", placeholder="hf_…",
                           info="Create one at huggingface.co/settings/tokens (read access is enough).")
    cookie = gr.Textbox(label="HuggingChat cookie", type="password", placeholder="hf-chat cookie value",
                        info="The value of the hf-chat cookie from huggingface.co/chat.")
    remember = gr.Checkbox(label="Remember in this browser", value=False,
                           info="Keeps them, encrypted, in this browser's storage. Not on shared computers.")
    summary = gr.Markdown(label="Credentials in use")
    stored = gr.BrowserState(_FORGOTTEN, storage_key=REMEMBER_KEY, secret=ctx.settings.browser_secret)
    restored = gr.State(False)

    gr.Markdown("### Providers")
    table = gr.Dataframe(status_rows(ctx.registry.all()), headers=["Provider", "Offers", "Status", "Note"],
                         label="Provider status", interactive=False, wrap=True)
    with gr.Row():
        refresh = gr.Button("Refresh status", size="sm", scale=0, min_width=140)

    def apply(hf_token: str, hf_cookie: str, keep: bool, request: gr.Request,
              oauth_token: gr.OAuthToken | None = None):
        visitor = ctx.visitor(request)
        signed_in = oauth_token is not None
        visitor.set_credentials(hf_token=oauth_token.token if signed_in else hf_token,
                                huggingchat_cookie=hf_cookie)
        saved = {"remember": True, "hf_token": "" if signed_in else (hf_token or "").strip(),
                 "huggingchat_cookie": (hf_cookie or "").strip()} if keep else _FORGOTTEN
        # `True` for `restored`: once the visitor has entered something, a later change of the stored
        # value (this very write) must never restore older values over what they typed.
        return saved, credentials_summary(visitor, signed_in_with_hf=signed_in), True

    def restore(saved: dict | None, done: bool, request: gr.Request, oauth_token: gr.OAuthToken | None = None):
        """On page load: take credentials remembered in this browser (once) and any Hugging Face sign-in."""
        visitor = ctx.visitor(request)
        signed_in = oauth_token is not None
        saved = saved if isinstance(saved, dict) else {}
        if done or not saved.get("remember"):
            if signed_in:
                visitor.set_credentials(hf_token=oauth_token.token, huggingchat_cookie=visitor.huggingchat_cookie)
            return (gr.update(), gr.update(), gr.update(), credentials_summary(visitor, signed_in_with_hf=signed_in),
                    done)
        hf_token = saved.get("hf_token") or ""
        hf_cookie = saved.get("huggingchat_cookie") or ""
        visitor.set_credentials(hf_token=oauth_token.token if signed_in else hf_token, huggingchat_cookie=hf_cookie)
        return hf_token, hf_cookie, True, credentials_summary(visitor, signed_in_with_hf=signed_in), True

    # Applied when the visitor has finished typing (Enter or leaving the field), never per keystroke:
    # each applied value is registered for log redaction. Restoring the fields fires none of these.
    # Ticking "Remember" right after typing fires the field's blur and then the tick: "always_last" runs
    # them one after the other, the tick with the values of that moment, so neither is lost or reordered.
    gr.on([token.submit, token.blur, cookie.submit, cookie.blur, remember.input], apply,
          inputs=[token, cookie, remember], outputs=[stored, summary, restored], api_visibility="private", queue=False,
          show_progress="hidden", trigger_mode="always_last")
    gr.on([demo.load, stored.change], restore, inputs=[stored, restored], outputs=[token, cookie, remember, summary, restored],
          api_visibility="private", queue=False, show_progress="hidden")
    refresh.click(lambda: status_rows(ctx.registry.all()), None, table, api_visibility="private", queue=False)
