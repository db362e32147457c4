"""Chat first, at a desktop and a phone size: the message box in view and keeping focus, every tab
visible, history in a drawer on a phone, parameters beside the chat, conversations that keep their
provider, model and parameters, failed prompts never re-sent."""

from __future__ import annotations

import re

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.browser.conftest import app_context
from tests.browser.helpers import bot_texts, choose, open_app, open_tab, shot, wait_answered


def message_box(page: Page, tab_id: str):
    return page.locator(f"#tab-{tab_id} .chat-input textarea").first


#: True once the element has stayed wholly inside the unscrolled window, unmoved, for 10 animation frames.
_SETTLED_IN_VIEW = """(selector) => {
  const element = document.querySelector(selector);
  if (!element) return false;
  const r = element.getBoundingClientRect();
  const inside = window.scrollY === 0 && r.top >= 0 && r.bottom <= window.innerHeight
    && r.left >= 0 && r.right <= window.innerWidth;
  const where = [r.top, r.bottom, r.left, r.right].join();
  const seen = window.__settled && window.__settled.selector === selector ? window.__settled : {selector, where: ""};
  seen.frames = inside && seen.where === where ? seen.frames + 1 : (inside ? 1 : 0);
  seen.where = where;
  window.__settled = seen;
  return seen.frames >= 10;
}"""


def assert_in_viewport(page: Page, tab_id: str) -> None:
    """The message box lies wholly inside the window, with the page not scrolled, once the layout has
    settled (the page sizes the conversation after whatever shows above it, such as a banner that
    arrives with the first server answer, so a single look could catch the moment before)."""
    selector = f"#tab-{tab_id} .chat-input"
    try:
        page.wait_for_function(_SETTLED_IN_VIEW, arg=selector, polling="raf", timeout=30_000)
    except PlaywrightTimeoutError:
        box = page.locator(selector).first.bounding_box()
        raise AssertionError(f"the message box never settled inside the window: {box}, {page.viewport_size}, "
                             f"scrolled {page.evaluate('window.scrollY')}") from None


def type_and_send(page: Page, tab_id: str, text: str) -> None:
    box = message_box(page, tab_id)
    box.click()
    box.fill(text)
    box.press("Enter")


def test_message_box_in_view_and_focused_after_enter(sized, screenshots):
    page, size = sized
    open_app(page)
    expect(message_box(page, "text")).to_be_visible()
    assert_in_viewport(page, "text")
    panel = page.locator("#tab-text")
    choose(panel, "Model", "slow")
    type_and_send(page, "text", "count 120")  # 6 s of streaming: time to type while it runs, on a busy machine too
    expect(panel.locator(".stop-button:visible")).to_have_count(1)
    # Focus stays in the box while the answer streams, and what is typed meanwhile is kept...
    assert page.evaluate("document.activeElement === document.querySelector('#tab-text .chat-input textarea')")
    page.keyboard.type("next question")
    page.keyboard.press("Enter")  # ...and Enter does not send it while the answer streams
    expect(panel.locator(".stop-button:visible")).to_have_count(1)  # (it was still streaming)
    wait_answered(panel, "Fake Provider · slow")
    expect(panel.get_by_test_id("user")).to_have_count(1)
    expect(message_box(page, "text")).to_have_value("next question")
    assert page.evaluate("document.activeElement === document.querySelector('#tab-text .chat-input textarea')")
    assert_in_viewport(page, "text")
    shot(page, screenshots, f"text-chat-{size}")

    page.keyboard.press("Enter")  # sent once the answer is done
    expect(panel.get_by_test_id("user")).to_have_count(2)
    expect(panel.get_by_test_id("user").last).to_contain_text("next question")

    open_tab(page, "Vision chat", "vision")
    expect(message_box(page, "vision")).to_be_visible()
    assert_in_viewport(page, "vision")
    shot(page, screenshots, f"vision-chat-{size}")


def test_every_tab_visible_without_an_overflow_menu(sized):
    page, _ = sized
    open_app(page)
    for name in ("Text chat", "Vision chat", "Text-to-image", "Compare", "Settings"):
        expect(page.get_by_role("tab", name=name)).to_be_visible()
        expect(page.get_by_role("tab", name=name)).to_be_in_viewport(ratio=1)
    expect(page.get_by_label("More tabs")).to_be_hidden()


def test_parameters_beside_the_chat_on_desktop_and_a_closed_section_on_a_phone(sized):
    page, size = sized
    open_app(page)
    temperature = page.locator("#tab-text").get_by_label("number input for Temperature")
    if size == "desktop":
        expect(temperature).to_be_visible()
        chat = page.locator("#tab-text .playground-chatbot").first.bounding_box()
        panel = page.locator("#tab-text .parameters-panel").first.bounding_box()
        assert panel["x"] >= chat["x"] + chat["width"]  # on the right of the conversation
        expect(page.locator("#tab-text .history-toggle")).to_be_hidden()
    else:
        label = page.locator("#tab-text .parameters-panel .label-wrap").first
        expect(label).not_to_have_class(re.compile(r"\bopen\b"))  # closed once the page told its width
        expect(temperature).to_be_hidden()
        label.click()
        expect(temperature).to_be_visible()


def test_history_in_a_drawer_on_a_phone(browser, app_url):
    context = app_context(browser, app_url, "phone")
    page = context.new_page()
    try:
        open_app(page)
        panel = page.locator("#tab-text")
        new_chat = panel.get_by_role("button", name="New chat")
        expect(new_chat).to_be_hidden()
        type_and_send(page, "text", "first conversation")
        wait_answered(panel, "Fake Provider · echo")
        panel.locator(".history-toggle").click()
        expect(new_chat).to_be_visible()
        expect(panel.locator(".history-drawer").get_by_text("first conversation")).to_be_visible()
        new_chat.click()
        expect(new_chat).to_be_hidden()  # picking closes the drawer
        expect(panel.get_by_test_id("user")).to_have_count(0)
    finally:
        context.close()


def test_a_conversation_keeps_its_provider_model_and_parameters(page):
    open_app(page)
    panel = page.locator("#tab-text")
    choose(panel, "Model", "slow")
    temperature = panel.get_by_label("number input for Temperature")
    temperature.fill("1.3")
    temperature.press("Enter")
    type_and_send(page, "text", "remember me")
    wait_answered(panel, "Fake Provider · slow")
    expect(panel.locator(".history-drawer tr")).to_have_count(1)  # saved

    panel.get_by_role("button", name="New chat").click()
    choose(panel, "Model", "echo")
    temperature.fill("0.2")
    temperature.press("Enter")
    type_and_send(page, "text", "another one")
    wait_answered(panel, "Fake Provider · echo")

    # Picking the earlier conversation brings back its model and temperature.
    expect(panel.locator(".history-drawer tr")).to_have_count(2)  # both are saved
    panel.locator(".history-drawer").get_by_text("remember me").click()
    expect(panel.get_by_test_id("user").first).to_contain_text("remember me")
    expect(panel.get_by_label("Model", exact=True)).to_have_value("slow")
    expect(temperature).to_have_value("1.3")

    # After a reload the open conversation comes back with its choices (the latest saved one).
    page.reload()
    open_app(page)
    expect(panel.get_by_test_id("user").first).to_contain_text("another one")
    expect(panel.get_by_label("Model", exact=True)).to_have_value("echo")
    expect(temperature).to_have_value("0.2")


def test_a_failed_prompt_is_not_sent_again(page):
    open_app(page)
    panel = page.locator("#tab-text")
    type_and_send(page, "text", "fail:down")
    expect(panel.get_by_test_id("bot").first).to_contain_text("Fake Provider")
    type_and_send(page, "text", "turns?")
    # The fake provider answers with the number of messages it received: only this one.
    expect(panel.get_by_test_id("bot").filter(has_text="turns").first).to_contain_text("1 turns")
    assert not any("fail:down" in text for text in bot_texts(panel))
    expect(panel.get_by_test_id("user")).to_have_count(2)  # the failed prompt stays on the page


def test_a_refused_token_offers_open_settings(sized):
    """With a token the banner is gone; a turn whose token is refused brings it back, and its
    button leads to Settings."""
    page, _ = sized
    open_app(page)
    banner = page.locator("#signin-banner")
    expect(banner).to_be_visible()
    settings = open_tab(page, "Settings", "settings")
    settings.get_by_placeholder("hf_…").fill("hf_refused_in_the_browser")
    settings.get_by_placeholder("hf_…").press("Enter")
    expect(banner).to_be_hidden()
    open_tab(page, "Text chat", "text")
    type_and_send(page, "text", "fail:token")
    expect(page.locator("#tab-text").get_by_test_id("bot").first).to_contain_text("Fake Provider")
    expect(banner).to_be_visible()
    page.locator("#signin-banner-open").click()
    expect(page.get_by_role("tab", name="Settings")).to_have_attribute("aria-selected", "true")
