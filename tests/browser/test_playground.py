"""The playground in a real browser: chat, Stop, vision, images, errors, deep links, reloads."""

from __future__ import annotations

import re

from PIL import Image
from playwright.sync_api import expect

from tests.browser.helpers import bot_texts, choose, open_app, open_tab, send, shot, wait_answered

CAPTION = "Fake Provider · echo"


def test_streamed_chat_then_stop(page, screenshots):
    open_app(page)
    panel = page.locator("#tab-text")
    send(panel, "hello there")
    expect(panel.get_by_test_id("bot").first).to_contain_text("Echo: hello there")
    wait_answered(panel, CAPTION)
    expect(panel.get_by_test_id("bot").filter(has_text=re.compile(r"echo · [\d.]+ s to first token"))).to_have_count(1)
    shot(page, screenshots, "text-chat")

    choose(panel, "Model", "slow")
    send(panel, "count 400")  # 400 words x 0.05 s: far longer than the test waits
    stop = panel.locator(".stop-button:visible")
    expect(stop).to_have_count(1)
    expect(panel.get_by_test_id("bot").last).to_contain_text("w5")  # streaming has begun
    stop.click()
    expect(stop).to_have_count(0)
    stopped = bot_texts(panel)[-1]
    page.wait_for_timeout(600)  # > 10 more words' worth, had it kept going
    assert bot_texts(panel)[-1] == stopped
    assert "w399" not in stopped
    expect(panel.get_by_test_id("user")).to_have_count(2)


def test_vision_turn_with_image_then_follow_up(page, screenshots, tmp_path):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (640, 480), (30, 120, 200)).save(photo)
    open_app(page)
    panel = open_tab(page, "Vision chat", "vision")
    panel.locator("input[type=file]").first.set_input_files(str(photo))
    expect(panel.locator("[data-testid=textbox] img, .thumbnail-item img, img").first).to_be_visible()
    send(panel, "what is this?")
    wait_answered(panel, "Fake Provider · describe")
    expect(panel.get_by_test_id("bot").first).to_contain_text("I see 1 image(s): 640x480. You asked: what is this?")
    expect(panel.get_by_test_id("user").locator("img").first).to_be_visible()

    send(panel, "and the colour?")
    expect(panel.get_by_test_id("bot").filter(has_text="You asked: and the colour?")).to_contain_text(
        "I see 1 image(s): 640x480")  # the first image is sent again with the follow-up
    wait_answered(panel, "Fake Provider · describe")
    shot(page, screenshots, "vision-chat")


def test_image_generated_with_caption(page, screenshots):
    open_app(page)
    panel = open_tab(page, "Text-to-image", "image")
    panel.get_by_label("Prompt", exact=True).fill("a blue square")
    panel.get_by_text("16:9", exact=True).click()
    panel.get_by_label("Randomise seed").uncheck()
    panel.get_by_label("Seed", exact=True).fill("42")
    panel.get_by_role("button", name="Generate").click()
    caption = panel.locator("#image-caption")
    expect(caption).to_contain_text("Fake Provider · pattern · seed 42 · 1024×576", timeout=20_000)
    expect(panel.locator("[data-testid=image] img, .image-container img").first).to_be_visible()
    gallery = panel.locator(".grid-wrap img, .thumbnail-item img")
    expect(gallery.first).to_be_visible()
    size = panel.locator(".image-container img").first.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert size == [1024, 576]
    shot(page, screenshots, "text-to-image")
    generate = panel.get_by_role("button", name="Generate", exact=True)
    expect(generate).to_be_enabled()

    prompt = panel.get_by_label("Prompt", exact=True)
    prompt.fill("a red square")
    prompt.press("Enter")  # Enter generates
    expect(caption).to_contain_text("seed 42 · 1024×576", timeout=20_000)
    expect(gallery).to_have_count(2)
    expect(prompt).to_have_value("a red square")  # no new line was added
    expect(generate).to_be_enabled()  # back once the image is there


def test_error_toast_keeps_history(page, screenshots):
    open_app(page)
    panel = page.locator("#tab-text")
    send(panel, "first question")
    wait_answered(panel, CAPTION)
    send(panel, "fail-mid:down")
    expect(page.get_by_test_id("toast-body").filter(has_text="is unavailable right now")).to_be_visible()
    expect(panel.get_by_test_id("bot").filter(has_text="partial answer")).to_have_count(1)  # kept
    send(panel, "fail:rate")
    expect(page.get_by_test_id("toast-body").filter(has_text="is busy (rate limited)")).to_be_visible()
    expect(panel.get_by_test_id("bot").filter(has_text="Fake Provider is busy (rate limited)")).to_have_count(1)
    users = panel.get_by_test_id("user")
    expect(users).to_have_count(3)
    expect(users.first).to_contain_text("first question")
    expect(panel.get_by_test_id("bot").first).to_contain_text("Echo: first question")
    shot(page, screenshots, "error-toast")


def test_deep_link_preselects_tab_provider_and_model(page, screenshots):
    open_app(page, "?tab=vision&provider=fake&model=slow")
    expect(page.get_by_role("tab", name="Vision chat")).to_have_attribute("aria-selected", "true")
    panel = page.locator("#tab-vision")
    expect(panel.get_by_label("Provider", exact=True)).to_have_value("Fake Provider")
    expect(panel.get_by_label("Model", exact=True)).to_have_value("slow")
    # (Copy link builds such a link: tests/browser/test_small_items.py)

    open_app(page, "?tab=image&model=pattern")
    expect(page.get_by_role("tab", name="Text-to-image")).to_have_attribute("aria-selected", "true")
    open_app(page, "?tab=settings")
    expect(page.get_by_role("tab", name="Settings")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#tab-settings")).to_contain_text("ready")
    shot(page, screenshots, "settings")


def test_reload_keeps_history(page):
    open_app(page)
    panel = page.locator("#tab-text")
    send(panel, "remember this")
    wait_answered(panel, CAPTION)
    page.wait_for_timeout(500)  # the conversation is saved to browser storage after the turn
    page.reload()
    open_app(page)
    expect(panel.get_by_test_id("user").first).to_contain_text("remember this")
    expect(panel.get_by_test_id("bot").first).to_contain_text("Echo: remember this")
    send(panel, "and more")
    expect(panel.get_by_test_id("bot").filter(has_text="Echo: and more")).to_be_visible()
    expect(panel.get_by_test_id("user")).to_have_count(2)


def test_phone_width_layout(page, screenshots):
    page.set_viewport_size({"width": 390, "height": 844})
    open_app(page)
    panel = page.locator("#tab-text")
    send(panel, "hello from a phone")
    wait_answered(panel, CAPTION)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 2, f"the page scrolls sideways at phone width ({width}px)"
    shot(page, screenshots, "phone-text-chat")


def test_credentials_remembered_in_this_browser(page):
    restored = 30_000  # restoring after a reload waits for the page's load events: slow on a busy machine

    def stored() -> str | None:
        return page.evaluate("localStorage.getItem('playground_credentials')")

    def wait_until_stored_changes(before: str | None) -> None:
        page.wait_for_function("(before) => localStorage.getItem('playground_credentials') !== before",
                               arg=before, timeout=restored)

    open_app(page, "?tab=settings")
    panel = page.locator("#tab-settings")
    # Tick first, then type: the last write to local storage is then the one holding the token
    # (each write is encrypted afresh, so a change of the stored value marks each one).
    panel.get_by_label("Remember in this browser").check()
    wait_until_stored_changes(None)
    before = stored()
    panel.get_by_placeholder("hf_…").fill("hf_browser_test_token")
    panel.get_by_placeholder("hf_…").press("Enter")  # applied when typing ends (Enter or leaving the field)
    expect(panel).to_contain_text("Hugging Face token set")
    wait_until_stored_changes(before)
    page.reload()
    expect(panel.get_by_placeholder("hf_…")).to_have_value("hf_browser_test_token", timeout=restored)
    expect(panel).to_contain_text("Hugging Face token set", timeout=restored)
    assert "hf_browser_test_token" not in page.evaluate("JSON.stringify(localStorage)")  # stored encrypted
    page.reload()  # restoring did not forget them
    expect(panel.get_by_placeholder("hf_…")).to_have_value("hf_browser_test_token", timeout=restored)
    before = stored()
    panel.get_by_label("Remember in this browser").uncheck()
    wait_until_stored_changes(before)
    page.reload()
    expect(panel).to_contain_text("Hugging Face token not set", timeout=restored)  # the restore ran
    expect(panel.get_by_placeholder("hf_…")).to_have_value("")


def test_continue_is_offered_only_under_an_answer_cut_short(page):
    open_app(page)
    panel = page.locator("#tab-text")
    extend = panel.get_by_role("button", name="Continue the last answer")
    send(panel, "hello there")
    wait_answered(panel, CAPTION)
    expect(extend).to_be_hidden()  # the answer ended normally: nothing to continue
    send(panel, "cut: a story that runs out of tokens")
    wait_answered(panel, "cut short at the length limit")
    expect(extend).to_be_visible()
    extend.click()
    expect(panel.get_by_test_id("bot").filter(has_text="a story that runs out of tokens and so it continued.")
           ).to_have_count(1)
    expect(extend).to_be_hidden()  # the continuation was not cut short


def test_picker_labels_follow_the_visitors_credentials(page):
    open_app(page)
    text = page.locator("#tab-text")
    provider = text.get_by_label("Provider", exact=True)
    expect(provider).to_have_value("Fake Provider")  # the tab starts on a provider that can answer
    provider.click()
    expect(page.get_by_role("option", name="Hugging Face (needs sign-in)", exact=True)).to_be_visible()
    page.keyboard.press("Escape")
    settings = open_tab(page, "Settings", "settings")
    settings.get_by_placeholder("hf_…").fill("hf_browser_label_token")
    settings.get_by_placeholder("hf_…").press("Enter")
    expect(settings).to_contain_text("Hugging Face token set")
    open_tab(page, "Text chat", "text")
    provider.click()
    expect(page.get_by_role("option", name="Hugging Face", exact=True)).to_be_visible()


def test_a_failed_prompt_is_not_sent_with_the_next_one(page):
    open_app(page)
    panel = page.locator("#tab-text")
    send(panel, "fail:down")
    expect(panel.get_by_test_id("bot").filter(has_text="is unavailable right now")).to_have_count(1)
    expect(panel.locator(".stop-button:visible")).to_have_count(0)
    send(panel, "hello there")
    wait_answered(panel, CAPTION)
    answer = panel.get_by_test_id("bot").filter(has_text="Echo:").last
    expect(answer).to_have_text(re.compile(r"^\s*Echo: hello there\s*$"))  # not "Echo: fail:down hello there"
    expect(panel.get_by_test_id("user").filter(has_text="fail:down")).to_have_count(1)  # still shown
