"""Bounded CPU, memory and disk per visitor: image work off the event loop, returned images checked
before decoding, uploads refused before they are stored, files deleted after an age, caches bounded."""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import io
import logging
import os
import secrets
import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest
from gradio.context import LocalContext
from gradio.route_utils import delete_files_created_by_app
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from providers import ChatRequest, ImageRequest, Message, ProtocolError, Registry, TextDelta, Visitor
from providers.cache import TTLCache
from providers.huggingchat.provider import HuggingChatProvider
from providers.huggingface.models import HubCatalog
from providers.huggingface.provider import HuggingFaceProvider
from tests.support import huggingchat_server
from tests.support.clock import Clock
from tests.support.fake_provider import FakeProvider
from tests.support.hf_server import HfServer
from tests.support.huggingchat_server import HuggingChatServer
from tests.support.servers import app_subprocess, launch_blocks, serve_asgi, serving
from ui.app import build_demo
from ui.chat import _export
from ui.config import AppSettings
from ui.images import playground_folder, save_image_bytes

HUGE_MESSAGE = "the service returned a 9000×9000 image, over the 50,000,000-pixel limit"


def _temp_dir() -> Path:
    return Path(os.environ["GRADIO_TEMP_DIR"])


# -- CPU: a big /vision batch does not stall other requests ------------------------------------------
def test_a_big_vision_batch_leaves_the_server_answering_promptly(client, app_url, tmp_path):
    first = tmp_path / "big-0.png"
    Image.new("RGB", (6000, 6000), (30, 140, 200)).save(first, compress_level=1)  # flat: ~0.5 MB
    paths = [first] + [Path(shutil.copy(first, tmp_path / f"big-{i}.png")) for i in range(1, 8)]
    finished = threading.Event()
    outcome: dict = {}

    def call() -> None:
        try:
            outcome["reply"] = client.predict(
                prompt="sizes?", images=[handle_file(str(p)) for p in paths], history=[], provider="fake",
                model="describe", temperature=0.5, max_tokens=100, api_name="/vision")
        except Exception as exc:  # reported below
            outcome["error"] = exc
        finally:
            finished.set()

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    answers: list[float] = []
    with httpx.Client(timeout=60) as http:
        while not finished.is_set():
            started = time.monotonic()
            assert http.get(app_url + "gradio_api/info").status_code == 200
            answers.append(time.monotonic() - started)
            finished.wait(0.05)
    worker.join(timeout=60)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["reply"].startswith("I see 8 image(s): 1280x1280")
    assert len(answers) >= 3, answers  # the call took a while, and info was asked all along
    assert max(answers) < 1.0, f"slowest /gradio_api/info during the batch: {max(answers):.2f} s"


# -- disk: uploads over the limit are refused before they are stored ---------------------------------
def _files_starting_with(marker: bytes) -> list[Path]:
    found = []
    for path in _temp_dir().rglob("*"):
        try:
            if path.is_file() and path.open("rb").read(len(marker)) == marker:
                found.append(path)
        except OSError:
            continue
    return found


def test_an_upload_over_the_limit_is_refused_and_not_stored(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_UPLOAD_BYTES", "200000")
    demo = build_demo(Registry([FakeProvider()]), AppSettings.from_env())
    big_marker, small_marker = secrets.token_bytes(32), secrets.token_bytes(32)
    with launch_blocks(demo) as url:  # the limit comes from the setting, as in app.py
        assert demo.max_file_size == 200_000
        assert httpx.get(url + "config", timeout=30).json()["max_file_size"] == 200_000  # the page knows it
        big = big_marker + secrets.token_bytes(1_234_567)
        response = httpx.post(url + "gradio_api/upload", files={"files": ("big.png", big, "image/png")},
                              timeout=60)
        assert response.status_code == 413 and "maximum allowed size of 200000 bytes" in response.text
        small = small_marker + secrets.token_bytes(100_000)
        stored = httpx.post(url + "gradio_api/upload", files={"files": ("small.png", small, "image/png")},
                            timeout=60)
        assert stored.status_code == 200 and Path(stored.json()[0]).read_bytes() == small
        assert _files_starting_with(big_marker) == []  # not even the part received before the limit
        assert len(_files_starting_with(small_marker)) == 1
    assert _files_starting_with(small_marker) == []  # delete_cache clears uploads when the app stops


def test_upload_limit_settings_default_to_the_image_file_limit(monkeypatch):
    monkeypatch.delenv("PLAYGROUND_MAX_UPLOAD_BYTES", raising=False)
    monkeypatch.delenv("IMAGE_MAX_FILE_BYTES", raising=False)
    assert AppSettings.from_env().max_upload_bytes == 25_000_000
    monkeypatch.setenv("IMAGE_MAX_FILE_BYTES", "10000000")
    assert AppSettings.from_env().max_upload_bytes == 10_000_000
    monkeypatch.setenv("PLAYGROUND_MAX_UPLOAD_BYTES", "3000000")
    assert AppSettings.from_env().max_upload_bytes == 3_000_000


def test_app_py_launches_with_the_upload_limit():
    env = {"PLAYGROUND_EXTRA_PROVIDERS": "tests.support.fake_provider:FakeProvider",
           "PLAYGROUND_MAX_UPLOAD_BYTES": "150000"}
    with app_subprocess(env, timeout=120) as (url, _process):
        assert httpx.get(url + "config", timeout=30).json()["max_file_size"] == 150_000
        response = httpx.post(url + "gradio_api/upload",
                              files={"files": ("big.png", secrets.token_bytes(300_000), "image/png")}, timeout=60)
        assert response.status_code == 413


# -- disk: uploads, generated images and exports are deleted after an age ----------------------------
def test_delete_cache_follows_the_setting(monkeypatch):
    monkeypatch.delenv("PLAYGROUND_CACHE_MAX_AGE", raising=False)
    assert build_demo(Registry([FakeProvider()]), AppSettings.from_env()).delete_cache == (3600, 86400)
    monkeypatch.setenv("PLAYGROUND_CACHE_MAX_AGE", "0")  # (a short age: see the next test)
    assert build_demo(Registry([FakeProvider()]), AppSettings.from_env()).delete_cache is None


def test_generated_images_are_deleted_by_gradio_once_old(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_CACHE_MAX_AGE", "2")  # swept every 2 s, deleted when older than 2 s
    demo = build_demo(Registry([FakeProvider()]), AppSettings.from_env())
    assert demo.delete_cache == (2, 2)
    with launch_blocks(demo) as url:
        client = Client(url, verbose=False)
        try:
            downloaded, _info = client.predict(prompt="x", provider="fake", model="pattern", negative_prompt="",
                                               width=64, height=48, steps=None, guidance=None, seed=1,
                                               api_name="/image")
        finally:
            client.close()
        data = Path(downloaded).read_bytes()
        served = playground_folder() / (hashlib.sha256(data).hexdigest()[:32] + ".png")
        assert served.exists() and any(str(served) in files for files in demo.temp_file_sets)
        deadline = time.monotonic() + 60
        while served.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not served.exists(), "Gradio's delete_cache did not remove the generated image"


def test_exports_and_saved_images_are_files_gradio_cleans_up():
    demo = build_demo(Registry([FakeProvider()]), AppSettings.from_env())
    history = [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi"}]

    def in_an_event():
        LocalContext.blocks.set(demo)
        return _export(demo.playground, history, "md", None)["value"], save_image_bytes(secrets.token_bytes(64))

    exported, image = contextvars.copy_context().run(in_an_event)
    assert Path(exported).name == time.strftime("hello-%Y-%m-%d.md")  # named after its first prompt
    assert Path(exported).is_relative_to(playground_folder() / "exports")
    assert Path(image).is_relative_to(playground_folder())
    assert {exported, image} <= demo.upload_file_set  # registered even if never shown
    delete_files_created_by_app(demo, age=0)  # what delete_cache runs on its schedule
    assert not Path(exported).exists() and not Path(image).exists()


def test_emptied_export_folders_are_removed_and_reused_images_touched(tmp_path):
    old = time.time() - 3600
    emptied = playground_folder() / "exports" / "conversation-emptied"
    emptied.mkdir(parents=True, exist_ok=True)
    os.utime(emptied, (old, old))
    fresh = playground_folder() / "exports" / "conversation-fresh"
    fresh.mkdir(exist_ok=True)
    demo = build_demo(Registry([FakeProvider()]), AppSettings.from_env())
    _export(demo.playground, [{"role": "user", "content": "hello"}], "json", None)
    assert not emptied.exists() and fresh.exists()  # a just-made folder may be about to be filled
    data = secrets.token_bytes(64)
    path = Path(save_image_bytes(data))
    os.utime(path, (old, old))
    assert save_image_bytes(data) == str(path)
    assert time.time() - path.stat().st_mtime < 600  # its age starts again when handed out again


# -- CPU and memory: images providers return are checked before decoding ---------------------------
@pytest.fixture(scope="module")
def hf_server():
    with serving(HfServer(slow_seconds=3.0)) as server:
        yield server


@pytest.fixture
def hf_env(hf_server, monkeypatch):
    monkeypatch.setenv("HF_INFERENCE_BASE_URL", hf_server.url)
    monkeypatch.setenv("HF_ENDPOINT", hf_server.url)
    monkeypatch.setenv("HF_TRUSTED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("HF_TOKEN", "hf_operatorTokenBBBB2222")
    monkeypatch.setenv("ALLOW_SHARED_CREDENTIALS", "1")
    for name in ("HF_INFERENCE_API", "HF_INFERENCE_API_KEY", "IMAGE_MAX_PIXELS"):
        monkeypatch.delenv(name, raising=False)
    return hf_server


async def test_a_huge_image_from_hugging_face_is_refused_with_a_clear_message(hf_env):
    provider = HuggingFaceProvider()
    try:
        with pytest.raises(ProtocolError) as info:
            await provider.generate_image(ImageRequest("x", "local/huge-image"), Visitor(session_id="s"))
        assert str(info.value) == f"Hugging Face: unexpected response from the service ({HUGE_MESSAGE})"
        result = await provider.generate_image(ImageRequest("x", "local/image-model", width=64, height=32),
                                               Visitor(session_id="s"))
        assert (result.width, result.height, result.mime) == (64, 32, "image/png")
    finally:
        await provider._pool.aclose()


def test_a_huge_image_reaches_the_visitor_as_that_message(hf_env):
    demo = build_demo(Registry([HuggingFaceProvider()]), AppSettings.from_env())
    with launch_blocks(demo) as url:
        client = Client(url, verbose=False)
        try:
            with pytest.raises(AppError, match="9000×9000 image, over the 50,000,000-pixel limit"):
                client.predict(prompt="x", provider="huggingface", model="local/huge-image", negative_prompt="",
                               width=64, height=64, steps=None, guidance=None, seed=1, api_name="/image")
        finally:
            client.close()


async def test_a_huge_image_from_huggingchat_ends_the_answer_with_a_clear_message(monkeypatch):
    huge = io.BytesIO()
    Image.new("1", (9000, 9000)).save(huge, format="PNG")
    monkeypatch.setattr(huggingchat_server, "png", lambda *args, **kwargs: huge.getvalue())
    server = HuggingChatServer({"cookie-alice"})
    with serve_asgi(server.app) as url:
        monkeypatch.setenv("HUGGINGCHAT_URL", url + "/chat")
        server.replies.append("rich")  # text, then a generated image
        events, error = [], None
        try:
            async for event in HuggingChatProvider().chat(
                    ChatRequest(messages=[Message("user", "draw")], model="text-model"),
                    Visitor(session_id="v", huggingchat_cookie="cookie-alice")):
                events.append(event)
        except ProtocolError as exc:
            error = exc
    assert str(error) == f"HuggingChat: unexpected response from the service ({HUGE_MESSAGE})"
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello world"  # kept


def _huge_flux_space(huge_path: str):
    """FLUX's `/infer` shape, answering with a 9000×9000 PNG file (1-bit, about 10 kB)."""
    import gradio as gr

    def infer(prompt, seed=0, randomize_seed=True, width=1024, height=1024, num_inference_steps=4):
        return huge_path, 7

    with gr.Blocks() as demo:
        inputs = [gr.Text(label="Prompt"), gr.Number(label="Seed"), gr.Checkbox(label="Randomize seed"),
                  gr.Number(label="Width"), gr.Number(label="Height"), gr.Number(label="Number of inference steps")]
        gr.Button().click(infer, inputs, [gr.File(label="Result"), gr.Number(label="Seed")], api_name="infer")
    return demo


async def test_a_huge_image_from_a_flux_space_is_refused_with_a_clear_message(tmp_path, monkeypatch):
    from providers.spaces.flux import FluxSchnellProvider

    huge = tmp_path / "huge.png"
    Image.new("1", (9000, 9000)).save(huge, format="PNG")
    with launch_blocks(_huge_flux_space(str(huge))) as url:
        monkeypatch.setenv("FLUX_SCHNELL_SPACE", url)
        monkeypatch.setenv("SPACES_TIMEOUT", "60")
        provider = FluxSchnellProvider()
        with pytest.raises(ProtocolError) as info:
            await provider.generate_image(ImageRequest("x", "FLUX.1-schnell", width=256, height=256, seed=1),
                                          Visitor(session_id="v"))
    assert str(info.value) == f"FLUX.1 schnell (Space): unexpected response from the service ({HUGE_MESSAGE})"


# -- memory: caches are bounded, failures leave only short negative entries --------------------------
def _fetcher(value, calls: list):
    async def fetch():
        calls.append(value)
        if isinstance(value, Exception):
            raise value
        return value
    return fetch


async def test_the_cache_keeps_at_most_max_entries_least_recently_used_first():
    cache: TTLCache[str] = TTLCache(60, max_entries=3)
    calls: list = []
    for key in "abc":
        await cache.get(key, _fetcher(key.upper(), calls), "fallback")
    await cache.get("a", _fetcher("never", calls), "fallback")  # a fresh hit: "a" is now most recent
    await cache.get("d", _fetcher("D", calls), "fallback")
    assert len(cache) == 3 and cache.peek("b") is None  # the least recently used went
    assert [cache.peek(k) for k in "acd"] == ["A", "C", "D"]
    assert calls == ["A", "B", "C", "D"]


async def test_the_default_bound_is_documented_and_configurable(monkeypatch):
    assert TTLCache(60).max_entries == 1024
    monkeypatch.setenv("MODEL_CACHE_MAX_ENTRIES", "50")
    assert TTLCache(60).max_entries == 50


async def test_a_failure_is_a_short_negative_entry_not_a_cached_value():
    clock = Clock()
    cache: TTLCache[str] = TTLCache(3600, retry_after=30, max_negative=4, clock=clock)
    calls: list = []
    assert await cache.get("x", _fetcher(RuntimeError("down"), calls), "fallback") == "fallback"
    assert cache.peek("x") is None  # the fallback is not stored as the key's value
    assert await cache.get("x", _fetcher(RuntimeError("down"), calls), "fallback") == "fallback"
    assert len(calls) == 1  # not refetched on every call...
    clock.now += 31
    assert await cache.get("x", _fetcher("value", calls), "fallback") == "value"
    assert len(calls) == 2  # ...but after retry_after
    for i in range(100):  # a flood of made-up keys
        await cache.get(f"made-up-{i}", _fetcher(RuntimeError("404"), calls), "fallback")
    assert len(cache._negative) == 4 and cache.peek("x") == "value"  # bounded, and pushes out no value


async def test_a_stale_value_answers_a_failed_refetch_until_it_is_too_old():
    clock = Clock()
    cache: TTLCache[str] = TTLCache(100, retry_after=30, keep_stale=200, clock=clock)
    calls: list = []
    await cache.get("k", _fetcher("good", calls), "fallback")
    clock.now += 150
    assert await cache.get("k", _fetcher(RuntimeError("down"), calls), "fallback") == "good"
    clock.now += 200  # 350 s after it was fetched: past ttl + keep_stale
    assert cache.peek("k") is None
    assert await cache.get("k", _fetcher(RuntimeError("down"), calls), "fallback") == "fallback"


async def test_negative_answers_are_short_lived_too():
    clock = Clock()
    cache: TTLCache[str] = TTLCache(3600, retry_after=30, clock=clock, is_negative=lambda v: v == "unknown")
    calls: list = []
    assert await cache.get("id", _fetcher("unknown", calls), "fallback") == "unknown"
    assert await cache.get("id", _fetcher("unknown", calls), "fallback") == "unknown"
    assert len(calls) == 1 and cache.peek("id") is None
    clock.now += 31
    await cache.get("id", _fetcher("known", calls), "fallback")
    assert cache.peek("id") == "known"


async def test_unknown_hub_models_leave_no_long_lived_entry(hf_env):
    catalog = HubCatalog("Hugging Face")
    for i in range(20):
        assert not (await catalog.info(f"visitor/made-up-{i}")).known
    assert len(catalog._info._values) == 0 and len(catalog._info._negative) == 20
    assert (await catalog.info("local/chat-model")).known
    assert len(catalog._info._values) == 1


async def test_cache_log_lines_bound_visitor_typed_keys(caplog):
    cache: TTLCache[str] = TTLCache(60)
    key = ("https://hub", "x" * 10_000)
    with caplog.at_level(logging.WARNING, logger="providers.cache"):
        await cache.get(key, _fetcher(RuntimeError("boom " * 1000), []), "fallback")
    message = caplog.records[-1].getMessage()
    assert len(message) < 600 and "(+9,940 characters)" in message, message


def test_concurrent_fetches_for_one_key_share_one_call():
    async def main():
        cache: TTLCache[str] = TTLCache(60)
        calls: list = []
        release = asyncio.Event()

        async def fetch():
            calls.append(1)
            await release.wait()
            return "v"

        tasks = [asyncio.create_task(cache.get("k", fetch, "fallback")) for _ in range(5)]
        await asyncio.sleep(0)
        release.set()
        return await asyncio.gather(*tasks), calls

    results, calls = asyncio.run(main())
    assert results == ["v"] * 5 and calls == [1]
