"""Progress of an image being made: the playground's stream of it, and the words the tab shows."""

from __future__ import annotations

import asyncio

import pytest

from playground.service import ImageDone, Playground
from providers import RateLimitedError, Registry, Visitor
from providers.events import Progress
from tests.support.fake_provider import FakeProvider
from ui.image_tab import image_caption, progress_text, short_prompt, status_html


@pytest.fixture
def playground(monkeypatch) -> Playground:
    monkeypatch.setenv("FAKE_IMAGE_STEP_DELAY", "0.05")
    return Playground(Registry([FakeProvider()]))


async def _events(stream) -> tuple[list[Progress], ImageDone | None]:
    seen, done = [], None
    async for event in stream:
        if isinstance(event, ImageDone):
            done = event
        else:
            seen.append(event)
    return seen, done


async def test_reported_progress_arrives_in_order_then_the_image(playground):
    seen, done = await _events(playground.image_events("a cat", provider_id="fake", model="progress",
                                                       visitor=Visitor("a"), width=256, height=256, steps=4))
    assert seen[0] == Progress()  # at once: "Generating…", before the provider says anything
    reported = [(p.stage, p.position, p.step) for p in seen[1:]]
    assert reported[:3] == [("queued", 3, None), ("queued", 2, None), ("queued", 1, None)]
    assert [step for stage, _, step in reported if stage == "running"][-1] == 4
    assert [p.elapsed for p in seen[1:]] == sorted(p.elapsed for p in seen[1:])
    assert done is not None and (done.result.width, done.result.height) == (256, 256)


async def test_a_provider_that_reports_nothing_still_shows_the_time_passing(playground):
    seen, done = await _events(playground.image_events("a cat", provider_id="fake", model="slow",
                                                       visitor=Visitor("a"), heartbeat=0.1))
    assert len(seen) >= 4 and all(p.stage == "running" and p.fraction is None for p in seen)
    assert seen[-1].elapsed > 0.5 and done is not None


async def test_closing_the_stream_cancels_the_generation(playground):
    stream = playground.image_events("a cat", provider_id="fake", model="progress", visitor=Visitor("a"))
    async for event in stream:
        if event.stage == "queued":
            break
    await stream.aclose()
    running = [t for t in asyncio.all_tasks() if t.get_coro().__qualname__ == "Playground.image"]
    assert running == []  # cancelled and awaited, not left behind


async def test_a_failure_ends_the_stream_with_its_error(playground):
    with pytest.raises(RateLimitedError):
        await _events(playground.image_events("fail:rate", provider_id="fake", model="pattern",
                                              visitor=Visitor("a")))


def test_status_line_words():
    assert progress_text(Progress()) == "Generating…"
    assert progress_text(Progress("queued", position=3, queue_size=7)) == "In queue: position 3 of 7"
    assert progress_text(Progress("queued", position=1, queue_size=4, eta=12.4, elapsed=3.2)) == (
        "In queue: position 1 of 4 · about 12 s to go · 3 s")
    assert progress_text(Progress("running", step=12, total=28, elapsed=8.6)) == "Step 12 of 28 · 43% · 9 s"
    assert progress_text(Progress("running", elapsed=5)) == "Generating… · 5 s"


def test_status_line_html_is_inert_and_has_a_bar_while_running():
    steps = status_html("Step 3 of 6", Progress("running", step=3, total=6))
    assert '<progress max="6" value="3"' in steps
    assert "<progress aria-label" in status_html("Generating…", Progress())  # indeterminate
    cancelled = status_html("Not made: <img src=x onerror=alert(1)> & more")
    assert "<img" not in cancelled and "&lt;img" in cancelled and "<progress" not in cancelled


def test_caption_leads_with_the_prompt_shortened():
    info = {"model": "pattern", "seed": 42, "width": 576, "height": 1024, "seconds": 2.34}
    assert image_caption(info, "Fake Provider", "a  blue\nsquare") == (
        "“a blue square” · Fake Provider · pattern · seed 42 · 576×1024 · 2.3 s")
    assert image_caption(info, "Fake Provider") == "Fake Provider · pattern · seed 42 · 576×1024 · 2.3 s"
    long = short_prompt("word " * 100)
    assert len(long) == 100 and long.endswith("…")
