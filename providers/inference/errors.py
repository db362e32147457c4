"""Translating huggingface_hub failures into the playground's typed errors.

huggingface_hub 2 is built on httpx2: its transport errors are `httpx2` classes
(mapped by `http.transport_error`, like every adapter's), HTTP failures are
`HfHubHTTPError` with the response attached (classified by `errors.error_for_status`,
with the hints below as its inputs), timeouts before the first byte are
`InferenceTimeoutError`, and an `error` object inside a stream becomes a
`TextGenerationError`.

The library also raises `ValueError` before sending for a few genuine conditions
(a model no provider serves, a provider or task it does not know, a non-Hugging
Face key for the router, a server that cannot stream raw text): those are mapped
by `library_refusal`. Any other ValueError, TypeError or LookupError, ours or the
library's over a call we made, is an internal error, logged with its traceback.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import httpx2
from huggingface_hub.errors import (
    HfHubHTTPError,
    HFValidationError,
    OfflineModeIsEnabled,
    OverloadedError,
    TextGenerationError,
    ValidationError,
)

from ..credentials import HF_TOKEN
from ..errors import (
    Advice,
    AuthRequiredError,
    BadRequestError,
    ModelNotSupportedError,
    NotConfiguredError,
    PlaygroundError,
    ProtocolError,
    ProviderError,
    UnavailableError,
    detail_from_body,
    error_for_status,
    internal_error,
    parse_retry_after,
    raised_by_us,
)
from ..http import TRANSPORT_ERRORS, response_detail, transport_error

#: What `map_error` understands; adapters catch exactly these around a client call (and the code
#: that reads its chunks, whose own bugs are reported as internal errors).
CLIENT_ERRORS: tuple[type[BaseException], ...] = (
    HfHubHTTPError, *TRANSPORT_ERRORS, OfflineModeIsEnabled, ValueError, TypeError, LookupError,
)

TOKENS_URL = "https://huggingface.co/settings/tokens"


@dataclass(frozen=True)
class Hints:
    """Provider-specific advice attached to some errors."""

    auth: str = ""
    payment: str = ""
    gated_url: str = ""  # the model's page, where gated terms are accepted
    gone: str = ""
    #: The visitor's credential that fixes a 401 ("Hugging Face token"); "" when it is the app's own key.
    credential: str = ""

    def advice(self, model: str) -> Advice:
        """These hints as inputs of the classifier."""
        return Advice(
            auth=self.auth, payment=self.payment, gone=self.gone, busy="Try again in a minute",
            credential=self.credential,
            forbidden=f"If {model} is gated, accept its terms at {self.gated_url}" if self.gated_url else "",
            unknown_model="Check the model id, or pick one from the list",
        )


#: huggingface_hub's own refusals before sending (inference/_providers, inference/_client), by message.
_NOT_SERVED = re.compile(r"is not supported (?:by|for task)|doesn't support task|No provider mapping found"
                         r"|Non-conversational image-text-to-text", re.IGNORECASE)
_UNKNOWN_PROVIDER = re.compile(r"Provider '.*' not supported|Task '.*' not supported for provider", re.IGNORECASE)
_NOT_AN_HF_KEY = re.compile(r"auto-router when using non-Hugging Face API key|must provide an api_key", re.IGNORECASE)
_NOT_TGI = re.compile(r"not served via TGI", re.IGNORECASE)


def library_refusal(label: str, exc: ValueError) -> ProviderError | None:
    """The typed error for a genuine condition huggingface_hub refuses before sending; None for any other."""
    text = " ".join(str(exc).split())[:200]
    if _NOT_SERVED.search(text):
        return ModelNotSupportedError(label, text, hint="No inference provider serves it for this task")
    if _UNKNOWN_PROVIDER.search(text):
        return NotConfiguredError(label, text, hint="Check HF_INFERENCE_PROVIDER")
    if _NOT_AN_HF_KEY.search(text):
        return AuthRequiredError(label, "the router needs a Hugging Face token", hint=f"Create one at {TOKENS_URL}",
                                 credential=HF_TOKEN.label, sent=False)
    if _NOT_TGI.search(text):
        return ModelNotSupportedError(label, "the server cannot stream raw text generation (it is not TGI)",
                                      hint="Set HF_INFERENCE_API=chat")
    return None


def http_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def server_detail(exc: HfHubHTTPError) -> str:
    """The server's own message, short; never the request (which carries no secret, but is noise).

    Read from the response body first: for an OpenAI-style `{"error": {"message": …}}` body,
    huggingface_hub's `server_message` is the Python repr of the inner dict.
    """
    message = response_detail(exc.response) if exc.response is not None else ""
    return message or detail_from_body(exc.server_message or "")


def map_error(label: str, exc: BaseException, *, model: str, started: bool, hints: Hints) -> PlaygroundError:
    """The typed error for a failure of a huggingface_hub client call (or of the code reading its stream)."""
    if isinstance(exc, PlaygroundError):
        return exc
    if isinstance(exc, HfHubHTTPError):
        return _http_error(label, exc, model, hints)
    # in-stream error objects (TextGenerationError subclasses httpx2.HTTPError: test them first)
    if isinstance(exc, ValidationError):
        return BadRequestError(label, str(exc)[:200])
    if isinstance(exc, OverloadedError):
        return UnavailableError(label, "the model is overloaded", hint="Try again in a moment", cause="busy")
    if isinstance(exc, TextGenerationError):
        return ProtocolError(label, f"the service reported an error: {str(exc)[:200]}")
    if isinstance(exc, OfflineModeIsEnabled):  # a ConnectionError: before the transport errors
        return NotConfiguredError(label, "huggingface_hub offline mode is on (HF_HUB_OFFLINE)")
    if isinstance(exc, TRANSPORT_ERRORS):
        return transport_error(label, exc, started=started)
    if raised_by_us(exc):
        return internal_error(label, exc)
    if isinstance(exc, json.JSONDecodeError):
        return ProtocolError(label, "the service sent a malformed line")
    if isinstance(exc, HFValidationError):
        return ModelNotSupportedError(label, f"{model!r} is not a valid model id")
    refusal = library_refusal(label, exc) if isinstance(exc, ValueError) else None
    return refusal or internal_error(label, exc)


def _http_error(label: str, exc: HfHubHTTPError, model: str, hints: Hints) -> ProviderError:
    status = http_status(exc) or 0
    detail = "the model is still loading" if status == 503 and is_loading(exc) else server_detail(exc)
    response = exc.response
    return error_for_status(label, status, detail, model=model, advice=hints.advice(model),
                            retry_after=response.headers.get("retry-after") if response is not None else None)


def is_loading(exc: HfHubHTTPError) -> bool:
    text = server_detail(exc).lower()
    return "loading" in text or "estimated_time" in text


def suggested_wait(exc: HfHubHTTPError) -> float | None:
    """Seconds the server suggests waiting (Retry-After, or the body's estimated_time), if any."""
    response = exc.response
    if response is None:
        return None
    wait = parse_retry_after(response.headers.get("retry-after"))
    return wait if wait is not None else _estimated_time(response)


def _estimated_time(response: httpx2.Response) -> float | None:
    try:
        data = response.json()
    except Exception:  # unread stream or not JSON
        return None
    value = data.get("estimated_time") if isinstance(data, dict) else None
    return max(0.0, float(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
