"""Untrusted text renders inert in a real browser.

A model's answer, reasoning and sources carrying forms, password inputs, remote
images (Markdown, reference-style, HTML, CSS, mermaid), event handlers and
javascript: links show as text, and the host they name (a recorder on
127.0.0.1) receives no request. Provider errors carrying HTML read as text in
toasts and error blocks. The fake provider streams the payloads verbatim
("hostile-all:<payload>", "fail-html:<payload>", percent-encoded so that the
visitor's own message stays plain text).
"""

from __future__ import annotations

import http.server
import threading
import time
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.helpers import open_app, open_tab, send, shot, wait_answered
from tests.support.servers import free_port

CAPTION = "Fake Provider · echo"
SLOW = 30_000  # ms: CI shares two cores; the server may be busy with other tests' streams
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")


class Recorder:
    """An HTTP server on 127.0.0.1 that answers everything with a tiny PNG and records each path."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.lock = threading.Lock()
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                with recorder.lock:
                    recorder.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(PNG)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                self.wfile.write(PNG)

            do_GET = do_POST = do_HEAD = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def seen(self) -> list[str]:
        with self.lock:
            return list(self.paths)

    def clear(self) -> None:
        with self.lock:
            self.paths.clear()


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    recorder = Recorder()
    recorder.thread.start()
    try:
        yield recorder
    finally:
        recorder.server.shutdown()
        recorder.server.server_close()


@pytest.fixture(autouse=True)
def fresh_recorder(recorder):
    recorder.clear()


def hostile(base: str) -> str:
    """An answer that would phish, leak through images and run handlers, were it rendered as-is."""
    return "\n\n".join([
        "Your session expired. Please re-enter your token:",
        f'<form action="{base}/form" method="post"><input type="password" name="token" placeholder="hf_">'
        f'<button type="submit">Sign in again</button></form>',
        f"![chart]({base}/markdown.png?q=secret) and ![logo][logo]",
        f'<img src="{base}/html.png" onerror="window.__pwned = 1"> '
        f'<a href="#" onclick="window.__pwned = 1">details</a>',
        f'<iframe src="{base}/iframe"></iframe><script>window.__pwned = 1</script>'
        f"<style>body {{ display: none }}</style>",
        f'<p style="background: url({base}/style.png)">styled</p> <link rel="stylesheet" href="{base}/sheet.css">',
        "[a javascript link](javascript:window.__pwned=1)",
        f"```mermaid\ngraph TD\nA[\"<img src='{base}/mermaid.png'>\"] --> B\n```",
        "```html\n<div>a < b</div>\n```",
        "Inline `<kbd>` code.",
        f"[logo]: {base}/reference.png",
    ])


def encoded(prefix: str, payload: str) -> str:
    return prefix + quote(payload, safe="")


LIVE = """roots => {
  const found = {};
  const add = (what, el) => (found[what] = found[what] || []).push(el.outerHTML.slice(0, 120));
  for (const root of roots) {
    for (const el of root.querySelectorAll('form, input, textarea, select, iframe, frame, object, embed, '
        + 'script, style, link, meta, base, img, image, video, audio, source, svg foreignObject')) {
      add(el.tagName.toLowerCase(), el);
    }
    for (const el of root.querySelectorAll('*')) {
      if ([...el.attributes].some(a => a.name.toLowerCase().startsWith('on'))) add('on* attribute', el);
      if ((el.getAttribute('style') || '').includes('url(')) add('style url()', el);
      if ((el.getAttribute('href') || '').trim().toLowerCase().startsWith('javascript:')) add('javascript: link', el);
      if (el.tagName === 'BUTTON' && el.textContent.includes('Sign in again')) add('payload button', el);
      if (el.classList.contains('mermaid')) add('mermaid diagram', el);
    }
  }
  return found;
}"""


def live_elements(messages: Locator) -> dict:
    """Anything active inside rendered chat messages: it must be {}."""
    return messages.evaluate_all(LIVE)


def assert_no_request(page: Page, recorder: Recorder, settle_s: float = 2.0, bound_s: float = 20.0) -> None:
    """No request reached the recorder: first prove the page can reach it (a control image), then
    keep watching a while for lazy loads; any other request fails at once."""
    control = f"/control.png?{uuid.uuid4().hex}"
    page.evaluate("url => { new Image().src = url; }", recorder.base + control)
    deadline = time.monotonic() + bound_s
    while control not in recorder.seen():
        assert time.monotonic() < deadline, "the page never reached the recorder (control image)"
        page.wait_for_timeout(100)
    quiet_until = time.monotonic() + settle_s
    while True:
        leaked = [p for p in recorder.seen() if not p.startswith("/control.png?")]
        assert not leaked, f"the page requested {leaked} from the host named in untrusted text"
        if time.monotonic() >= quiet_until:
            return
        page.wait_for_timeout(100)


def scroll_through(chat: Locator) -> None:
    """Bring every message into view once, so nothing is spared by lazy loading."""
    chat.evaluate("el => { el.scrollTop = 0; el.scrollTop = el.scrollHeight; }")


def test_hostile_answer_reasoning_and_sources_render_inert(page, recorder, screenshots):
    open_app(page)
    panel = page.locator("#tab-text")
    send(panel, encoded("hostile-all:", hostile(recorder.base)))
    wait_answered(panel, CAPTION, timeout=SLOW)
    bots = panel.get_by_test_id("bot")
    expect(bots.filter(has_text="Sign in again").first).to_be_visible()
    bots.get_by_role("button", name="Thinking").click()  # collapsed once the answer came: open it
    expect(bots.filter(has_text="Thinking").filter(has_text="Sign in again")).to_have_count(1)
    scroll_through(panel.get_by_role("log"))

    assert live_elements(bots) == {}
    assert page.evaluate("window.__pwned") is None
    # The markup reads as text, the images became links to click, code shows exactly.
    with_payload = bots.filter(has_text="Your session expired").filter(has_not_text="Sources")
    answer = with_payload.filter(has_not_text="Thinking")
    thinking = with_payload.filter(has_text="Thinking")
    for block in (answer, thinking):
        expect(block).to_have_count(1)
        expect(block).to_contain_text('<form action="' + recorder.base + '/form" method="post">')
        expect(block).to_contain_text('<input type="password" name="token" placeholder="hf_">')
        expect(block).to_contain_text('<img src="' + recorder.base + '/html.png" onerror="window.__pwned = 1">')
        expect(block.get_by_role("link", name="chart", exact=True)).to_have_attribute(
            "href", recorder.base + "/markdown.png?q=secret")
        expect(block.get_by_role("link", name="logo", exact=True)).to_have_attribute(
            "href", recorder.base + "/reference.png")
        expect(block.locator("pre code").filter(has_text="<div>a < b</div>")).to_have_count(1)
        expect(block.locator("pre code").filter(has_text="mermaid.png")).to_have_count(1)
        expect(block.locator("code").filter(has_text="<kbd>")).to_have_count(1)
        expect(block).to_contain_text("[a javascript link](javascript:window.__pwned=1)")
    sources = bots.filter(has_text="Sources")
    expect(sources).to_have_count(1)
    # The http source is a link; the javascript: one is plain text (bare URLs in titles get linked).
    expect(sources.locator('a[href="http://127.0.0.1:9/ok"]')).to_have_count(1)
    expect(sources.locator("a").filter(has_text="Your session expired")).to_have_count(1)
    expect(sources).to_contain_text("![chart](" + recorder.base + "/markdown.png?q=secret)")
    assert_no_request(page, recorder)
    shot(page, screenshots, "inert-answer")


def test_provider_error_with_html_reads_as_text(page, recorder, screenshots):
    detail = (f'<img src="{recorder.base}/toast.png"><b>bold</b> & '
              f'<form action="{recorder.base}/form"><input type="password" name="token"></form>')
    open_app(page)
    panel = page.locator("#tab-text")
    send(panel, encoded("fail-html:", detail))
    toast = page.get_by_test_id("toast-body").filter(has_text="is unavailable right now")
    expect(toast).to_contain_text(f"Fake Provider is unavailable right now ({detail})", timeout=SLOW)
    assert live_elements(toast) == {}
    expect(toast.locator("b, strong, form, input, img")).to_have_count(0)

    block = panel.get_by_test_id("bot").filter(has_text="is unavailable right now")
    expect(block).to_contain_text(f"Fake Provider is unavailable right now ({detail})")
    assert live_elements(panel.get_by_test_id("bot")) == {}
    expect(block.locator("b, strong, form, input, img")).to_have_count(0)
    shot(page, screenshots, "inert-error")
    assert_no_request(page, recorder)


def test_image_tab_error_toast_reads_as_text(page, recorder):
    detail = f'<img src="{recorder.base}/image-toast.png"><i>italic</i> <input type="password">'
    open_app(page)
    panel = open_tab(page, "Text-to-image", "image")
    panel.get_by_label("Prompt", exact=True).fill(encoded("fail-html:", detail))
    panel.get_by_role("button", name="Generate").click()
    toast = page.get_by_test_id("toast-body").filter(has_text="is unavailable right now")
    expect(toast).to_contain_text(f"({detail})", timeout=SLOW)
    assert live_elements(toast) == {}
    expect(toast.locator("i, input, img")).to_have_count(0)
    assert_no_request(page, recorder)


def test_compare_columns_render_answers_and_errors_inert(page, recorder, screenshots):
    open_app(page)
    page.get_by_role("tab", name="Compare", exact=True).click()
    page.get_by_role("tab", name="Side by side", exact=True).click()
    prompt = page.locator("#compare-prompt textarea")
    prompt.fill(encoded("hostile-all:", hostile(recorder.base)))
    page.locator("#compare-send").click()
    for n in (1, 2):
        expect(page.locator(f"#compare-stats-{n}")).to_contain_text("s total", timeout=SLOW)
        expect(page.locator(f"#compare-chat-{n}").get_by_test_id("bot").filter(
            has_text="Sign in again").first).to_be_visible()
        scroll_through(page.locator(f"#compare-chat-{n}").get_by_role("log"))
    columns = page.locator("#compare-chat-1, #compare-chat-2").get_by_test_id("bot")
    assert live_elements(columns) == {}

    detail = f'<b>bold</b> <img src="{recorder.base}/column.png">'
    prompt.fill(encoded("fail-html:", detail))
    prompt.press("Enter")
    stats = page.locator("#compare-stats-1")
    expect(stats).to_contain_text(f"({detail})", timeout=SLOW)
    assert live_elements(page.locator("#compare-stats-1, #compare-stats-2")) == {}
    expect(stats.locator("b, img")).to_have_count(0)
    expect(page.locator("#compare-chat-1").get_by_test_id("bot").filter(has_text=detail)).to_have_count(
        1, timeout=SLOW)
    assert live_elements(columns) == {}
    assert page.evaluate("window.__pwned") is None
    shot(page, screenshots, "inert-compare")
    assert_no_request(page, recorder)
