"""Generated images: saved into Gradio's cache (so `delete_cache` ages them out) and the
generation step shared by the Text-to-image tab and the API."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path

import gradio as gr
from gradio.context import LocalContext
from gradio.utils import get_upload_folder

from playground.service import ImageDone
from providers import Capability, ImageResult, Visitor
from providers.events import Progress

from .context import AppContext

_SUFFIX = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif"}


def playground_folder() -> Path:
    """Where the app writes generated images and exports: inside Gradio's cache (GRADIO_TEMP_DIR).

    Gradio's `delete_cache` (PLAYGROUND_CACHE_MAX_AGE) removes a file there once it is older
    than the age: Gradio tracks every file of its cache an event hands to the page.
    """
    return Path(get_upload_folder()) / "playground"


def save_image_bytes(data: bytes, mime: str = "image/png") -> str:
    """Write image bytes into Gradio's upload folder (content-addressed) and return the path.

    An existing copy is touched, so the age Gradio's `delete_cache` goes by starts again
    when it is handed out again; the file is registered with the running app's cache, so it
    is cleaned up even if it never reaches the page.
    """
    folder = playground_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (hashlib.sha256(data).hexdigest()[:32] + _SUFFIX.get(mime, ".png"))
    try:
        os.utime(path)
    except FileNotFoundError:
        tmp = path.with_suffix(path.suffix + f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    track_in_cache(path)
    return str(path)


def track_in_cache(path: str | os.PathLike) -> None:
    """Add a file to the running app's cache files (those `delete_cache` ages out), if in an event."""
    blocks = LocalContext.blocks.get(None)
    files = getattr(blocks, "upload_file_set", None)
    if isinstance(files, set):
        files.add(str(path))


async def generate(ctx: AppContext, request: gr.Request | None, prompt: str, provider_id: str | None,
                   model: str | None, negative_prompt: str, width: float, height: float,
                   steps: float | None, guidance: float | None, seed: float | None) -> tuple[str, dict]:
    """Run one generation; returns the image path and `{provider, model, seed, width, height, seconds}`.

    Raises PlaygroundError; the caller turns it into its toast or API error.
    """
    visitor = ctx.visitor(request)
    result, seconds = await ctx.playground.image(
        prompt, provider_id=provider_id, model=model, visitor=visitor,
        **_options(negative_prompt, width, height, steps, guidance, seed))
    return _saved(ctx, provider_id, visitor, result, seconds)


async def generate_events(ctx: AppContext, request: gr.Request | None, prompt: str, provider_id: str | None,
                          model: str | None, negative_prompt: str, width: float, height: float,
                          steps: float | None, guidance: float | None,
                          seed: float | None) -> AsyncIterator[Progress | tuple[str, dict]]:
    """`generate` as a stream: `Progress` while the image is being made, then `(path, info)`.

    Closing the stream cancels the generation (see `Playground.image_events`).
    """
    visitor = ctx.visitor(request)
    events = ctx.playground.image_events(prompt, provider_id=provider_id, model=model, visitor=visitor,
                                         **_options(negative_prompt, width, height, steps, guidance, seed))
    async with aclosing(events):
        async for event in events:
            if isinstance(event, ImageDone):
                yield _saved(ctx, provider_id, visitor, event.result, event.seconds)
            else:
                yield event


def _options(negative_prompt: str, width: float, height: float, steps: float | None, guidance: float | None,
             seed: float | None) -> dict:
    return {"negative_prompt": negative_prompt, "width": width, "height": height, "steps": steps,
            "guidance": guidance, "seed": seed if seed is not None else -1}


def _saved(ctx: AppContext, provider_id: str | None, visitor: Visitor, result: ImageResult,
           seconds: float) -> tuple[str, dict]:
    """The image saved into the cache, and what was used to make it."""
    provider = ctx.registry.get(provider_id) if provider_id else ctx.registry.default_for(Capability.IMAGE, visitor)
    info = {
        "provider": provider.id if provider else "",
        "model": result.model,
        "seed": result.seed,
        "width": result.width,
        "height": result.height,
        "seconds": round(seconds, 3),
    }
    return save_image_bytes(result.data, result.mime), info
