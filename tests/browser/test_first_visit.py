"""A first visit without a Hugging Face token, at desktop and phone sizes: the sign-in banner leads to
Settings and leaves once a token is entered; providers that cannot answer are listed apart, not picked.

The app lists the fake provider, Hugging Face (needs a token) and H2o and FlowGPT (gone: no server set).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import APP_ENV, SCREENSHOTS, VIEWPORTS, app_context
from tests.browser.helpers import shot
from tests.support.servers import app_subprocess

BANNER_TEXT = "Sign in or add a token to use Hugging Face models"
LOADED = 30_000  # a first page load on a busy machine


def open_app(page: Page, query: str = "") -> None:
    page.goto("/" + query)
    expect(page.locator("#tab-text")).to_be_visible(timeout=LOADED)


@pytest.fixture(scope="module")
def first_visit_url(chromium_path):
    env = {**APP_ENV, "PLAYGROUND_PROVIDERS": "fake,huggingface,h2o,flowgpt"}
    with app_subprocess(env=env, offline=True, drop_env=("HF_TOKEN", "H2O_URL", "FLOWGPT_URL",
                                                         "HF_INFERENCE_BASE_URL", "SPACE_ID")) as (url, _):
        yield url


@pytest.fixture(params=list(VIEWPORTS))
def visit(browser, first_visit_url, request):
    context = app_context(browser, first_visit_url, request.param)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.viewport_name = request.param  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()


def test_the_banner_leads_to_settings_and_leaves_once_a_token_is_entered(visit: Page):
    page = visit
    open_app(page)
    banner = page.locator("#signin-banner")
    expect(banner).to_be_visible(timeout=LOADED)
    expect(banner).to_contain_text(BANNER_TEXT)
    box = banner.bounding_box()
    tabs = page.locator("#tab-text").bounding_box()
    assert box is not None and tabs is not None and box["y"] < tabs["y"]  # above the tabs
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot(page, SCREENSHOTS, f"first-visit-banner-{page.viewport_name}")

    page.get_by_role("button", name="Open Settings").click()
    settings = page.locator("#tab-settings")
    expect(settings).to_be_visible()
    expect(page.locator("#tab-text")).to_be_hidden()

    field = settings.get_by_placeholder("hf_…")
    field.fill("hf_firstVisitBrowserToken0001")
    field.press("Enter")
    expect(settings).to_contain_text("Hugging Face token set")
    expect(banner).to_be_hidden()


def test_an_unavailable_provider_is_listed_apart_and_cannot_be_picked(visit: Page):
    page = visit
    open_app(page)
    panel = page.locator("#tab-text")
    expect(panel).to_contain_text("Unavailable: H2o (not working), FlowGPT (not working)", timeout=LOADED)
    panel.get_by_label("Provider", exact=True).click()
    options = page.get_by_role("option")
    expect(options.first).to_be_visible()
    names = [n.replace("✓", "").strip() for n in options.all_inner_texts()]  # the chosen one is ticked
    assert names == ["Fake Provider", "Hugging Face (needs sign-in)"], names  # ready first
    assert not any("H2o" in n or "FlowGPT" in n for n in names), names
    page.keyboard.press("Escape")


def test_a_link_naming_an_unavailable_provider_falls_back_with_a_note(visit: Page):
    page = visit
    open_app(page, "?tab=text&provider=h2o")
    expect(page.get_by_test_id("toast-body").filter(has_text="H2o (not working) cannot be used here now")
           ).to_be_visible(timeout=LOADED)
    expect(page.locator("#tab-text").get_by_label("Provider", exact=True)).to_have_value("Fake Provider")
