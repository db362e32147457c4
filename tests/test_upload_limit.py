"""Each visitor may have PLAYGROUND_VISITOR_FILE_BYTES of files stored an hour (uploads and exported
conversations); beyond it an upload is refused before it is read, an export before it is written, and
nothing is stored (ui/upload_limit.py, ui/chat.py, playground.limits.ByteBudget)."""

from __future__ import annotations

import dataclasses
import os
import uuid
from pathlib import Path

import httpx
import pytest
from gradio.utils import get_upload_folder

from playground.limits import FILE_CHARGE, ByteBudget, VisitorLimitError
from providers import Registry
from tests.support.clock import Clock
from tests.support.fake_provider import FakeProvider
from tests.support.servers import launch_blocks
from ui.app import build_demo
from ui.chat import _export
from ui.config import AppSettings
from ui.upload_limit import PartCounter

BUDGET = 1_000_000


def test_budget_refuses_what_would_go_over_and_says_when_it_frees_up():
    clock = Clock()
    budget = ByteBudget(100, "uploads", clock=clock)
    budget.take("a", 60)
    clock.now += 10
    budget.take("a", 30)
    clock.now += 10
    with pytest.raises(VisitorLimitError, match="an hour at most") as refused:
        budget.take("a", 20)  # 10 over: the 60 taken first must expire, 3,580 s from now
    assert refused.value.retry_after == 3580
    assert budget.spent("a") == 90  # a refusal costs nothing
    budget.take("b", 100)  # visitors are counted apart
    clock.now += 3580
    budget.take("a", 20)
    assert budget.spent("a") == 50


def test_budget_tells_a_request_larger_than_the_whole_budget_apart():
    budget = ByteBudget(100, "uploads", clock=Clock())
    with pytest.raises(VisitorLimitError, match="may total .* an hour at most. Send fewer") as refused:
        budget.take("a", 101)
    assert refused.value.retry_after is None  # waiting would not help


def test_charges_after_the_fact_count_and_idle_visitors_are_forgotten():
    clock = Clock()
    budget = ByteBudget(100, "uploads", clock=clock)
    budget.take("a", 10)
    budget.charge("a", 90)  # known only once the request was read
    with pytest.raises(VisitorLimitError):
        budget.take("a", 1)
    clock.now += 3601
    for number in range(256):  # every 256th take sweeps visitors idle for a whole window
        budget.take(f"v{number}", 1)
    assert len(budget) == 256


def test_no_budget_means_unlimited():
    budget = ByteBudget(0, "uploads", clock=Clock())
    budget.take("a", 10**12)
    budget.charge("a", 10**12)
    assert budget.spent("a") == 0


@pytest.mark.parametrize("files", [1, 3, 40])
def test_parts_are_counted_across_any_chunking(files):
    request = httpx.Request("POST", "http://127.0.0.1/upload",
                            files=[("files", (f"f{n}.bin", os.urandom(500))) for n in range(files)])
    body = request.read()
    for size in (1, 7, 64, len(body)):
        counter = PartCounter(request.headers["content-type"])
        for start in range(0, len(body), size):
            counter.feed(body[start:start + size])
        assert counter.parts == files, size


@pytest.fixture(scope="module")
def demo():
    settings = dataclasses.replace(AppSettings.from_env(), visitor_file_bytes=BUDGET)
    return build_demo(Registry([FakeProvider()]), settings)


@pytest.fixture(scope="module")
def app(demo):
    with launch_blocks(demo) as url:
        yield url


def visitor(app: str, address: str) -> httpx.Client:
    """A client seen as `address` (uvicorn trusts X-Forwarded-For from 127.0.0.1, as behind a proxy)."""
    return httpx.Client(base_url=app, timeout=60, headers={"x-forwarded-for": address})


def upload(http: httpx.Client, *files: tuple[str, bytes]) -> httpx.Response:
    return http.post("gradio_api/upload", files=[("files", file) for file in files])


def stored(name: str) -> list[Path]:
    return list(Path(get_upload_folder()).rglob(name))


def test_uploads_beyond_the_hourly_budget_are_refused_and_never_stored(app):
    with visitor(app, "203.0.113.10") as http:
        for _ in range(2):
            accepted = upload(http, (f"{uuid.uuid4().hex}.bin", os.urandom(300_000)))
            assert accepted.status_code == 200, accepted.text
            assert stored(Path(accepted.json()[0]).name)
        refused_name = f"{uuid.uuid4().hex}.bin"
        refused = upload(http, (refused_name, os.urandom(300_000)))  # 2 × (300 KB + 64 KB) spent of 1 MB
    assert refused.status_code == 429
    assert refused.text == ("Too many files: the files you upload or export may total 1 MB an hour at most. "
                            "Try again in 60 min.")
    assert 3500 < int(refused.headers["retry-after"]) <= 3600
    assert not stored(refused_name)
    with visitor(app, "198.51.100.11") as elsewhere:  # another visitor is not held back
        assert upload(elsewhere, ("photo.png", os.urandom(300_000))).status_code == 200


def test_an_upload_larger_than_the_whole_budget_is_refused_at_once(app):
    name = f"{uuid.uuid4().hex}.bin"
    with visitor(app, "203.0.113.12") as http:
        refused = upload(http, (name, os.urandom(BUDGET + 1)))
        assert refused.status_code == 413
        assert "may total 1 MB an hour at most. Send fewer or smaller files at once." in refused.text
        assert not stored(name)
        assert upload(http, ("small.bin", b"ok")).status_code == 200  # the refusal cost nothing


def test_many_tiny_files_count_against_the_budget(app):
    with visitor(app, "203.0.113.13") as http:
        many = BUDGET // FILE_CHARGE
        accepted = upload(http, *[(f"t{n}.bin", b"x") for n in range(many)])
        assert accepted.status_code == 200 and len(accepted.json()) == many
        refused = upload(http, ("one-more.bin", b"x"))
    assert refused.status_code == 429, refused.text


def test_an_upload_without_a_length_is_refused(app):
    with visitor(app, "203.0.113.14") as http:
        refused = http.post("gradio_api/upload", content=iter([b"--x\r\n"]),
                            headers={"content-type": "multipart/form-data; boundary=x"})
    assert refused.status_code == 411
    assert "Content-Length" in refused.text


def test_exports_share_the_budget_with_uploads(demo, app):
    """From this machine (no forwarded address), exports and uploads are charged to one key."""
    history = [{"role": "user", "content": "x" * 500_000}, {"role": "assistant", "content": "ok"}]
    exported = _export(demo.playground, history, "md", None)
    assert Path(exported["value"]).stat().st_size > 500_000
    with pytest.warns(UserWarning, match="Too many files: the files you upload or export may total 1 MB"):
        refused = _export(demo.playground, history, "json", None)  # 2 × (500 KB + 64 KB) would pass 1 MB
    assert refused["value"] is None and refused["visible"] is False
    with httpx.Client(base_url=app, timeout=60) as http:
        assert upload(http, ("photo.png", os.urandom(500_000))).status_code == 429  # 564 KB spent by the export
