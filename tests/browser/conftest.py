"""Browser tests: the app as a subprocess with the fake provider, driven by Debian's Chromium.

A missing Chromium skips these tests locally and fails them in CI (CI=true).
Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import ROOT, app_subprocess

CHROMIUM = os.environ.get("PLAYGROUND_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
APP_ENV = {
    "PLAYGROUND_EXTRA_PROVIDERS": "tests.support.fake_provider:FakeProvider",
    "PLAYGROUND_PROVIDERS": "fake,huggingface",  # Hugging Face: a provider that needs a credential
    "PLAYGROUND_BROWSER_SECRET": "browser-tests",
    "FAKE_TOKEN_DELAY": "0.05",
}


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if not path:
        message = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser(chromium_path):
    """Chromium for one test module. Not session-wide: Playwright's sync API keeps an
    event loop running while it is open, which would break the async tests after it."""
    sync_api = pytest.importorskip("playwright.sync_api") if not _in_ci() else __import__(
        "playwright.sync_api", fromlist=["sync_playwright"])
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def app_url(chromium_path) -> Iterator[str]:
    """The playground started as `python app.py` behind the offline guard."""
    with app_subprocess(env=APP_ENV, offline=True) as (url, _process):
        yield url


#: The two sizes the app is checked at.
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def app_context(browser, base_url: str, viewport: str = "desktop", **options):
    """A fresh browser context (empty local storage) at a VIEWPORTS size that can reach only the app."""
    context = browser.new_context(viewport=VIEWPORTS[viewport], base_url=base_url, **options)
    context.route(re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/]).*"), lambda route: route.abort())
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def page(browser, app_url, request):
    """A fresh page at the desktop size that can reach only the app."""
    context = app_context(browser, app_url)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(params=list(VIEWPORTS))
def sized(browser, app_url, request):
    """A fresh page at each of the two sizes in turn, as (page, size name)."""
    context = app_context(browser, app_url, request.param)
    try:
        yield context.new_page(), request.param
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
