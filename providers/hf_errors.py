"""Translating huggingface_hub failures into the playground's typed errors, in one place.

huggingface_hub 2 is built on httpx2: its transport errors are `httpx2` classes
(not `httpx` ones), HTTP failures are `HfHubHTTPError` with the response attached,
timeouts before the first byte are `InferenceTimeoutError`, and an `error` object
inside a stream becomes a `TextGenerationError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx2
from huggingface_hub.errors import (
    HfHubHTTPError,
    InferenceTimeoutError,
    OfflineModeIsEnabled,
    OverloadedError,
    TextGenerationError,
    ValidationError,
)

from .errors import (
    AuthRequiredError,
    BadRequestError,
    ForbiddenError,
    ModelNotSupportedError,
    PaymentRequiredError,
    ProtocolError,
    ProviderError,
    UnavailableError,
    error_for_status,
)

#: What `map_error` understands; adapters catch exactly these around a client call.
CLIENT_ERRORS: tuple[type[BaseException], ...] = (
    HfHubHTTPError, InferenceTimeoutError, TextGenerationError, httpx2.HTTPError, OfflineModeIsEnabled, ValueError,
)

TOKENS_URL = "https://huggingface.co/settings/tokens"


@dataclass(frozen=True)
class Hints:
    """Provider-specific advice attached to some errors."""

    auth: str = ""
    payment: str = ""
    gated_url: str = ""  # the model's page, where gated terms are accepted
    gone: str = ""


def http_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def server_detail(exc: HfHubHTTPError) -> str:
    """The server's own message, short; never the request (which carries no secret, but is noise)."""
    message = (exc.server_message or "").strip()
    if not message:
        try:
            message = exc.response.text.strip()
        except Exception:  # a streamed body that was not read
            message = ""
        try:
            data = json.loads(message)
            if isinstance(data, dict):
                error = data.get("error") or data.get("message") or data.get("detail") or message
                message = error.get("message", message) if isinstance(error, dict) else str(error)
        except ValueError:
            pass
    return " ".join(message.split())[:200]


def map_error(label: str, exc: BaseException, *, model: str, started: bool, hints: Hints) -> ProviderError:
    """The typed error for a failure of a huggingface_hub client call."""
    if isinstance(exc, HfHubHTTPError):
        return _http_error(label, exc, model, hints)
    if isinstance(exc, (InferenceTimeoutError, httpx2.TimeoutException)):
        return UnavailableError(label, "timed out waiting for the service",
                                hint="The service may be busy; try again or pick another model")
    # in-stream error objects (TextGenerationError subclasses httpx2.HTTPError: test them first)
    if isinstance(exc, ValidationError):
        return BadRequestError(label, str(exc)[:200])
    if isinstance(exc, OverloadedError):
        return UnavailableError(label, "the model is overloaded", hint="Try again in a moment")
    if isinstance(exc, TextGenerationError):
        return ProtocolError(label, f"the service reported an error: {str(exc)[:200]}")
    if isinstance(exc, httpx2.HTTPError):
        if started or isinstance(exc, (httpx2.RemoteProtocolError, httpx2.ReadError)):
            return UnavailableError(label, "the connection dropped mid-answer")
        if isinstance(exc, httpx2.ConnectError):
            return UnavailableError(label, "could not connect to the service")
        return UnavailableError(label, type(exc).__name__)
    if isinstance(exc, OfflineModeIsEnabled):
        return UnavailableError(label, "huggingface_hub offline mode is on (HF_HUB_OFFLINE)")
    if isinstance(exc, json.JSONDecodeError):
        return ProtocolError(label, "the service sent a malformed line")
    if isinstance(exc, ValueError):  # raised by the client before sending (unsupported model/provider...)
        return BadRequestError(label, str(exc)[:200])
    return ProtocolError(label, type(exc).__name__)


def _http_error(label: str, exc: HfHubHTTPError, model: str, hints: Hints) -> ProviderError:
    status = http_status(exc) or 0
    detail = server_detail(exc)
    if status == 401:
        return AuthRequiredError(label, detail or "the token was refused", status=status, hint=hints.auth)
    if status == 402:
        return PaymentRequiredError(label, detail, status=status, hint=hints.payment)
    if status == 403:
        hint = f"If {model} is gated, accept its terms at {hints.gated_url}" if hints.gated_url else ""
        return ForbiddenError(label, detail, status=status, hint=hint)
    if status == 404:
        return ModelNotSupportedError(label, f"unknown model {model!r}", status=status,
                                      hint="Check the model id, or pick one from the list")
    if status == 410:
        return UnavailableError(label, "this endpoint is gone (HTTP 410)", status=status, hint=hints.gone)
    if status == 503:
        return UnavailableError(label, "the model is still loading" if is_loading(exc) else detail or "HTTP 503",
                                status=status, hint="Try again in a minute")
    response = exc.response
    return error_for_status(label, status, detail,
                            retry_after=response.headers.get("retry-after") if response is not None else None)


def is_loading(exc: HfHubHTTPError) -> bool:
    text = server_detail(exc).lower()
    return "loading" in text or "estimated_time" in text


def suggested_wait(exc: HfHubHTTPError) -> float | None:
    """Seconds the server suggests waiting (Retry-After, or the body's estimated_time), if any."""
    response = exc.response
    if response is None:
        return None
    for raw in (response.headers.get("retry-after"), _estimated_time(response)):
        try:
            if raw is not None:
                return max(0.0, float(raw))
        except (TypeError, ValueError):
            continue
    return None


def _estimated_time(response: httpx2.Response) -> object:
    try:
        data = response.json()
    except Exception:  # unread stream or not JSON
        return None
    return data.get("estimated_time") if isinstance(data, dict) else None
