"""The assembled app: tabs, no sign-in button off a Space, pickers by capability."""

from __future__ import annotations

import gradio as gr

from providers import Registry
from providers.huggingchat.provider import HuggingChatProvider
from providers.huggingface.provider import HuggingFaceProvider
from tests.support.fake_provider import FakeProvider
from ui.app import build_demo
from ui.config import AppSettings
from ui.deeplink import TABS


def test_local_app_has_token_field_and_no_login_button(monkeypatch):
    monkeypatch.delenv("SPACE_ID", raising=False)
    demo = build_demo(Registry([FakeProvider(), HuggingFaceProvider(), HuggingChatProvider()]),
                      AppSettings.from_env())
    blocks = list(demo.blocks.values())
    assert not any(isinstance(b, gr.LoginButton) for b in blocks)
    labels = {getattr(b, "label", None) for b in blocks}
    assert {"Hugging Face token", "HuggingChat cookie", "Remember in this browser", "Provider status",
            "Prompt", "Negative prompt", "Size", "Seed", "Randomise seed"} <= labels
    tab_ids = [b.id for b in blocks if isinstance(b, gr.Tab)]
    assert [t for t in tab_ids if t in TABS] == list(TABS)  # every deep-linkable tab, in page order
    token = next(b for b in blocks if getattr(b, "label", None) == "Hugging Face token")
    assert token.type == "password"


def test_every_input_is_labelled(monkeypatch):
    demo = build_demo(Registry([FakeProvider()]), AppSettings.from_env())
    kinds = (gr.Textbox, gr.Dropdown, gr.Slider, gr.Number, gr.Checkbox, gr.Radio, gr.Image, gr.Gallery,
             gr.MultimodalTextbox, gr.Chatbot, gr.File)
    unlabelled = [b for b in demo.blocks.values()
                  if isinstance(b, kinds) and b.visible is not False and not getattr(b, "label", None)]
    assert unlabelled == []
