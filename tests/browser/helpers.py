"""Small page helpers for the browser tests (Gradio 6.31 selectors)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, expect


def open_app(page: Page, query: str = "") -> None:
    page.goto("/" + query)
    # A first load on a busy machine can take a while (the app builds a session's config on first use).
    expect(page.get_by_role("tab", name="Text chat")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("tabpanel").first).to_be_visible(timeout=30_000)


def open_tab(page: Page, name: str, tab_id: str) -> Locator:
    page.get_by_role("tab", name=name).click()
    panel = page.locator(f"#tab-{tab_id}")
    expect(panel).to_be_visible()
    return panel


def choose(panel: Locator, label: str, option: str) -> None:
    """Pick an option of a Gradio dropdown by its label."""
    box = panel.get_by_label(label, exact=True)
    box.click()
    panel.page.get_by_role("option", name=option, exact=True).click()
    expect(box).to_have_value(option)


def send(panel: Locator, text: str) -> None:
    """Type into a chat tab's message box (not the side panel's system prompt) and press Enter."""
    box = panel.locator(".chat-input").get_by_test_id("textbox")
    box.fill(text)
    box.press("Enter")


def bot_texts(panel: Locator) -> list[str]:
    return panel.get_by_test_id("bot").all_inner_texts()


def wait_answered(panel: Locator, caption: str, timeout: float = 20_000) -> None:
    """Wait for the turn to end: the caption under the answer appears and Stop is gone."""
    expect(panel.get_by_test_id("bot").filter(has_text=caption).last).to_be_visible(timeout=timeout)
    expect(panel.locator(".stop-button:visible")).to_have_count(0, timeout=timeout)


def shot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
