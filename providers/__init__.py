"""Provider adapters behind one small contract. Nothing here imports gradio."""

from .base import (
    Availability,
    Capability,
    ChatRequest,
    ImageOptions,
    ImageRequest,
    ImageResult,
    Provider,
    ProviderState,
)
from .errors import (
    AuthRequiredError,
    BadRequestError,
    ForbiddenError,
    InputError,
    ModelNotSupportedError,
    NotConfiguredError,
    PaymentRequiredError,
    PlaygroundError,
    ProtocolError,
    ProviderError,
    RateLimitedError,
    UnavailableError,
    UnknownProviderError,
)
from .events import (
    Attribution,
    ChatEvent,
    Finish,
    ImageOutput,
    ReasoningDelta,
    Reply,
    Source,
    Sources,
    Status,
    TextDelta,
    Title,
)
from .messages import Message, history_to_messages
from .registry import Registry, build_registry
from .session import Visitor, VisitorStore

__all__ = [
    "Attribution", "AuthRequiredError", "Availability", "BadRequestError", "Capability", "ChatEvent",
    "ChatRequest", "Finish",
    "ForbiddenError", "ImageOptions", "ImageOutput", "ImageRequest", "ImageResult", "InputError", "Message",
    "ModelNotSupportedError", "NotConfiguredError", "PaymentRequiredError", "PlaygroundError",
    "ProtocolError", "Provider", "ProviderError", "ProviderState", "RateLimitedError",
    "ReasoningDelta", "Registry", "Reply", "Source", "Sources", "Status", "TextDelta", "Title",
    "UnavailableError", "UnknownProviderError", "Visitor", "VisitorStore", "build_registry",
    "history_to_messages",
]
