"""Typed streaming events produced by providers, and the Reply that accumulates them."""

from __future__ import annotations

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
