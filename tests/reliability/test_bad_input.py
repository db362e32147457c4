"""Bad input on every public endpoint, through gradio_client: a clear message or a sane clamp.

The app runs with the in-process fake provider (tests/conftest.py's `client`). Every call
is bounded by a timeout, so a hang fails the test, and the app must still answer afterwards.
"""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

LIMIT = 30  # seconds any call may take
ODD = "héllo 👋🏽 ‮RTL‬ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 e\u0301 \u200b\ufeff 日本語 ﷽"
CHAT_DEFAULTS = {"provider": "fake", "model": "echo", "system_prompt": "", "temperature": 0.7,
                 "max_tokens": 256, "top_p": 0.9}
IMAGE_DEFAULTS = {"prompt": "a square", "provider": "fake", "model": "pattern", "negative_prompt": "",
                  "width": 256, "height": 256, "steps": 4, "guidance": None, "seed": 1}


def call(client, api_name: str, **kwargs):
    return client.submit(api_name=api_name, **kwargs).result(timeout=LIMIT)


def chat(client, text, **overrides):
    return call(client, "/chat", messages=[{"role": "user", "content": text}], **{**CHAT_DEFAULTS, **overrides})


def vision(client, prompt, paths, **overrides):
    params = {"history": [], "provider": "fake", "model": "describe", "temperature": 0.5, "max_tokens": 100}
    return call(client, "/vision", prompt=prompt, images=[handle_file(str(p)) for p in paths],
                **{**params, **overrides})


def image(client, **overrides):
    return call(client, "/image", **{**IMAGE_DEFAULTS, **overrides})


def png_file(path, size=(40, 30), colour=(10, 120, 200)):
    Image.new("RGB", size, colour).save(path)
    return path


def bomb_png(width: int = 60_000, height: int = 60_000) -> bytes:
    """A tiny PNG whose header claims billions of pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    body = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


@pytest.fixture(autouse=True)
def still_answering(client):
    """After each bad input the app still answers a good request."""
    yield
    assert chat(client, "still there?") == "Echo: still there?"


# -- /chat -----------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["", "   \n\t  "], ids=["empty", "whitespace"])
def test_chat_empty_prompts(client, text):
    with pytest.raises(AppError, match="it is empty"):
        chat(client, text)


def test_chat_one_megabyte_prompt(client):
    with pytest.raises(AppError, match=r"1,000,000 characters; the limit is 100,000"):
        chat(client, "a" * 1_000_000)


def test_chat_unknown_provider_and_model(client):
    with pytest.raises(AppError, match="Unknown provider 'nope'. Available: fake"):
        chat(client, "hi", provider="nope")
    with pytest.raises(AppError, match="Fake Provider cannot use this model .'no-such-model' is not offered"):
        chat(client, "hi", model="no-such-model")


@pytest.mark.parametrize("messages, words", [
    (42, "must be"),  # plain text is a message of its own; other kinds are not
    ([{"role": "wizard", "content": "hi"}], "Unknown message role 'wizard'"),
    (["not an object"], "must be an object"),
    ([{"role": "assistant", "content": "I spoke last"}], "must end with a user message"),
], ids=["a-number", "bad-role", "not-an-object", "ends-with-assistant"])
def test_chat_malformed_messages(client, messages, words):
    with pytest.raises(AppError, match=words):
        call(client, "/chat", messages=messages, **CHAT_DEFAULTS)


def test_chat_out_of_range_parameters_are_clamped(client):
    assert chat(client, "clamp me", temperature=99, max_tokens=-5, top_p=7) == "Echo: clamp me"
    assert chat(client, "clamp me", temperature=-3, max_tokens=10**9, top_p=-1) == "Echo: clamp me"


def test_chat_odd_unicode_comes_back_intact(client):
    assert chat(client, ODD) == "Echo: " + " ".join(ODD.split())
    assert chat(client, "nul\x00 byte") == "Echo: nul\x00 byte"


# -- /vision ----------------------------------------------------------------------------------
def test_vision_without_images_or_with_an_empty_prompt(client, tmp_path):
    with pytest.raises(AppError, match="Add an image"):
        vision(client, "what is this?", [])
    with pytest.raises(AppError, match="it is empty"):
        vision(client, "   ", [])
    answer = vision(client, "", [png_file(tmp_path / "a.png")])  # an image alone is a question
    assert answer.startswith("I see 1 image(s): 40x30.")


def test_vision_fifty_images(client, tmp_path):
    paths = [png_file(tmp_path / f"i{i}.png", colour=(i, i, i)) for i in range(50)]
    with pytest.raises(AppError, match="50 images in one message; the limit is 8"):
        vision(client, "so many", paths)


def test_vision_corrupt_image(client, tmp_path):
    good = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(good, format="PNG")
    broken = tmp_path / "broken.png"
    broken.write_bytes(good.getvalue()[:60])
    with pytest.raises(AppError, match="corrupt or truncated|could not be read|not an image"):
        vision(client, "what is it?", [broken])


def test_vision_decompression_bomb(client, tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(bomb_png())
    assert bomb.stat().st_size < 5_000
    with pytest.raises(AppError, match="too large"):
        vision(client, "what is it?", [bomb])


def test_vision_non_image_file(client, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("just words, no pixels\n" * 20)
    with pytest.raises(AppError, match="not an image"):
        vision(client, "what is it?", [text])


def test_vision_unknown_provider_and_model(client, tmp_path):
    picture = png_file(tmp_path / "p.png")
    with pytest.raises(AppError, match="Unknown provider"):
        vision(client, "hi", [picture], provider="nope")
    with pytest.raises(AppError, match="not offered for vision"):
        vision(client, "hi", [picture], model="echo")


def test_vision_odd_unicode(client, tmp_path):
    answer = vision(client, ODD, [png_file(tmp_path / "p.png")])
    assert answer.endswith("You asked: " + " ".join(ODD.split()))


# -- /image -------------------------------------------------------------------------------------
@pytest.mark.parametrize("prompt", ["", " \n "], ids=["empty", "whitespace"])
def test_image_empty_prompts(client, prompt):
    with pytest.raises(AppError, match="Type a prompt first"):
        image(client, prompt=prompt)


def test_image_one_megabyte_prompt(client):
    with pytest.raises(AppError, match="the limit is 100,000"):
        image(client, prompt="b" * 1_000_000)


def test_image_unknown_provider_and_model(client):
    with pytest.raises(AppError, match="Unknown provider"):
        image(client, provider="nope")
    with pytest.raises(AppError, match="not offered for image"):
        image(client, model="no-such-model")


@pytest.mark.parametrize("overrides, expected", [
    ({"width": 10**9, "height": -5, "steps": 10**6, "seed": 2**40}, (2048, 256, 2**31 - 1)),
    ({"width": 0, "height": 333, "steps": -1, "seed": -7}, (256, 320, None)),
], ids=["too-large", "too-small"])
def test_image_out_of_range_sizes_steps_and_seed_are_clamped(client, overrides, expected):
    path, info = image(client, **overrides)
    width, height, seed = expected
    with Image.open(path) as result:
        assert result.size == (width, height)
    assert (info["width"], info["height"]) == (width, height)
    if seed is None:
        assert 0 <= info["seed"] <= 2**31 - 1  # a negative seed means "random"
    else:
        assert info["seed"] == seed


def test_image_odd_unicode_prompt(client):
    path, info = image(client, prompt=ODD)
    assert info["provider"] == "fake" and path
