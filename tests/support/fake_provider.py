"""A test-only provider, loaded with PLAYGROUND_EXTRA_PROVIDERS=tests.support.fake_provider:FakeProvider.

Behaviour is driven by the model and the user's text so tests need no network:
- model "echo": streams "Echo: <text>" word by word; "slow" does the same with a delay
  (FAKE_TOKEN_DELAY seconds per word, default 0.05); "count" (or the text "count N" with any model) streams N words;
  "thinker" adds reasoning, sources and a title.
- text "fail:<kind>" raises that typed error before any output; "fail-mid:<kind>" after some.
- vision "describe": names each image's size; image "pattern": a PNG of the asked size.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator

from PIL import Image

from providers import (
    AuthRequiredError,
    Capability,
    ChatRequest,
    Finish,
    ImageRequest,
    ImageResult,
    Provider,
    RateLimitedError,
    ReasoningDelta,
    Source,
    Sources,
    TextDelta,
    Title,
    UnavailableError,
    Visitor,
)
from providers.errors import ProtocolError, ProviderError

ERRORS: dict[str, type[ProviderError]] = {
    "auth": AuthRequiredError,
    "rate": RateLimitedError,
    "down": UnavailableError,
    "protocol": ProtocolError,
}


class FakeProvider(Provider):
    id = "fake"
    label = "Fake Provider"
    url = "http://127.0.0.1/"
    capabilities = frozenset({Capability.TEXT, Capability.VISION, Capability.IMAGE})
    models = {
        Capability.TEXT: ["echo", "slow", "count", "thinker"],
        Capability.VISION: ["describe", "slow"],
        Capability.IMAGE: ["pattern"],
    }
    aliases = {"e": "echo"}

    def _delay(self, model: str) -> float:
        return float(os.environ.get("FAKE_TOKEN_DELAY", "0.05")) if model == "slow" else 0.0

    async def chat(self, request: ChatRequest, visitor: Visitor) -> AsyncIterator:
        text = request.messages[-1].text.strip()
        for prefix, before in (("fail:", True), ("fail-mid:", False)):
            if text.startswith(prefix):
                kind = text[len(prefix):].split()[0]
                if not before:
                    for word in ("partial", "answer"):
                        yield TextDelta(word + " ")
                raise ERRORS.get(kind, UnavailableError)(self.label, f"scripted {kind}")
        if request.model == "thinker":
            yield ReasoningDelta("Let me think. ")
            yield Title("A scripted chat")
            yield Sources((Source("Example", "https://example.com/"),))
        words = self._words(request, text)
        delay = self._delay(request.model)
        for i, word in enumerate(words):
            if delay:
                await asyncio.sleep(delay)
            yield TextDelta(word if i == 0 else " " + word)
        yield Finish("stop")

    def _words(self, request: ChatRequest, text: str) -> list[str]:
        parts = text.split()
        if request.model == "count" or (len(parts) == 2 and parts[0] == "count" and parts[1].isdigit()):
            count = int(parts[-1]) if parts[-1].isdigit() else 10
            return [f"w{i}" for i in range(count)]
        if request.capability is Capability.VISION:
            sizes = [f"{img.width}x{img.height}" for m in request.messages for img in m.images]
            return f"I see {len(sizes)} image(s): {', '.join(sizes)}. You asked: {text}".split()
        prefix = f"[{request.system_prompt}] " if request.system_prompt else ""
        return f"{prefix}Echo: {text}".split()

    async def generate_image(self, request: ImageRequest, visitor: Visitor) -> ImageResult:
        if request.prompt.startswith("fail:"):
            kind = request.prompt[5:].split()[0]
            raise ERRORS.get(kind, UnavailableError)(self.label, f"scripted {kind}")
        seed = request.resolved_seed()
        colour = (seed % 256, (seed // 256) % 256, (seed // 65536) % 256)
        buffer = io.BytesIO()
        Image.new("RGB", (request.width, request.height), colour).save(buffer, format="PNG")
        return ImageResult(buffer.getvalue(), request.model, seed, request.width, request.height)
