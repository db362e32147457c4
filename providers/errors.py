"""Typed provider errors, and the one classifier from an HTTP failure to a typed error.

Each error carries a message a person understands and names the provider. Every adapter
turns an HTTP failure into one with `error_for_status` (transport failures: `http.transport_error`).
Only the playground's own input checks raise `InputError`; a bug in its own code is an
`InternalError` (`internal_error`), logged with its traceback.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import logging
import math
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)


class PlaygroundError(Exception):
    """Base of every error the playground shows to a user."""

    @property
    def user_message(self) -> str:
        return str(self)


class InputError(PlaygroundError, ValueError):
    """The user's input cannot be used (empty prompt, corrupt image, too many images...)."""


class UnknownProviderError(InputError):
    """No provider is registered under the requested id."""


class ProviderError(PlaygroundError):
    """A failure of one provider. Subclasses say what kind of failure it was."""

    summary = "the request failed"

    def __init__(
        self,
        provider: str,
        detail: str = "",
        *,
        status: int | None = None,
        hint: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.provider = provider
        #: Seconds the service asked us to wait before trying again, when it said.
        self.retry_after = retry_after
        self.detail = detail.strip()
        self.status = status
        self.hint = hint.strip()
        super().__init__(self._compose())

    def _compose(self) -> str:
        text = f"{self.provider}: {self.summary}"
        if self.detail:
            text += f" ({self.detail})"
        if self.hint:
            text += f". {self.hint}"
        return text


class AuthRequiredError(ProviderError):
    summary = "sign-in required or the token was refused"


class PaymentRequiredError(ProviderError):
    summary = "out of credits for this provider"


class ForbiddenError(ProviderError):
    summary = "access denied (gated or forbidden)"


class ModelNotSupportedError(ProviderError):
    summary = "model not supported"


class GoneError(ModelNotSupportedError):
    """HTTP 410: the model or the endpoint is no longer served."""

    summary = "the model or endpoint is no longer served"


class RateLimitedError(ProviderError):
    summary = "rate limited"

    def __init__(
        self,
        provider: str,
        detail: str = "",
        *,
        status: int | None = 429,
        hint: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(provider, detail, status=status, hint=hint or wait_hint(retry_after)
                         or "Wait a moment and try again", retry_after=retry_after)


class UnavailableError(ProviderError):
    summary = "service unavailable"


class ProtocolError(ProviderError):
    summary = "unexpected response from the service"


class BadRequestError(ProviderError):
    summary = "the service rejected the request"


class NotConfiguredError(ProviderError):
    summary = "not configured"


class InternalError(ProviderError):
    """A bug in the playground's own code while serving this provider (its traceback is in the log)."""

    summary = "internal error in the playground"

    def __init__(self, provider: str, detail: str = "see the server log") -> None:
        super().__init__(provider, detail)


def wait_hint(retry_after: float | None) -> str:
    """The hint 'Try again in N s' for a known wait, else an empty string."""
    return "" if retry_after is None else f"Try again in {max(1, round(retry_after))} s"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delay-seconds or an HTTP-date); None when absent or unreadable."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # "-0000": UTC by RFC 9110
            when = when.replace(tzinfo=datetime.timezone.utc)
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def detail_from_body(body: bytes | str, limit: int = 200) -> str:
    """The service's own message in an error body: JSON `error`/`message`/`detail`, else short plain text.

    An HTML page says nothing a person needs here and is left out.
    """
    text = (body.decode("utf-8", "replace") if isinstance(body, bytes) else body).strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("error", "message", "detail"):
            value = data.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("detail")
            if value:
                text = str(value)
                break
    if text.startswith("<"):
        return ""
    return " ".join(text.split())[:limit]


@dataclass(frozen=True)
class Advice:
    """What one provider adds to the classifier's errors: a hint per kind of failure."""

    auth: str = ""
    payment: str = ""
    forbidden: str = ""
    unknown_model: str = ""
    gone: str = ""
    busy: str = ""  # a 503 without Retry-After


NO_ADVICE = Advice()
#: A refusal whose body says the model is unknown (chat-ui "Model not found", OpenAI/vLLM
#: "The model `x` does not exist", "unknown model x"), whatever 4xx status carried it.
_MODEL_REFUSED = re.compile(
    r"\bmodel\b.{0,160}?\b(?:not found|unknown|not supported|does not exist|doesn't exist|not available)"
    r"|\b(?:unknown|invalid|unsupported) model\b", re.IGNORECASE)


def error_for_status(provider: str, status: int, detail: str = "", *, retry_after: str | None = None,
                     model: str = "", advice: Advice = NO_ADVICE) -> ProviderError:
    """The typed error for an HTTP failure: the one classifier every adapter uses.

    `detail` is the service's own message (see `detail_from_body`), `retry_after` the raw
    Retry-After header, `model` the requested model (named in "unknown model" errors).
    """
    detail = detail.strip()
    fallback = detail or f"HTTP {status}"
    wait = parse_retry_after(retry_after)
    if status == 401:
        return AuthRequiredError(provider, detail, status=status, hint=advice.auth)
    if status == 402:
        return PaymentRequiredError(provider, detail, status=status, hint=advice.payment)
    if status == 403:
        return ForbiddenError(provider, detail, status=status, hint=advice.forbidden)
    if status == 410:
        return GoneError(provider, fallback, status=status, hint=advice.gone)
    if status == 404 or (status in (400, 422) and _MODEL_REFUSED.search(detail)):
        named = f"unknown model {model!r}" if model and status == 404 else fallback
        return ModelNotSupportedError(provider, named, status=status, hint=advice.unknown_model)
    if status == 429:
        return RateLimitedError(provider, detail, status=status, retry_after=wait)
    if status in (400, 413, 422):
        return BadRequestError(provider, fallback, status=status)
    if status == 408 or status >= 500:
        busy = advice.busy if status == 503 else ""
        return UnavailableError(provider, fallback, status=status, hint=wait_hint(wait) or busy, retry_after=wait)
    return ProtocolError(provider, fallback, status=status)


def raised_by_us(exc: BaseException) -> bool:
    """Whether the playground's own code raised `exc` (a bug), not a library it called.

    The innermost traceback frame outside the standard library decides: one in an
    installed package (site-packages) belongs to that library, any other is ours. An
    exception that was never raised (no traceback) is not counted as ours.
    """
    ours = False
    frame_tb = exc.__traceback__
    while frame_tb is not None:
        frame = frame_tb.tb_frame
        if str(frame.f_globals.get("__name__", "")).partition(".")[0] not in sys.stdlib_module_names:
            ours = not _LIBRARY_DIRS.intersection(Path(frame.f_code.co_filename).parts)
        frame_tb = frame_tb.tb_next
    return ours


_LIBRARY_DIRS = frozenset({"site-packages", "dist-packages"})


def internal_error(provider: str, exc: BaseException) -> InternalError:
    """The error a visitor sees for a bug of ours while serving `provider`; the traceback goes to the log."""
    logger.exception("%s: internal error", provider, exc_info=exc)
    return InternalError(provider)
