"""Image intake: validate, orient, convert and shrink images before they go to a provider.

Also the one check for images a provider returns (`returned_image`), and the bounded pool
all image work runs in (`run_image_work`): decoding, resizing and encoding are CPU-heavy,
so async callers never do them on the event loop. The pool has `IMAGE_WORKERS` threads
per process (default 2) and each call (a whole message's images, or one returned image)
is one job, so one visitor's big batch holds at most one worker while others queue
behind it in order, and no image work takes threads from the loop's default executor.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import functools
import io
import logging
import os
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, TypeVar

from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import InputError, ProtocolError
from .settings import MediaSettings

T = TypeVar("T")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageLimits:
    """Limits for incoming images; defaults documented in the README."""

    max_side: int = 1280
    max_bytes: int = 400_000
    max_pixels: int = 50_000_000
    max_file_bytes: int = 25_000_000
    max_per_message: int = 8

    @classmethod
    def from_env(cls) -> ImageLimits:
        media = MediaSettings.current()
        return cls(max_side=media.max_side, max_bytes=media.max_bytes, max_pixels=media.max_pixels,
                   max_file_bytes=media.max_file_bytes, max_per_message=media.max_per_message)


@dataclass(frozen=True)
class PreparedImage:
    """An image ready to send: RGB, bounded size, JPEG-encoded."""

    data: bytes
    width: int
    height: int
    mime: str = "image/jpeg"
    name: str = "image.jpg"

    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")

    def data_url(self) -> str:
        return f"data:{self.mime};base64,{self.base64()}"


def prepare_image(source: str | os.PathLike | bytes, limits: ImageLimits | None = None) -> PreparedImage:
    """Validate and normalise one image from a path or bytes.

    Raises InputError with a clear message for non-images, corrupt files,
    decompression bombs and oversized files.
    """
    limits = limits or ImageLimits.from_env()
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            stat = path.stat()
        except OSError as exc:
            raise InputError(f"Image file {path.name!r} could not be read.") from exc
        return _prepare_path(str(path), stat.st_mtime_ns, stat.st_size, limits)
    return _prepare_bytes(bytes(source), "image", limits)


@lru_cache(maxsize=256)
def _prepare_path(path: str, _mtime_ns: int, size: int, limits: ImageLimits) -> PreparedImage:
    # Cached per (path, mtime, size): earlier turns' images are not re-encoded every turn.
    name = Path(path).name
    if size > limits.max_file_bytes:
        raise InputError(
            f"Image {name!r} is {size / 1e6:.1f} MB; the limit is {limits.max_file_bytes / 1e6:.0f} MB."
        )
    with open(path, "rb") as handle:
        data = handle.read()
    return _prepare_bytes(data, name, limits)


def _prepare_bytes(data: bytes, name: str, limits: ImageLimits) -> PreparedImage:
    if not data:
        raise InputError(f"{name!r} is empty, not an image.")
    if len(data) > limits.max_file_bytes:
        raise InputError(
            f"Image {name!r} is {len(data) / 1e6:.1f} MB; the limit is {limits.max_file_bytes / 1e6:.0f} MB."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > limits.max_pixels:
                raise InputError(
                    f"Image {name!r} is {width}x{height} pixels, over the limit of "
                    f"{limits.max_pixels / 1e6:.0f} megapixels."
                )
            image.draft("RGB", (limits.max_side, limits.max_side))
            image.load()
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(f"Image {name!r} is too large to decode safely.") from exc
    except UnidentifiedImageError as exc:
        raise InputError(f"{name!r} is not an image in a format we can read.") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"Image {name!r} is corrupt or truncated.") from exc
    image = ImageOps.exif_transpose(image)
    image = _to_rgb(image)
    image.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS)
    encoded = _encode_within(image, limits.max_bytes)
    stem = Path(name).stem or "image"
    return PreparedImage(encoded, image.width, image.height, name=f"{stem}.jpg")


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _encode_within(image: Image.Image, max_bytes: int) -> bytes:
    """JPEG-encode, lowering quality then size until the result fits `max_bytes`."""
    quality = 85
    while True:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality, optimize=True)
        data = buffer.getvalue()
        if len(data) <= max_bytes or (quality <= 50 and min(image.size) <= 64):
            return data
        if quality > 50:
            quality -= 15
        else:
            image = image.resize((max(1, image.width * 3 // 4), max(1, image.height * 3 // 4)))


def prepare_images(sources: list, limits: ImageLimits | None = None) -> list[PreparedImage]:
    """Prepare several images of one message, enforcing the per-message cap."""
    limits = limits or ImageLimits.from_env()
    if len(sources) > limits.max_per_message:
        raise InputError(
            f"{len(sources)} images in one message; the limit is {limits.max_per_message}."
        )
    return [prepare_image(source, limits) for source in sources]


async def prepare_images_async(sources: list, limits: ImageLimits | None = None) -> list[PreparedImage]:
    """`prepare_images` in the image pool: what async handlers call."""
    return await run_image_work(prepare_images, sources, limits)


# -- the image pool ------------------------------------------------------------------------------
#: Default number of image worker threads per process (IMAGE_WORKERS).
DEFAULT_IMAGE_WORKERS = 2
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def image_workers() -> int:
    """Threads in the image pool (IMAGE_WORKERS, read when the pool is first used)."""
    return MediaSettings.current().workers


def _image_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=image_workers(), thread_name_prefix="image-work")
        return _pool


async def run_image_work(fn: Callable[..., T], /, *args, **kwargs) -> T:
    """Run blocking image work in the bounded image pool (like `asyncio.to_thread`, context included).

    Jobs beyond the pool's size wait in order; a job whose caller is cancelled before it
    starts never runs.
    """
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await loop.run_in_executor(_image_pool(), call)


# -- images providers return ---------------------------------------------------------------------
_PNG_MODES = {"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"}
_SHOWABLE = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}


class ReturnedImage(NamedTuple):
    """A checked image from a provider: bytes a browser shows, their MIME type and size."""

    data: bytes
    mime: str
    width: int
    height: int


def _over_the_limit(width: int, height: int, limits: ImageLimits) -> str | None:
    if width * height > limits.max_pixels:
        return f"the service returned a {width}×{height} image, over the {limits.max_pixels:,}-pixel limit"
    return None


def check_returned_image(source: bytes | Image.Image, provider: str,
                         limits: ImageLimits | None = None) -> ReturnedImage:
    """Check an image a provider returned; blocking (call it in a worker, see `returned_image`).

    The size is read from the header and checked against IMAGE_MAX_PIXELS (and the bytes
    against IMAGE_MAX_FILE_BYTES) before anything is decoded: over them, a ProtocolError
    naming `provider` ("the service returned a 9000×9000 image, over the 50,000,000-pixel
    limit"). Then the image is decoded once, so a cut-off or corrupt file is found here:
    a ValueError (callers refetch, or report it). Bytes in a format browsers show are kept
    as they are; a PIL image (huggingface_hub's answer) and other formats become PNG.
    """
    limits = limits or ImageLimits.from_env()
    if isinstance(source, Image.Image):
        return _checked_pil(source, provider, limits)
    data = bytes(source)
    if not data:
        raise ValueError("the file is empty")
    if len(data) > limits.max_file_bytes:
        raise ProtocolError(provider, f"the service returned a {len(data) / 1e6:.3g} MB image, over the "
                                      f"{limits.max_file_bytes / 1e6:.3g} MB limit")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if problem := _over_the_limit(width, height, limits):
                    raise ProtocolError(provider, problem)
                image.load()
                mime = _SHOWABLE.get(image.format or "")
                if mime is None:
                    return _checked_pil(image, provider, limits)
    except Image.DecompressionBombError as exc:
        raise ProtocolError(provider, f"the service returned an image over the {limits.max_pixels:,}-pixel "
                                      "limit") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValueError("the file is not a whole image") from exc
    return ReturnedImage(data, mime, width, height)


def _checked_pil(image: Image.Image, provider: str, limits: ImageLimits) -> ReturnedImage:
    width, height = image.size  # from the header: nothing decoded yet
    if problem := _over_the_limit(width, height, limits):
        raise ProtocolError(provider, problem)
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            if image.mode not in _PNG_MODES:  # e.g. CMYK or YCbCr
                image = image.convert("RGBA" if "A" in image.mode else "RGB")
            image.save(buffer, format="PNG")
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError("the image could not be decoded") from exc
    return ReturnedImage(buffer.getvalue(), "image/png", width, height)


async def returned_image(source: bytes | Image.Image, provider: str,
                         limits: ImageLimits | None = None) -> ReturnedImage:
    """`check_returned_image` in the image pool: what adapters call for every image they are given."""
    return await run_image_work(check_returned_image, source, provider, limits)
