"""Text-to-image in a real browser, at 1280×900 and 390×844: progress and queue place while an image is
made, Cancel, a tall result that leaves its caption in view, the result first on a phone, and the
prompt in the caption and the gallery.

The fake provider's "progress" model waits in a pretend queue (3, 2, 1 of 7) and then counts 12 steps
(about 5 s in all); "slow" waits as long and reports nothing; "pattern" answers at once. What the status line showed is recorded in the page
(a MutationObserver), so no short-lived state is missed on a busy machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import VIEWPORTS, app_context
from tests.browser.helpers import choose, open_app, shot

#: Plain text that would be markup if it were rendered as such.
PROMPT = "a lighthouse <b>at dawn</b> *oil*"

RECORD_STATUS_JS = """() => {
  window.statusSeen = [];
  const status = document.getElementById("image-status");
  const note = () => window.statusSeen.push(status.innerText.trim());
  new MutationObserver(note).observe(status, {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request) -> str:
    return request.param


@pytest.fixture
def screen(browser, app_url, viewport) -> Iterator[Page]:
    """A fresh page at the viewport's size that can reach only the app."""
    yield from _screen(browser, app_url, viewport)


@pytest.fixture
def desktop(browser, app_url) -> Iterator[Page]:
    yield from _screen(browser, app_url, "desktop")


def _screen(browser, app_url: str, size: str) -> Iterator[Page]:
    context = app_context(browser, app_url, size)
    context.set_default_timeout(20_000)
    expect.set_options(timeout=15_000)  # the machine may be busy: waits end on what the page shows
    page = context.new_page()
    try:
        yield page
    finally:
        expect.set_options(timeout=5_000)  # Playwright's default, as the other modules expect
        context.close()


def _image_tab(page: Page, model: str):
    open_app(page, f"?tab=image&provider=fake&model={model}")
    panel = page.locator("#tab-image")
    expect(panel).to_be_visible()
    expect(panel.get_by_label("Model", exact=True)).to_have_value(model)
    page.evaluate(RECORD_STATUS_JS)
    return panel


def _saw(page: Page, pattern: str) -> None:
    """Wait until the status line has shown text matching `pattern` (from the page's own record)."""
    page.wait_for_function("(p) => window.statusSeen.some((t) => new RegExp(p).test(t))", arg=pattern)


def test_progress_and_queue_place_then_the_image_with_its_prompt(screen, viewport, screenshots):
    panel = _image_tab(screen, "progress")
    panel.get_by_label("Prompt", exact=True).fill(PROMPT)
    generate = panel.get_by_role("button", name=re.compile("^(Generate|Generating…)$"))
    panel.get_by_role("button", name="Generate", exact=True).click()
    status = screen.locator("#image-status")
    cancel = panel.get_by_role("button", name="Cancel")
    expect(cancel).to_be_visible()
    expect(generate).to_be_disabled()
    _saw(screen, r"^In queue: position \d of 7")
    _saw(screen, r"^Step \d+ of 12 · \d+%")
    expect(status.locator("progress[value]")).to_have_count(1)  # a bar filled by the steps
    if viewport == "phone":
        expect(status).to_be_in_viewport()  # brought into view: the result sits above the controls
    shot(screen, screenshots, f"text-to-image-progress-{viewport}")

    caption = panel.locator("#image-caption")
    expect(caption).to_contain_text(f"“{PROMPT}” · Fake Provider · progress · seed ", timeout=30_000)
    expect(caption.locator("b")).to_have_count(0)  # shown as typed, not rendered
    expect(panel.locator("#image-gallery")).to_contain_text(f"“{PROMPT}” · Fake Provider · progress")
    expect(generate).to_be_enabled()
    expect(generate).to_have_text("Generate")
    expect(cancel).to_be_hidden()
    expect(status).to_have_text("")
    assert any(re.match(r"^Step 12 of 12", t) for t in screen.evaluate("window.statusSeen"))


def test_a_provider_that_reports_nothing_shows_generating_and_the_time(desktop):
    """As the Hugging Face provider: no queue place, no steps; the bar has no value and the time moves on."""
    screen = desktop
    panel = _image_tab(screen, "slow")
    panel.get_by_label("Prompt", exact=True).fill("a quiet harbour")
    panel.get_by_role("button", name="Generate", exact=True).click()
    _saw(screen, r"^Generating… · [1-9]\d* s$")
    expect(screen.locator("#image-status progress:not([value])")).to_have_count(1)  # indeterminate
    expect(panel.locator("#image-caption")).to_contain_text("“a quiet harbour” · Fake Provider · slow")
    assert not any(re.match(r"^(In queue|Step)", t) for t in screen.evaluate("window.statusSeen"))


def test_cancel_ends_the_run_and_generate_comes_back(screen, viewport, screenshots):
    panel = _image_tab(screen, "progress")
    panel.get_by_label("Prompt", exact=True).fill("a slow red square")
    panel.get_by_role("button", name="Generate", exact=True).click()
    _saw(screen, r"^(In queue|Step)")
    panel.get_by_role("button", name="Cancel").click()
    status = screen.locator("#image-status")
    expect(status).to_have_text("Cancelled")
    generate = panel.get_by_role("button", name="Generate", exact=True)
    expect(generate).to_be_enabled()
    expect(panel.get_by_role("button", name="Cancel")).to_be_hidden()
    shot(screen, screenshots, f"text-to-image-cancelled-{viewport}")

    choose(panel, "Model", "pattern")  # the tab works on: the next image comes
    generate.click()
    expect(panel.locator("#image-caption")).to_contain_text("“a slow red square” · Fake Provider · pattern")
    expect(panel.locator("#image-gallery")).not_to_contain_text("progress")  # the cancelled run made nothing
    assert not any(t.startswith("Step 12 of 12") for t in screen.evaluate("window.statusSeen"))


def test_a_tall_image_leaves_caption_and_gallery_in_view(screen, viewport, screenshots):
    panel = _image_tab(screen, "pattern")
    prompt = panel.get_by_label("Prompt", exact=True)
    prompt.fill("a tall lighthouse")
    panel.get_by_text("9:16", exact=True).click()
    if viewport == "phone":  # before anything is made, the result's place is already above the controls
        assert screen.locator("#image-output").bounding_box()["y"] < prompt.bounding_box()["y"]
    prompt.press("Enter")
    caption = panel.locator("#image-caption")
    expect(caption).to_contain_text("“a tall lighthouse” · Fake Provider · pattern · seed ")
    expect(caption).to_contain_text("576×1024")
    image = panel.locator("#image-output img").first
    expect(image).to_be_visible()
    expect(panel.locator("#image-gallery")).to_contain_text("“a tall lighthouse”")
    height = VIEWPORTS[viewport]["height"]
    if viewport == "desktop":
        screen.evaluate("window.scrollTo(0, 0)")
        box = caption.bounding_box()
        assert box["y"] + box["height"] <= height, box  # the caption is seen without scrolling
        assert panel.locator("#image-gallery").bounding_box()["y"] < height  # and the gallery begins
    else:
        image_box, prompt_box = image.bounding_box(), prompt.bounding_box()
        assert image_box["y"] + image_box["height"] < prompt_box["y"]  # the image above the controls
        expect(image).to_be_in_viewport()  # brought into view when Enter was pressed down in the prompt
    shot(screen, screenshots, f"text-to-image-tall-{viewport}")  # last: a full-page shot moves the page
