"""The README's screenshots: every tab, in use, at a desktop and a phone size.

They are saved to test-artifacts/screenshots/readme/; `docs/screenshots/` holds the copies the
README shows (refresh them by copying after a run). The test also checks the README shows each one.
"""

from __future__ import annotations

from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import VIEWPORTS
from tests.browser.helpers import open_app, open_tab, send, wait_answered
from tests.support.servers import ROOT

TABS = ("text", "vision", "image", "compare", "settings")


def test_readme_shows_every_tab_at_both_sizes():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for size in VIEWPORTS:
        for tab in TABS:
            name = f"docs/screenshots/{tab}-{size}.png"
            assert f"({name})" in readme, f"the README does not show {name}"
            assert (ROOT / name).is_file(), name


def test_screenshots_of_every_tab(sized, screenshots, tmp_path):
    page, size = sized
    folder = screenshots / "readme"
    folder.mkdir(exist_ok=True)
    open_app(page)
    expect(page.locator("#signin-banner")).to_be_visible()  # the page has settled (the banner is last)

    text = page.locator("#tab-text")
    send(text, "Write a haiku about a lighthouse")
    wait_answered(text, "Fake Provider · echo")
    page.screenshot(path=str(folder / f"text-{size}.png"))

    photo = tmp_path / "photo.png"
    Image.new("RGB", (640, 480), (30, 120, 200)).save(photo)
    vision = open_tab(page, "Vision chat", "vision")
    vision.locator("input[type=file]").first.set_input_files(str(photo))
    send(vision, "What is in this picture?")
    wait_answered(vision, "Fake Provider · describe")
    page.screenshot(path=str(folder / f"vision-{size}.png"))

    image = open_tab(page, "Text-to-image", "image")
    image.get_by_label("Prompt", exact=True).fill("A lighthouse on a cliff at dawn, oil painting")
    image.get_by_label("Prompt", exact=True).press("Enter")
    expect(image.locator("#image-caption")).to_contain_text("lighthouse", timeout=20_000)
    expect(image.get_by_role("button", name="Generate", exact=True)).to_be_enabled()
    page.screenshot(path=str(folder / f"image-{size}.png"))

    open_tab(page, "Compare", "compare")
    prompt = page.locator("#compare-prompt textarea")
    prompt.fill("Name three uses of a lighthouse")
    prompt.press("Enter")
    expect(page.locator("#compare-stats-1")).to_contain_text("s total", timeout=20_000)
    expect(page.locator("#compare-stats-2")).to_contain_text("s total", timeout=20_000)
    page.screenshot(path=str(folder / f"compare-{size}.png"))

    open_tab(page, "Settings", "settings")
    page.screenshot(path=str(folder / f"settings-{size}.png"))
    for tab in TABS:
        assert (folder / f"{tab}-{size}.png").stat().st_size > 10_000
