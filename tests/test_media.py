"""Image intake: validation, EXIF orientation, RGB, downscaling and limits."""

from __future__ import annotations

import io
import random
import time

import pytest
from PIL import Image

from providers import InputError
from providers.media import ImageLimits, prepare_image, prepare_images


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
