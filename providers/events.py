"""Typed streaming events produced by providers, and the Reply that accumulates them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TextDelta:
    """A piece of answer text."""

    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    """A piece of the model's visible reasoning ("thinking")."""

    text: str


@dataclass(frozen=True)
class Source:
    title: str
    url: str


@dataclass(frozen=True)
class Sources:
    """Web sources the answer is based on."""

    sources: tuple[Source, ...]


@dataclass(frozen=True)
class Title:
    """A title for the conversation."""

    title: str


@dataclass(frozen=True)
class ImageOutput:
    """An image produced during a chat turn (encoded bytes)."""

    data: bytes
    mime: str = "image/png"


@dataclass(frozen=True)
class Status:
    """A transient note for the user, e.g. "model loading, retrying in 5 s"."""

    text: str


@dataclass(frozen=True)
class Attribution:
    """Who actually answered, when it is not the provider asked (Auto answers through another)."""

    provider: str
    model: str
    provider_id: str = ""


@dataclass(frozen=True)
class Usage:
    """Tokens the provider says the answer took (where it reports them)."""

    output_tokens: int


@dataclass(frozen=True)
class Finish:
    """End of the turn: "stop", "length", "cancelled" or a provider-specific reason."""

    reason: str = "stop"


ChatEvent = TextDelta | ReasoningDelta | Sources | Title | ImageOutput | Status | Attribution | Usage | Finish


@dataclass
class Reply:
    """Everything one chat turn produced so far; fed event by event."""

    text: str = ""
    reasoning: str = ""
    sources: list[Source] = field(default_factory=list)
    title: str = ""
    images: list[ImageOutput] = field(default_factory=list)
    status: str = ""
    finish_reason: str | None = None
    answered_by: Attribution | None = None
    #: Output tokens as the provider reported them (None: not reported).
    output_tokens: int | None = None

    def apply(self, event: ChatEvent) -> None:
        """Fold one event into the reply."""
        if isinstance(event, TextDelta):
            self.text += event.text
            self.status = ""
        elif isinstance(event, ReasoningDelta):
            self.reasoning += event.text
        elif isinstance(event, Sources):
            known = {s.url for s in self.sources}
            self.sources.extend(s for s in event.sources if s.url not in known)
        elif isinstance(event, Title):
            self.title = event.title
        elif isinstance(event, ImageOutput):
            self.images.append(event)
        elif isinstance(event, Status):
            self.status = event.text
        elif isinstance(event, Attribution):
            self.answered_by = event
        elif isinstance(event, Usage):
            self.output_tokens = event.output_tokens
        elif isinstance(event, Finish):
            self.finish_reason = event.reason

    @property
    def has_content(self) -> bool:
        return bool(self.text or self.reasoning or self.images)


# -- progress of a long job (an image) ---------------------------------------------------------
@dataclass(frozen=True)
class Progress:
    """How far a long job has got, as the service reports it.

    `stage` "queued": waiting at `position` (1 = next) of `queue_size`, `eta` seconds as the
    service estimates. `stage` "running": at `step` of `total` where the service counts steps
    (else nothing is known but that it runs). `elapsed`: seconds since the request was made,
    filled in by whoever listens (see `playground.service.Playground.image_events`).
    """

    stage: str = "running"
    position: int | None = None
    queue_size: int | None = None
    eta: float | None = None
    step: int | None = None
    total: int | None = None
    #: What the service calls its steps and the job ("steps", "Denoising"): untrusted text.
    unit: str = ""
    description: str = ""
    elapsed: float = 0.0

    @property
    def fraction(self) -> float | None:
        """Share done (0..1) when the service counts steps, else None."""
        if self.stage != "running" or self.step is None or not self.total:
            return None
        return min(1.0, max(0.0, self.step / self.total))


ProgressSink = Callable[[Progress], None]
_progress_sink: ContextVar[ProgressSink | None] = ContextVar("progress_sink", default=None)


def report_progress(progress: Progress) -> None:
    """Tell whoever waits on the current job how far it has got (a no-op when nobody listens).

    The one way any provider reports progress: image adapters call it from inside
    `generate_image`; the caller listens with `listening_for_progress`.
    """
    sink = _progress_sink.get()
    if sink is not None:
        sink(progress)


@contextmanager
def listening_for_progress(sink: ProgressSink | None) -> Iterator[None]:
    """Route `report_progress` calls made in this context (and tasks started from it) to `sink`."""
    token = _progress_sink.set(sink)
    try:
        yield
    finally:
        _progress_sink.reset(token)
