"""A test-only provider, loaded with PLAYGROUND_EXTRA_PROVIDERS=tests.support.fake_provider:FakeProvider.

Behaviour is driven by the model and the user's text so tests need no network:
- model "echo": streams "Echo: <text>" word by word; "slow" does the same with a delay
  (FAKE_TOKEN_DELAY seconds per word, default 0.05); "count" (or the text "count N" with any model) streams N words;
  "thinker" adds reasoning, sources and a title; "broken" streams "partial answer" then fails (unavailable).
- text "fail:<kind>" raises that typed error before any output; "fail-mid:<kind>" after some
  ("fail:token": the visitor's own token refused, a failure the visitor fixes in Settings).
- text "gather N": waits (at most 5 s) until N turns have arrived, then answers
  "gathered K" with K the turns that arrived: proof that calls overlap, not queue.
- text "turns?": answers "<N> turns", N the messages received (shows which history was sent).
- continue_last: answers " and so it continued." (extending the last answer).
- text "cut:<text>": echoes like "echo" but ends as cut short (`Finish("length")`).
- text "hostile:<payload>": streams the payload verbatim as the answer, in pieces (percent-escapes
  are decoded first, so the user's own message can carry it inertly: "hostile:%3Cform%3E");
  "hostile-all:<payload>" also sends it as reasoning, a status and as source titles (one
  source to a javascript: URL, one to http://127.0.0.1:9/ok).
- text "fail-html" (or "fail-html:<payload>", decoded the same way): fails before any output
  with an error whose detail is HTML (a form, a password input, an image, bold text).
- vision "describe": names each image's size; image "pattern": a PNG of the asked size.
- image "progress": a pattern made slowly, reporting its place in a queue (3, 2, 1 of 7) and then
  its steps (1..N of N, N the steps asked, at most 12), FAKE_IMAGE_STEP_DELAY seconds (default 0.3)
  for each step and twice that for each place; image "slow": the same wait with no report at all (as the Hugging Face provider).
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator, Callable
from functools import partial
from urllib.parse import unquote

from PIL import Image

from providers import (
    AuthRequiredError,
    Capability,
    ChatRequest,
    Finish,
    ImageOptions,
    ImageRequest,
    ImageResult,
    Provider,
    RateLimitedError,
    ReasoningDelta,
    Source,
    Sources,
    Status,
    TextDelta,
    Title,
    UnavailableError,
    Visitor,
)
from providers.errors import ProtocolError, ProviderError
from providers.events import Progress, report_progress

ERRORS: dict[str, Callable[..., ProviderError]] = {
    "auth": AuthRequiredError,
    "token": partial(AuthRequiredError, credential="Hugging Face token"),  # the visitor's own token, refused
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
        Capability.TEXT: ["echo", "slow", "count", "thinker", "broken"],
        Capability.VISION: ["describe", "slow"],
        Capability.IMAGE: ["pattern", "progress", "slow"],
    }
    aliases = {"e": "echo"}
    supports_continue = True
    # The "gather" probe's barrier, shared by all instances in this process.
    active = 0
    arrived = 0
    barrier: asyncio.Event | None = None

    def _delay(self, model: str) -> float:
        return float(os.environ.get("FAKE_TOKEN_DELAY", "0.05")) if model == "slow" else 0.0

    async def chat(self, request: ChatRequest, visitor: Visitor) -> AsyncIterator:
        text = request.messages[-1].text.strip()
        if request.continue_last:  # extend the last answer
            yield TextDelta(" and so it continued.")
            return
        if text.startswith("gather "):
            async for event in self._gather(int(text.split()[1])):
                yield event
            return
        if text == "turns?":
            yield TextDelta(f"{len(request.messages)} turns")
            return
        if request.model == "broken":
            text = "fail-mid:down"
        if text.startswith(HOSTILE_PREFIXES) or text.startswith("fail-html"):
            async for event in self._hostile(text):
                yield event
            return
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
        yield Finish("length" if text.startswith("cut:") else "stop")

    async def _gather(self, wanted: int) -> AsyncIterator:
        """A barrier: every turn waits until `wanted` turns have arrived (or 5 s pass)."""
        cls = FakeProvider
        if cls.barrier is None:
            cls.barrier = asyncio.Event()
        barrier = cls.barrier
        cls.active += 1
        cls.arrived += 1
        if cls.arrived >= wanted:
            barrier.set()
        try:
            try:
                await asyncio.wait_for(barrier.wait(), 5)
            except asyncio.TimeoutError:
                pass
            yield TextDelta(f"gathered {cls.arrived}")
        finally:
            cls.active -= 1
            if cls.active == 0:
                cls.arrived, cls.barrier = 0, None

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
        if request.prompt.startswith("fail-html"):
            raise UnavailableError(self.label, _hostile_payload(request.prompt, "fail-html") or HOSTILE_ERROR)
        if request.prompt.startswith("fail:"):
            kind = request.prompt[5:].split()[0]
            raise ERRORS.get(kind, UnavailableError)(self.label, f"scripted {kind}")
        if request.model in ("progress", "slow"):
            await self._slowly(request)
        seed = request.resolved_seed()
        colour = (seed % 256, (seed // 256) % 256, (seed // 65536) % 256)
        buffer = io.BytesIO()
        Image.new("RGB", (request.width, request.height), colour).save(buffer, format="PNG")
        return ImageResult(buffer.getvalue(), request.model, seed, request.width, request.height)

    def image_options(self, model: str) -> ImageOptions:
        return ImageOptions(steps=(1, 12), default_steps=12) if model == "progress" else ImageOptions()

    async def _slowly(self, request: ImageRequest) -> None:
        """The waits of the "progress" and "slow" image models (see the module docstring)."""
        delay = float(os.environ.get("FAKE_IMAGE_STEP_DELAY", "0.3"))
        total = min(request.steps or 12, 12)
        reports = [Progress("queued", position=place, queue_size=7) for place in (3, 2, 1)]
        reports += [Progress("running", step=step, total=total, unit="steps") for step in range(1, total + 1)]
        for report in reports:
            if request.model == "progress":
                report_progress(report)
            await asyncio.sleep(delay * (2 if report.stage == "queued" else 1))

    async def _hostile(self, text: str) -> AsyncIterator:
        """Untrusted-looking output: the payload verbatim (see the module docstring)."""
        if text.startswith("fail-html"):
            raise UnavailableError(self.label, _hostile_payload(text, "fail-html") or HOSTILE_ERROR)
        everywhere = text.startswith("hostile-all:")
        payload = _hostile_payload(text, "hostile-all:" if everywhere else "hostile:")
        if everywhere:
            yield Status(payload)
            yield ReasoningDelta(payload)
            yield Sources((Source(payload, "javascript:alert(document.domain)"),
                           Source(payload, "http://127.0.0.1:9/ok")))
        step = max(1, len(payload) // 8)
        for start in range(0, len(payload), step):  # in pieces, so frames show half-open tags
            yield TextDelta(payload[start:start + step])
        yield Finish("stop")


#: User-text prefixes that make the fake provider answer with a hostile payload.
HOSTILE_PREFIXES = ("hostile:", "hostile-all:")
#: The error detail for "fail-html" without a payload of its own.
HOSTILE_ERROR = ('<img src="http://127.0.0.1:9/leak.png"><b>bold</b> & '
                 '<form action="http://127.0.0.1:9/"><input type="password" name="token"></form>')


def _hostile_payload(text: str, prefix: str) -> str:
    """The payload after `prefix` (and an optional ":"), percent-escapes decoded."""
    return unquote(text[len(prefix):].removeprefix(":"))
