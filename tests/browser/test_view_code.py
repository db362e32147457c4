"""View code on Text chat: after a turn the panel shows the request as code, with the model id and no token."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.helpers import choose, open_app, open_tab, send, shot, wait_answered

TOKEN = "hf_viewCodeBrowserToken0002"


def test_view_code_shows_the_last_request_with_the_model_and_no_token(page: Page, screenshots):
    open_app(page)
    settings = open_tab(page, "Settings", "settings")
    field = settings.get_by_placeholder("hf_…")
    field.fill(TOKEN)
    field.press("Enter")
    expect(settings).to_contain_text("Hugging Face token set")

    panel = open_tab(page, "Text chat", "text")
    send(panel, "hello there")
    wait_answered(panel, "Fake Provider · echo")
    code = panel.locator("#text-code")
    expect(code).to_be_hidden()
    panel.locator("#text-view-code").click()
    expect(code).to_be_visible()
    # This app's own API for the fake provider (it has no public client), the conversation as sent.
    expect(code).to_contain_text('api_name="/chat"')
    expect(code).to_contain_text('model="echo"')
    expect(code).to_contain_text('"hello there"')
    expect(panel.get_by_label("Copy", exact=False).first).to_be_visible()

    panel.locator("#text-code-language").get_by_label("curl").check()
    expect(code).to_contain_text("gradio_api/call/chat")

    choose(panel, "Provider", "Hugging Face")
    model_box = panel.get_by_label("Model", exact=True)
    expect(model_box).not_to_have_value("echo")  # the provider's own models arrive
    model = model_box.input_value()
    panel.locator("#text-code-language").get_by_label("python").check()
    expect(code).to_contain_text(f'model="{model}"')
    expect(code).to_contain_text('os.environ["HF_TOKEN"]')
    expect(code).to_contain_text("https://router.huggingface.co")
    assert TOKEN not in code.inner_text()
    shot(page, screenshots, "view-code-text")

    panel.get_by_role("button", name="Close").click()
    expect(code).to_be_hidden()
