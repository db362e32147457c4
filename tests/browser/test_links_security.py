"""A shared link or a typed model id shaped like an address never makes the server call that address.

The app runs as `python app.py` with the real Hugging Face adapter pointed at a local
stand-in (the configured server, trusted for the token) and a trap server playing the
attacker's host. A victim opens a crafted link, then chats: the trap must see nothing.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import APP_ENV
from tests.browser.helpers import open_app, send, wait_answered
from tests.support.hf_server import HfServer
from tests.support.servers import app_subprocess, serving
from tests.support.trap_server import TrapServer

OPERATOR_TOKEN = "hf_operatorTokenLINKS00000001"
VISION_MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"


@pytest.fixture(scope="module")
def servers():
    with serving(HfServer()) as hf, serving(TrapServer()) as trap:
        yield hf, trap


@pytest.fixture(scope="module")
def hf_app(servers, chromium_path):
    hf, _ = servers
    env = {**APP_ENV, "PLAYGROUND_PROVIDERS": "huggingface,fake", "HF_TOKEN": OPERATOR_TOKEN,
           "HF_INFERENCE_BASE_URL": hf.url, "HF_ENDPOINT": hf.url, "HF_TRUSTED_HOSTS": "127.0.0.1"}
    with app_subprocess(env=env, offline=True) as (url, _process):
        yield url


@pytest.fixture
def hf_page(browser, hf_app, servers):
    hf, trap = servers
    hf.requests.clear()
    trap.clear()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=hf_app)
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.mark.parametrize("hostile", ["{trap}/v1/chat/completions", "//{host}/steal", "../../v1/models"])
def test_a_shared_link_with_an_address_as_model_is_ignored(hf_page, servers, hostile, tmp_path):
    hf, trap = servers
    model = hostile.format(trap=trap.url, host=trap.url.split("://", 1)[1])
    open_app(hf_page, "?" + urlencode({"tab": "vision", "provider": "huggingface", "model": model}))
    panel = hf_page.locator("#tab-vision")
    expect(panel).to_be_visible()  # the link was applied (tab, provider and model arrive together)
    expect(panel.get_by_label("Provider", exact=True)).to_have_value(re.compile(r"^Hugging Face"))
    expect(panel.get_by_label("Model", exact=True)).to_have_value(VISION_MODEL)  # the bad ?model= is ignored

    photo = tmp_path / "photo.png"
    Image.new("RGB", (64, 48), (30, 120, 200)).save(photo)
    panel.locator("input[type=file]").first.set_input_files(str(photo))
    expect(panel.locator("[data-testid=textbox] img, .thumbnail-item img, img").first).to_be_visible()
    send(panel, "what is it?")
    wait_answered(panel, f"Hugging Face · {VISION_MODEL}")
    expect(panel.get_by_test_id("bot").first).to_contain_text("I got 1 image(s) about what is it?")
    assert [r.body["model"] for r in hf.calls("/v1/chat")] == [VISION_MODEL]
    assert trap.hits == []


def test_a_typed_address_as_model_is_refused_with_a_clear_error(hf_page, servers):
    hf, trap = servers
    open_app(hf_page)  # no link: nothing on load may reset the picker while the visitor types
    panel = hf_page.locator("#tab-text")
    expect(panel.get_by_label("Provider", exact=True)).to_have_value(re.compile(r"^Hugging Face"))
    model_box = panel.get_by_label("Model", exact=True)
    typed = f"{trap.url}/v1/chat/completions"
    model_box.fill(typed)
    model_box.press("Enter")
    model_box.blur()
    expect(model_box).to_have_value(typed)
    send(panel, "hello there")
    expect(panel.get_by_test_id("bot").filter(has_text="is not a model id").first).to_be_visible()
    expect(panel.locator(".stop-button:visible")).to_have_count(0)
    assert trap.hits == [] and hf.calls("/v1/chat") == []
