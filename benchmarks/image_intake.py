"""Benchmark 4: image intake of a 12-megapixel photo (4000×3000 JPEG).

Bytes the provider receives and the time `providers.media.prepare_image` takes (decode,
downscale, re-encode within the byte budget); medians over repeats.
Targets: ≤ 400 KB sent, ≤ 200 ms to prepare.
"""

from __future__ import annotations

import io
import tempfile
import time

import common  # noqa: F401  (puts the repository on sys.path)
from PIL import Image, ImageDraw, ImageFilter

from providers.media import prepare_image

REPEATS = 5


def photo() -> bytes:
    """A photo-like 4000×3000 JPEG: gradients, shapes and sensor-like noise (hard to compress)."""
    width, height = 4000, 3000
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.effect_noise((width, height), 40).convert("RGB")
    image = Image.blend(base, noise, 0.35)
    draw = ImageDraw.Draw(image)
    for i in range(40):
        x, y = (i * 97) % width, (i * 131) % height
        draw.ellipse([x, y, x + 300, y + 200], fill=((i * 40) % 256, (i * 90) % 256, (i * 150) % 256))
    image = image.filter(ImageFilter.GaussianBlur(0.6))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def main() -> None:
    data = photo()
    with tempfile.NamedTemporaryFile(suffix=".jpg") as file:
        file.write(data)
        file.flush()
        times, prepared = [], None
        for _ in range(REPEATS):
            started = time.perf_counter()
            prepared = prepare_image(data)
            times.append(time.perf_counter() - started)
        path_times = []
        for _ in range(REPEATS):  # from a file path, as an upload arrives (cached per file after the first)
            started = time.perf_counter()
            prepare_image(file.name)
            path_times.append(time.perf_counter() - started)
    seconds = common.median(times)
    ok_bytes, ok_time = len(prepared.data) <= 400_000, seconds <= 0.2
    rows = [["12 MP photo (4000×3000 JPEG)", f"{len(data) / 1000:,.0f}", f"{prepared.width}×{prepared.height}",
             f"{len(prepared.data) / 1000:,.0f}", f"{seconds * 1000:.0f}", f"{path_times[0] * 1000:.0f}",
             f"{common.median(path_times[1:]) * 1000:.1f}"]]
    notes = [f"Median of {REPEATS}. Target ≤ 400 KB sent: {common.verdict(ok_bytes)}; "
             f"≤ 200 ms to prepare: {common.verdict(ok_time)}.",
             "From a path, the first preparation decodes the file; repeats of the same unchanged file (history "
             "re-sent on the next turn) come from a cache."]
    common.publish("image_intake", common.table(
        "4. Image intake (12-megapixel photo)",
        ["input", "input KB", "sent size", "sent KB", "prepare (ms, bytes)", "prepare (ms, first from path)",
         "prepare (ms, path again)"], rows, notes))


if __name__ == "__main__":
    main()
