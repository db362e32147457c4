"""A Space's answer never chooses a file on this machine to read or delete.

A hostile Space (tests/support/fake_spaces.py `hostile_space`) answers FLUX's `/infer` with
paths to a canary file outside any download folder: bare, climbing out with `..`, through a
symlink, or dressed up as a FileData. A Python audit hook watches every file this process
opens, renames or deletes, so "never read" is observed, not inferred from the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from providers import ImageRequest, ProtocolError, Visitor
from providers.spaces.flux import FluxSchnellProvider
from providers.spaces import space as spaces
from providers.spaces.space import Space, resend_files
from tests.support import fake_spaces
from tests.support.servers import launch_blocks, serve_asgi

CANARY_TEXT = "CANARY-7f3e-do-not-read"
FILE_DATA = {"_type": "gradio.FileData"}


# -- watching what this process does to files ----------------------------------------------------
_WATCHED_EVENTS = {"open", "os.remove", "os.rename", "os.rmdir", "os.truncate", "shutil.rmtree"}
_watches: list[list[tuple[str, str]]] = []
_watch_lock = threading.Lock()
_hook_installed = False


def _audit(event: str, args: tuple) -> None:
    if not _watches or event not in _WATCHED_EVENTS:
        return
    for arg in args[:2] if event == "os.rename" else args[:1]:  # (src, dst) or the one path
        if isinstance(arg, (str, bytes, os.PathLike)):
            with contextlib.suppress(Exception):
                path = os.fsdecode(arg)
                for watch in _watches:
                    watch.append((event, path))


@contextlib.contextmanager
def watching_files() -> Iterator[list[tuple[str, str]]]:
    """Every (event, path) this process opens, renames or deletes while inside (audit hooks, PEP 578)."""
    global _hook_installed
    with _watch_lock:
        if not _hook_installed:  # audit hooks cannot be removed: one, idle unless a watch is on
            sys.addaudithook(_audit)
            _hook_installed = True
    seen: list[tuple[str, str]] = []
    _watches.append(seen)
    try:
        yield seen
    finally:
        _watches.remove(seen)


def _touched(seen: list[tuple[str, str]], target: str) -> list[tuple[str, str]]:
    real = os.path.realpath(target)
    return [(event, path) for event, path in seen
            if path == target or os.path.realpath(path) == real or os.path.basename(path) == "canary.txt"]


# -- Spaces ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def answers() -> dict[str, object]:
    return {}


@pytest.fixture(scope="module")
def spaces_urls(answers):
    with launch_blocks(fake_spaces.hostile_space(fake_spaces.SpaceLog(), answers)) as hostile, \
            launch_blocks(fake_spaces.flux_space(fake_spaces.SpaceLog(), dev=False)) as flux:
        yield {"hostile": hostile, "flux": flux}


@pytest.fixture(autouse=True)
def space_env(monkeypatch):
    monkeypatch.setenv("SPACES_TIMEOUT", "30")


@pytest.fixture
def canary(tmp_path) -> str:
    """A file outside every download folder, plus a folder holding a symlink to it."""
    path = tmp_path / "canary.txt"
    path.write_text(CANARY_TEXT)
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / "image.webp").symlink_to(path)
    return str(path)


def _hostile_answers(canary: str) -> dict[str, object]:
    folder = os.path.join(os.path.dirname(canary), "downloads")
    climbing = os.path.join(folder, "..", "canary.txt")
    link = os.path.join(folder, "image.webp")
    answers: dict[str, object] = {"plain path": canary, "climbing path": climbing, "symlink path": link}
    for name, path in list(answers.items()):
        answers[f"{name} as FileData"] = {"path": path, "orig_name": "image.webp", "meta": FILE_DATA}
    return answers


HOSTILE = ["plain path", "climbing path", "symlink path",
           "plain path as FileData", "climbing path as FileData", "symlink path as FileData"]


@pytest.mark.parametrize("answer", HOSTILE)
async def test_a_path_in_the_answer_is_never_read_or_deleted(answer, answers, spaces_urls, canary, monkeypatch):
    answers.update(_hostile_answers(canary))
    monkeypatch.setenv("FLUX_SCHNELL_SPACE", spaces_urls["hostile"])
    provider = FluxSchnellProvider()
    await provider.space.session(Visitor("setup"), provider.space.deadline())  # connect outside the watch
    with watching_files() as seen:
        with open(os.devnull, "rb"):  # the watch itself works
            pass
        with pytest.raises(ProtocolError) as caught:
            await provider.generate_image(ImageRequest(answer, "FLUX.1-schnell", width=256, height=256, seed=1),
                                          Visitor("victim", ip_token="ip-victim"))
    assert ("open", os.devnull) in seen
    assert _touched(seen, canary) == []  # neither opened (read) nor removed, not even through the symlink

    message = str(caught.value)
    assert message.startswith("FLUX.1 schnell (Space): unexpected response from the service (the Space returned "
                              "no readable image"), message
    seen_by_visitor = f"{caught.value.user_message} {caught.value.hint or ''}"
    assert CANARY_TEXT not in seen_by_visitor and "canary" not in seen_by_visitor  # nor the path it sent
    with open(canary) as handle:
        assert handle.read() == CANARY_TEXT
    assert os.path.islink(os.path.join(os.path.dirname(canary), "downloads", "image.webp"))


async def test_any_other_answer_is_a_clear_protocol_error(answers, spaces_urls, monkeypatch):
    answers["not a file"] = "just some words"
    monkeypatch.setenv("FLUX_SCHNELL_SPACE", spaces_urls["hostile"])
    with pytest.raises(ProtocolError, match=r"no readable image\)?$"):
        await FluxSchnellProvider().generate_image(ImageRequest("not a file", "FLUX.1-schnell"), Visitor("a"))


# -- identical results, concurrently -------------------------------------------------------------------
async def test_visitors_with_identical_images_all_get_theirs_and_nothing_is_left(spaces_urls, tmp_path,
                                                                                      monkeypatch):
    monkeypatch.setenv("FLUX_SCHNELL_SPACE", spaces_urls["flux"])
    provider = FluxSchnellProvider()
    await provider.space.session(Visitor("setup"), provider.space.deadline())
    temp = tmp_path / "app-temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # where any download folder would be made
    request = ImageRequest("the same picture", "FLUX.1-schnell", width=320, height=256, seed=11, steps=20)
    for _ in range(3):  # (with gradio_client's shared download folder this lost files in 2 runs of 3)
        results = await asyncio.gather(*(provider.generate_image(request, Visitor(v, ip_token=f"ip-{v}"))
                                         for v in ("alice", "bob", "carol", "dave")))
        assert len({result.data for result in results}) == 1  # the same content: once the same download path
        for result in results:
            with Image.open(io.BytesIO(result.data)) as image:
                assert image.size == (320, 256) and result.seed == 11
    client = provider.space._shared[spaces_urls["flux"]].client
    assert client.download_files is False
    assert sorted(os.listdir(temp)) == []  # no download folder, no file, no empty folder left behind


async def test_a_file_over_the_size_limit_is_refused(spaces_urls, monkeypatch):
    monkeypatch.setenv("FLUX_SCHNELL_SPACE", spaces_urls["flux"])
    monkeypatch.setattr(spaces, "MAX_FILE_BYTES", 100)
    with pytest.raises(ProtocolError, match=r"no readable image \(larger than"):
        await FluxSchnellProvider().generate_image(ImageRequest("big", "FLUX.1-schnell", width=256, height=256),
                                                   Visitor("a"))


async def test_the_file_is_only_fetched_from_the_space_itself():
    """Redirects within the Space are followed (as gradio_client does); to another address, never."""
    hits: list[str] = []

    async def elsewhere(request):
        hits.append(request.url.path)
        return Response(b"internal secrets", media_type="image/png")

    async def file_route(request):
        name = request.path_params["name"]
        if name == "moved.png":
            return RedirectResponse("/gradio_api/file=real.png")
        if name == "away.png":
            return RedirectResponse(f"{other}/latest/meta-data")
        return Response(b"PNG bytes", media_type="image/png")

    with serve_asgi(Starlette(routes=[Route("/{rest:path}", elsewhere)])) as other, \
            serve_asgi(Starlette(routes=[Route("/gradio_api/file={name:path}", file_route)])) as url:
        client = SimpleNamespace(src_prefixed=f"{url}/gradio_api/", headers={}, cookies={}, ssl_verify=True,
                                 httpx_kwargs={})  # the Client attributes the fetch uses
        session = SimpleNamespace(client=client, source=url)
        space = Space("Test Space", "TEST_SPACE", url, per_visitor=False)

        async def read(name: str) -> bytes:
            return await space.read_file(session, {"path": name, "meta": FILE_DATA}, deadline=space.deadline(),
                                         kind="image")

        assert await read("moved.png") == b"PNG bytes"
        with pytest.raises(ProtocolError, match=r"no readable image \(it redirected to another site\)"):
            await read("away.png")
    assert hits == []


# -- Phi-4 never reads what its Space returns ---------------------------------------------------------
def test_phi4_sends_back_only_its_own_uploads(canary, tmp_path):
    ours = tmp_path / "upload-0123456789ab-0.png"
    Image.new("RGB", (8, 8)).save(ours)
    returned = [
        {"role": "user", "content": {"path": "/tmp/gradio/abc/upload-0123456789ab-0.png", "meta": FILE_DATA}},
        {"role": "user", "content": [{"type": "file", "file": {"path": canary, "meta": FILE_DATA}},
                                     {"type": "text", "text": "hi"}]},
        {"role": "user", "content": {"path": canary, "meta": FILE_DATA}},
    ]
    with watching_files() as seen:
        history = resend_files(returned, [str(ours)])
    assert _touched(seen, canary) == []
    assert len(history) == 2 and history[0]["content"]["path"] == str(ours)  # ours, by its unique name
    assert history[1]["content"] == [{"type": "text", "text": "hi"}] and canary not in repr(history)
