"""Image intake: validation, EXIF orientation, RGB, downscaling and limits."""

from __future__ import annotations

import asyncio
import io
import random
import struct
import threading
import time
import zlib

import pytest
from PIL import Image

from providers import InputError, ProtocolError
from providers.media import (
    ImageLimits,
    ReturnedImage,
    check_returned_image,
    prepare_image,
    prepare_images,
    prepare_images_async,
    returned_image,
    run_image_work,
)


def _jpeg(size, colour=(10, 120, 200), exif_orientation: int | None = None) -> bytes:
    image = Image.new("RGB", size, colour)
    buffer = io.BytesIO()
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        image.save(buffer, format="JPEG", exif=exif)
    else:
        image.save(buffer, format="JPEG")
    return buffer.getvalue()


def _noisy_photo(width: int, height: int) -> bytes:
    """A photo-like 12 MP JPEG: smooth gradients plus grain (hard to compress)."""
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.effect_noise((width, height), 40).convert("RGB")
    image = Image.blend(base, noise, 0.35)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def test_twelve_megapixel_photo_goes_out_small_and_fast(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(_noisy_photo(4000, 3000))
    started = time.perf_counter()
    prepared = prepare_image(path)
    elapsed = time.perf_counter() - started
    assert len(prepared.data) <= 400_000
    assert max(prepared.width, prepared.height) <= ImageLimits().max_side
    assert (prepared.width, prepared.height) == (1280, 960)
    assert prepared.mime == "image/jpeg" and prepared.data_url().startswith("data:image/jpeg;base64,")
    assert elapsed < 5  # generous: speed targets live in benchmarks/


def test_exif_orientation_is_applied():
    prepared = prepare_image(_jpeg((400, 200), exif_orientation=6))  # rotate 90 degrees
    assert (prepared.width, prepared.height) == (200, 400)


def test_transparent_png_becomes_rgb_on_white():
    image = Image.new("RGBA", (50, 40), (255, 0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    prepared = prepare_image(buffer.getvalue())
    with Image.open(io.BytesIO(prepared.data)) as out:
        assert out.mode == "RGB"
        r, g, b = out.getpixel((25, 20))
        assert min(r, g, b) > 240


def test_non_image_is_rejected_clearly(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello, not an image")
    with pytest.raises(InputError, match="'notes.txt' is not an image"):
        prepare_image(path)


def test_corrupt_image_is_rejected_clearly():
    data = _jpeg((300, 300))
    with pytest.raises(InputError, match="corrupt or truncated"):
        prepare_image(data[: len(data) // 3])


def test_empty_and_missing_files_are_rejected(tmp_path):
    with pytest.raises(InputError, match="empty"):
        prepare_image(b"")
    with pytest.raises(InputError, match="could not be read"):
        prepare_image(tmp_path / "missing.png")


@pytest.mark.parametrize("side", [8000, 30000])  # 64 MP (our limit) and 900 MP (Pillow's bomb guard)
def test_decompression_bomb_is_refused_before_decoding(side):
    image = Image.new("1", (side, side))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    assert len(buffer.getvalue()) < 1_000_000
    with pytest.raises(InputError, match="over the limit|too large to decode safely"):
        prepare_image(buffer.getvalue())


def test_oversized_file_is_refused(monkeypatch):
    monkeypatch.setenv("IMAGE_MAX_FILE_BYTES", "100000")
    noise = bytes(random.Random(1).getrandbits(8) for _ in range(150_000))
    with pytest.raises(InputError, match="limit is 0 MB|the limit is"):
        prepare_image(noise)


def test_images_per_message_are_capped(monkeypatch):
    monkeypatch.setenv("IMAGE_MAX_PER_MESSAGE", "2")
    image = _jpeg((20, 20))
    assert len(prepare_images([image, image])) == 2
    with pytest.raises(InputError, match="3 images in one message; the limit is 2"):
        prepare_images([image, image, image])


def test_max_side_is_configurable(monkeypatch):
    monkeypatch.setenv("IMAGE_MAX_SIDE", "256")
    prepared = prepare_image(_jpeg((1000, 500)))
    assert (prepared.width, prepared.height) == (256, 128)


# -- the image pool ------------------------------------------------------------------------------
async def test_prepare_images_async_runs_in_the_image_pool():
    image = _jpeg((300, 200))
    loop_thread = threading.current_thread().name
    prepared = await prepare_images_async([image])
    assert [(p.width, p.height) for p in prepared] == [(300, 200)]
    assert await run_image_work(lambda: threading.current_thread().name) != loop_thread
    assert (await run_image_work(lambda: threading.current_thread().name)).startswith("image-work")
    with pytest.raises(InputError, match="corrupt"):
        await prepare_images_async([image[:100]])


async def test_the_image_pool_is_bounded_and_jobs_queue_in_order():
    from providers.media import _image_pool

    workers = _image_pool()._max_workers
    release = threading.Event()
    lock = threading.Lock()
    running, most, order = [0], [0], []

    def job(index: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            order.append(index)
        release.wait(30)
        with lock:
            running[0] -= 1
        return index

    tasks = [asyncio.create_task(run_image_work(job, i)) for i in range(workers + 3)]
    for _ in range(3000):  # until the pool is full (generous: 30 s)
        if len(order) >= workers:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # room for a job past the bound to start, if the pool allowed it
    assert len(order) == workers
    release.set()
    assert await asyncio.gather(*tasks) == list(range(workers + 3))
    assert most[0] == workers and order == list(range(workers + 3))


# -- images providers return ---------------------------------------------------------------------
def _png(size, mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="PNG")
    return buffer.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header says width×height but whose pixel data is not even zlib: undecodable."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"not pixels") + chunk(b"IEND", b"")


def test_a_returned_image_within_the_limits_is_kept_as_it_is():
    data = _png((64, 48))
    assert check_returned_image(data, "Prov") == ReturnedImage(data, "image/png", 64, 48)
    jpeg = _jpeg((30, 20))
    assert check_returned_image(jpeg, "Prov") == ReturnedImage(jpeg, "image/jpeg", 30, 20)


def test_a_returned_image_over_the_pixel_limit_is_refused_with_a_clear_message():
    with pytest.raises(ProtocolError) as info:
        check_returned_image(_png((9000, 9000), mode="1"), "Prov")
    assert str(info.value) == ("Prov: unexpected response from the service (the service returned a 9000×9000 "
                               "image, over the 50,000,000-pixel limit)")


def test_the_pixel_limit_is_checked_before_anything_is_decoded():
    with pytest.raises(ValueError, match="not a whole image"):  # decoding this fails...
        check_returned_image(_png_header_only(64, 64), "Prov")
    with pytest.raises(ProtocolError, match="9000×9000"):  # ...so it was never attempted here
        check_returned_image(_png_header_only(9000, 9000), "Prov")


def test_a_lazily_opened_pil_image_is_checked_before_it_is_loaded():
    image = Image.open(io.BytesIO(_png_header_only(9000, 9000)))  # what huggingface_hub returns
    with pytest.raises(ProtocolError, match="9000×9000 image, over the 50,000,000-pixel limit"):
        check_returned_image(image, "Hugging Face")
    small = Image.open(io.BytesIO(_jpeg((40, 30))))
    checked = check_returned_image(small, "Hugging Face")
    assert (checked.mime, checked.width, checked.height) == ("image/png", 40, 30)
    cmyk = Image.new("CMYK", (10, 10))
    assert check_returned_image(cmyk, "Hugging Face").mime == "image/png"


def test_returned_images_limits_follow_the_settings(monkeypatch):
    monkeypatch.setenv("IMAGE_MAX_PIXELS", "1000000")
    with pytest.raises(ProtocolError, match="1001×1000 image, over the 1,000,000-pixel limit"):
        check_returned_image(_png((1001, 1000), mode="1"), "Prov")
    monkeypatch.setenv("IMAGE_MAX_FILE_BYTES", "100000")
    noise = Image.effect_noise((400, 400), 100).convert("RGB")
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG")
    with pytest.raises(ProtocolError, match=r"returned a 0\.\d+ MB image, over the 0\.1 MB limit"):
        check_returned_image(buffer.getvalue(), "Prov")


def test_unreadable_returned_images_are_a_value_error_and_other_formats_become_png():
    with pytest.raises(ValueError, match="empty"):
        check_returned_image(b"", "Prov")
    data = _jpeg((300, 300))
    with pytest.raises(ValueError, match="not a whole image"):
        check_returned_image(data[: len(data) // 2], "Prov")
    with pytest.raises(ValueError, match="not a whole image"):
        check_returned_image(b"<html>not an image</html>", "Prov")
    buffer = io.BytesIO()
    Image.new("RGB", (12, 10)).save(buffer, format="BMP")
    checked = check_returned_image(buffer.getvalue(), "Prov")
    assert (checked.mime, checked.width, checked.height) == ("image/png", 12, 10)
    assert checked.data.startswith(b"\x89PNG")


async def test_returned_image_runs_in_the_image_pool():
    checked = await returned_image(_png((20, 10)), "Prov")
    assert (checked.width, checked.height) == (20, 10)
    with pytest.raises(ProtocolError, match="Prov: "):
        await returned_image(_png((9000, 9000), mode="1"), "Prov")
