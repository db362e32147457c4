"""The provider contract: what every adapter declares and implements."""

from __future__ import annotations

import enum
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .code import PLAYGROUND, CodeTarget
from .config import env_str
from .credentials import Credential
from .errors import InputError, ModelNotSupportedError, NotConfiguredError
from .events import ChatEvent
from .messages import Message
from .model_ids import server_model_id, shown
from .session import Visitor


class Capability(str, enum.Enum):
    TEXT = "text"
    VISION = "vision"
    IMAGE = "image"


@dataclass(frozen=True)
class ResponseFormat:
    """Structured output: the answer must be JSON, following `schema` when one is given (else any JSON)."""

    schema: dict[str, Any] | None = field(default=None, hash=False)
    #: The schema's name, as the OpenAI API asks for one.
    name: str = "answer"

    def openai(self) -> dict[str, Any]:
        """As the `response_format` of the OpenAI chat API (also the Hugging Face router's and vLLM's)."""
        if self.schema is None:
            return {"type": "json_object"}
        return {"type": "json_schema", "json_schema": {"name": self.name, "schema": self.schema}}


@dataclass
class ChatRequest:
    """One chat turn: the conversation so far (ending with the user's message) and parameters."""

    messages: list[Message]
    model: str
    system_prompt: str = ""
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    web_search: bool = False
    continue_last: bool = False
    capability: Capability = Capability.TEXT
    #: Which of the visitor's conversations this turn belongs to (a chat tab, a Compare column,
    #: an arena side); providers keep server-side state per conversation (see `Visitor.in_conversation`).
    conversation_id: str = ""
    #: Structured output (only for providers whose `supports_structured_output` is True).
    response_format: ResponseFormat | None = None


@dataclass
class ImageRequest:
    """A text-to-image request; `seed` -1 means "pick one at random"."""

    prompt: str
    model: str
    negative_prompt: str = ""
    width: int = 1024
    height: int = 1024
    steps: int | None = None
    guidance: float | None = None
    seed: int = -1

    def resolved_seed(self) -> int:
        """The seed to use: the requested one, or a fresh random one for -1."""
        return self.seed if self.seed >= 0 else random.randint(0, 2**31 - 1)


@dataclass(frozen=True)
class ImageOptions:
    """What a text-to-image model accepts: the image controls follow it, and requests are kept within it."""

    steps: tuple[int, int] = (1, 100)
    #: The model's own default (None: leave the visitor's choice).
    default_steps: int | None = None
    #: None when the model takes no guidance.
    guidance: tuple[float, float] | None = (0.0, 30.0)
    default_guidance: float | None = None
    #: False when the model ignores a negative prompt.
    negative_prompt: bool = True


@dataclass
class ImageResult:
    """A generated image (encoded bytes) and what was used to make it."""

    data: bytes
    model: str
    seed: int | None
    width: int
    height: int
    mime: str = "image/png"
    extra: dict[str, Any] = field(default_factory=dict)


class Availability(str, enum.Enum):
    """Whether a provider can answer a given visitor now."""

    READY = "ready"
    #: The provider needs a credential this visitor has not given (and no shared one applies).
    NEEDS_SIGN_IN = "needs_sign_in"
    #: The operator has not set up what the provider needs (e.g. a server address).
    NOT_CONFIGURED = "not_configured"
    #: The last status check could not reach the service (a Space asleep or offline).
    UNREACHABLE = "unreachable"
    #: The service is known to be gone.
    GONE = "gone"


@dataclass(frozen=True)
class ProviderState:
    """A provider's availability for one visitor, and why, in words."""

    availability: Availability
    reason: str = ""

    @property
    def ready(self) -> bool:
        return self.availability is Availability.READY


class Provider:
    """Base class of every adapter.

    Subclasses set the class attributes and implement `chat` (text and/or
    vision) and/or `generate_image`. Everything the UI shows comes from here.
    """

    id: ClassVar[str]
    label: ClassVar[str]
    url: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    #: Built-in model lists per capability; the first is the default unless `default_models` says otherwise.
    models: ClassVar[Mapping[Capability, Sequence[str]]] = {}
    default_models: ClassVar[Mapping[Capability, str]] = {}
    aliases: ClassVar[Mapping[str, str]] = {}
    #: True when any model id may be typed (e.g. any Hub model).
    accepts_any_model: ClassVar[bool] = False
    #: False for services known to be gone.
    working: ClassVar[bool] = True
    #: The credential this provider takes from each visitor (or the operator), if any.
    credential: ClassVar[Credential | None] = None
    #: False when the credential only helps (e.g. a Space's GPU quota) and the provider answers without it.
    credential_required: ClassVar[bool] = True
    #: True for providers that answer through others (Auto): they get the registry, and never
    #: take part where real models are compared.
    delegating: ClassVar[bool] = False
    #: A note shown next to the provider in the UI (e.g. why it is not working).
    note: ClassVar[str] = ""
    #: True when `chat` honours `ChatRequest.continue_last` (extends the last answer).
    supports_continue: ClassVar[bool] = False
    #: True when `chat` honours `ChatRequest.response_format` (JSON mode and JSON schemas).
    supports_structured_output: ClassVar[bool] = False
    #: True for providers that exist only once the operator configures them
    #: (e.g. a self-hosted endpoint): the registry leaves them out otherwise.
    listed_only_when_configured: ClassVar[bool] = False

    #: Why the last status check could not reach the service (None: reached, or never checked).
    _unreachable: str | None = None

    # -- identity and availability ----------------------------------------------------
    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def is_configured(self) -> bool:
        """True when the operator's settings allow this provider to be used."""
        return True

    def is_working(self) -> bool:
        """Whether the service is expected to answer (may depend on settings)."""
        return self.working

    def needs_credential(self) -> bool:
        """True when requests cannot be made without `credential` (may depend on settings)."""
        return self.credential is not None and self.credential_required

    def availability(self, visitor: Visitor | None = None) -> ProviderState:
        """Whether this provider can answer `visitor` now (None: a visitor who brought nothing).

        Computed per call from the operator's settings, the visitor's credentials and the
        last status check (`check`); never does network work.
        """
        if not self.is_configured():
            return ProviderState(Availability.NOT_CONFIGURED, self.note or "not set up by the operator")
        if not self.is_working():
            return ProviderState(Availability.GONE, self.note or "the service is gone")
        credential = self.credential
        if credential is not None and self.needs_credential() and not credential.value_for(visitor):
            return ProviderState(Availability.NEEDS_SIGN_IN, f"needs a {credential.label}")
        if self._unreachable:
            return ProviderState(Availability.UNREACHABLE, self._unreachable)
        return ProviderState(Availability.READY)

    async def check(self) -> None:
        """Check that the service answers (a "Refresh status" click); records the outcome.

        The default does nothing: only providers whose host can be asleep or offline
        (Spaces) override it, calling `reached()` or `unreachable(reason)`.
        """

    def reached(self) -> None:
        """The service answered: no longer marked unreachable."""
        self._unreachable = None

    def unreachable(self, reason: str) -> None:
        """The service could not be reached (until it answers again)."""
        self._unreachable = reason or "could not be reached"

    def attach_registry(self, registry: Any) -> None:
        """Called by the registry for `delegating` providers, which answer through the others."""

    # -- models -----------------------------------------------------------------
    def model_list(self, capability: Capability) -> list[str]:
        """The built-in model list for a capability (no network)."""
        return list(self.models.get(capability, ()))

    async def list_models(self, capability: Capability) -> list[str]:
        """Models for a capability; adapters may discover them lazily (cached, with timeouts)."""
        return self.model_list(capability)

    def default_model(self, capability: Capability) -> str:
        if capability in self.default_models:
            return self.default_models[capability]
        models = self.model_list(capability)
        return models[0] if models else ""

    def get_model(self, capability: Capability, name: str | None = None,
                  known: Sequence[str] | None = None) -> str:
        """Resolve an alias; empty means the default; unknown ids are an error unless free-form ids are accepted."""
        name = (name or "").strip()
        if not name:
            return self.default_model(capability)
        name = self.aliases.get(name, name)
        candidates = list(known) if known is not None else self.model_list(capability)
        if name in candidates:
            return name
        if self.accepts_any_model:
            return self.check_model_id(name)
        listed = ", ".join(candidates[:8]) + (", ..." if len(candidates) > 8 else "")
        raise ModelNotSupportedError(
            self.label, f"{shown(name)} is not offered for {capability.value}",
            hint=f"Choose one of: {listed}" if listed else "",
        )

    def check_model_id(self, name: str) -> str:
        """`name` when it is a well-formed model id for this provider, else a clear InputError.

        Runs before any network call for every typed id: a model id is data sent to the
        provider's configured host, never an address. Adapters that accept other shapes
        (e.g. the Hub's owner/name grammar) override it.
        """
        return server_model_id(name, self.label)

    def is_valid_model_id(self, name: str) -> bool:
        """True when `check_model_id` accepts `name`."""
        try:
            self.check_model_id(name)
        except InputError:
            return False
        return True

    # -- work ---------------------------------------------------------------------
    def chat(self, request: ChatRequest, visitor: Visitor) -> AsyncIterator[ChatEvent]:
        """Stream one chat turn as typed events. Raise ProviderError subclasses on failure."""
        raise NotConfiguredError(self.label, "this provider does not chat")

    def image_options(self, model: str) -> ImageOptions:
        """What `model` accepts for text-to-image (the defaults suit most models)."""
        return ImageOptions()

    async def generate_image(self, request: ImageRequest, visitor: Visitor) -> ImageResult:
        """Generate one image. Raise ProviderError subclasses on failure."""
        raise NotConfiguredError(self.label, "this provider does not generate images")

    async def code_target(self, request: ChatRequest | ImageRequest) -> CodeTarget:
        """How "View code" writes `request` (see `providers.code`). The default, for services with no
        public client, is this app's own API."""
        return CodeTarget(PLAYGROUND)

    def describe(self, visitor: Visitor | None = None) -> dict[str, Any]:
        """The provider as the public `/providers` endpoint lists it, for the calling visitor."""
        status = self.availability(visitor)
        return {
            "id": self.id,
            "label": self.label,
            "url": self.url,
            "capabilities": sorted(c.value for c in self.capabilities),
            "models": {c.value: self.model_list(c) for c in sorted(self.capabilities, key=lambda c: c.value)},
            "default_models": {c.value: self.default_model(c) for c in sorted(self.capabilities, key=lambda c: c.value)},
            "availability": status.availability.value,
            "availability_reason": status.reason,
            "credential": self.credential.label if self.credential else None,
            "structured_output": self.supports_structured_output,
            "note": self.note,
        }


class SelfHostableService(Provider):
    """A service whose public host is gone but whose protocol self-hosted servers still speak.

    Listed as not working until the operator sets `url_setting`; `base_url()` is
    that setting, or `default_url` (the old public host).
    """

    url_setting: ClassVar[str]
    default_url: ClassVar[str]
    working: ClassVar[bool] = False

    def base_url(self) -> str:
        return env_str(self.url_setting, self.default_url).rstrip("/")

    def is_working(self) -> bool:
        return bool(env_str(self.url_setting)) or self.working
