"""Smaller items in a real browser: Copy link says "Copied ✓" without moving the page (and shows the link
when the clipboard is refused), the arena's panels are named after the vote, and one "Settings" only."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import VIEWPORTS, app_context


def _copy_button(page: Page):
    return page.get_by_role("button", name=re.compile(r"^(Copy link|Copied ✓)$"))


def _open_settled(page: Page) -> None:
    """Open the app and wait for its load-time layout: the sign-in banner above the tabs shows (this app
    lists Hugging Face, which this visitor has no token for), so any later move is the click's doing."""
    page.goto("/")  # a first load on a busy machine can take a while
    expect(page.get_by_role("tab", name="Text chat")).to_be_visible(timeout=30_000)
    expect(page.locator("#signin-banner")).to_be_visible(timeout=15_000)


def _panel_top(page: Page) -> float:
    return page.locator("#tab-text").bounding_box()["y"]


@pytest.mark.parametrize("size", VIEWPORTS)
def test_copy_link_says_copied_and_the_page_stays_put(browser, app_url, size, screenshots):
    context = app_context(browser, app_url, size, permissions=["clipboard-read", "clipboard-write"])
    try:
        page = context.new_page()
        _open_settled(page)
        button = _copy_button(page)
        expect(button).to_have_text("Copy link")
        top = _panel_top(page)
        button.click()
        expect(button).to_have_text("Copied ✓")  # shown after the server built the link: nothing else is coming
        page.screenshot(path=str(screenshots / f"copy-link-{size}.png"))
        assert _panel_top(page) == top  # the Text chat panel did not move
        expect(page.get_by_label("Link to this tab, provider and model")).to_have_count(0)
        assert page.evaluate("navigator.clipboard.readText()") == f"{app_url}?tab=text&provider=fake&model=echo"
        expect(button).to_have_text("Copy link")  # back after a moment
        assert _panel_top(page) == top
    finally:
        context.close()


@pytest.mark.parametrize("size", VIEWPORTS)
def test_a_refused_clipboard_shows_the_link_to_copy_by_hand(browser, app_url, size, screenshots):
    context = app_context(browser, app_url, size)
    # The browser refuses the clipboard, as it may without permission or outside a user gesture.
    context.add_init_script("navigator.clipboard.writeText = () => "
                            "Promise.reject(new DOMException('Write permission denied.', 'NotAllowedError'));")
    try:
        page = context.new_page()
        _open_settled(page)
        top = _panel_top(page)
        _copy_button(page).click()
        shown = page.get_by_role("dialog", name="Link to this view").get_by_role("textbox")
        expect(shown).to_have_value(f"{app_url}?tab=text&provider=fake&model=echo")
        expect(shown).to_be_focused()  # selected, ready for Ctrl+C
        expect(shown).to_be_in_viewport()
        page.screenshot(path=str(screenshots / f"copy-link-refused-{size}.png"))
        assert _panel_top(page) == top
        expect(_copy_button(page)).to_have_text("Copy link")
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog", name="Link to this view")).to_have_count(0)
    finally:
        context.close()


def test_one_settings_on_the_page(page):
    _open_settled(page)
    named = re.compile(r"^Settings\b")  # Gradio's footer button reads "Settings" (its icon too)
    expect(page.get_by_role("tab", name=named)).to_have_count(1)
    expect(page.get_by_role("tab", name="Settings", exact=True)).to_be_visible()
    for role in ("button", "link", "menuitem"):  # Gradio's footer has no Settings link of its own
        expect(page.get_by_role(role, name=named)).to_have_count(0)
    footer = page.locator("footer")
    expect(footer.get_by_text("Use via API")).to_be_visible()
    expect(footer.get_by_text("Built with Gradio")).to_be_visible()


def test_arena_panels_are_named_after_the_vote_and_anonymous_again_for_the_next_battle(page):
    _open_settled(page)
    page.get_by_role("tab", name="Compare", exact=True).click()
    page.get_by_role("tab", name="Blind arena", exact=True).click()
    labels = [page.locator(f"#arena-{side}").get_by_test_id("block-label") for side in "ab"]
    vote_a = page.locator("#arena-vote-a")
    prompt, send = page.locator("#arena-prompt textarea"), page.locator("#arena-send")

    prompt.fill("who are you?")
    send.click()
    expect(vote_a).to_be_enabled(timeout=20_000)
    expect(labels[0]).to_have_text("Model A")
    expect(labels[1]).to_have_text("Model B")
    vote_a.click()
    reveal = page.locator("#arena-reveal")
    expect(reveal).to_contain_text("Model A was Fake Provider")
    a, b = re.search(r"Model A was Fake Provider · (\S+?); Model B was Fake Provider · (\S+?)\.",
                     reveal.inner_text()).groups()
    expect(labels[0]).to_have_text(f"Fake Provider · {a}")
    expect(labels[1]).to_have_text(f"Fake Provider · {b}")

    prompt.fill("and now?")  # the next prompt starts a new, anonymous battle
    send.click()
    expect(labels[0]).to_have_text("Model A")
    expect(labels[1]).to_have_text("Model B")
    expect(vote_a).to_be_enabled(timeout=20_000)
    vote_a.click()
    expect(labels[0]).to_have_text(re.compile(r"^\s*Fake Provider · "))
    page.locator("#arena-new").click()  # New battle: anonymous again
    expect(labels[0]).to_have_text("Model A")
    expect(labels[1]).to_have_text("Model B")
