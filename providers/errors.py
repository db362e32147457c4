"""Typed provider errors, and the one classifier from an HTTP failure to a typed error.

Each error has two readings. `user_message` is for the visitor: one wording per cause (`WORDING`),
naming the provider, saying what happened and what to do next, and never naming an operator
setting. `str(exc)` is for the operator (logs): the kind, the service's own detail and any hint,
settings included. Every adapter turns an HTTP failure into one with `error_for_status`
(transport failures: `http.transport_error`). Only the playground's own input checks raise
`InputError`; a bug in its own code is an `InternalError` (`internal_error`), logged with its traceback.
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

    #: True when the visitor fixes it by adding or checking a credential in Settings.
    needs_credential: bool = False

    @property
    def user_message(self) -> str:
        return str(self)


class InputError(PlaygroundError, ValueError):
    """The user's input cannot be used (empty prompt, corrupt image, too many images...)."""


class UnknownProviderError(InputError):
    """No provider is registered under the requested id."""


#: What the visitor reads, one wording per cause: {p} the provider, {detail} " (the service's words)"
#: where they help, {next} a provider's own visitor-safe advice or the cause's usual next step,
#: {wait} "try again in N s" or "try again in a minute", {credential} what the visitor adds in Settings.
WORDING: dict[str, str] = {
    "sign_in": "{p} needs you to sign in: add your {credential} in Settings.",
    "refused": "{p} refused your {credential}: check it in Settings.",
    "no_access": "{p} refused this app's access: pick another provider.",
    "credits": "{p} has no credits left for this account: {next}.",
    "forbidden": "{p} denied access to this model (it may be gated or private): {next}.",
    "model": "{p} cannot use this model{detail}: {next}.",
    "gone": "{p} no longer serves this model: {next}.",
    "rate": "{p} is busy (rate limited): {wait}.",
    "quota": "{p} has used up the free GPU quota: {wait}, or add your Hugging Face token in Settings "
             "for a larger one.",
    "unreachable": "{p} could not be reached: it may be asleep or offline. "
                   "Try again in a minute or pick another provider.",
    "timeout": "{p} did not answer in time: it may be busy. Try again in a minute or pick another provider.",
    "dropped": "{p} stopped mid-answer (the connection dropped): try again.",
    "busy": "{p} is busy: {wait} or pick another provider.",
    "starting": "{p} is starting up: try again in a minute or pick another provider.",
    "server": "{p} is having trouble (server error): {wait} or pick another provider.",
    "reported": "{p} reported a problem{detail}: try again or pick another provider.",
    "unavailable": "{p} is unavailable right now{detail}: try again in a minute or pick another provider.",
    "protocol": "{p} sent an answer the playground could not read{detail}: try again or pick another provider.",
    "empty": "{p} returned an empty answer: try again or pick another provider.",
    "bad_request": "{p} refused the request{detail}: change it or pick another model.",
    "not_configured": "{p} is not set up on this app: pick another provider.",
    "internal": "{p} failed because of a bug in the playground (it is logged): try again or pick another provider.",
}
#: The usual next step for causes a provider may advise on (`{next}`).
_NEXT: dict[str, str] = {
    "credits": "pick another provider", "forbidden": "pick another model", "model": "pick another model",
    "gone": "pick another model or provider",
}
#: An operator setting's name (HF_TOKEN, OPENAI_COMPAT_API_KEY...): never in a visitor's message.
_SETTING_NAME = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b")


def for_visitor(text: str) -> str:
    """`text` when a visitor may read it (it names no operator setting), else ""."""
    return "" if _SETTING_NAME.search(text) else text


class ProviderError(PlaygroundError):
    """A failure of one provider. Subclasses say what kind of failure it was; `cause` picks its wording."""

    summary = "the request failed"
    cause = "unavailable"
    #: Causes whose wording shows the service's own detail, and causes that take a provider's advice.
    _SHOWS_DETAIL = frozenset({"model", "reported", "unavailable", "bad_request", "protocol"})
    _TAKES_ADVICE = frozenset(_NEXT)

    def __init__(
        self,
        provider: str,
        detail: str = "",
        *,
        status: int | None = None,
        hint: str = "",
        retry_after: float | None = None,
        cause: str = "",
    ) -> None:
        self.provider = provider
        #: Seconds the service asked us to wait before trying again, when it said.
        self.retry_after = retry_after
        self.detail = detail.strip()
        self.status = status
        self.hint = hint.strip()
        if cause:
            if cause not in WORDING:
                raise KeyError(f"no wording for the cause {cause!r}")
            self.cause = cause
        super().__init__(self._compose())

    def _compose(self) -> str:
        text = f"{self.provider}: {self.summary}"
        if self.detail:
            text += f" ({self.detail})"
        if self.hint:
            text += f". {self.hint}"
        return text

    @property
    def user_message(self) -> str:
        """The visitor's reading: the cause's one wording (`WORDING`), naming the provider."""
        cause = self.visitor_cause()
        detail = for_visitor(self.detail) if cause in self._SHOWS_DETAIL else ""
        advice = for_visitor(self.hint).rstrip(".") if cause in self._TAKES_ADVICE else ""
        wait = wait_hint(self.retry_after).lower() or "try again in a minute"
        return WORDING[cause].format(p=self.provider, detail=f" ({detail})" if detail else "", wait=wait,
                                     next=_lower_first(advice) or _NEXT.get(cause, ""),
                                     credential=_noun(self.provider, getattr(self, "credential", "")))

    def visitor_cause(self) -> str:
        return self.cause


def _noun(provider: str, credential: str) -> str:
    """What the visitor adds, said briefly: "token" for Hugging Face's "Hugging Face token"."""
    if credential.startswith(provider + " "):
        return credential[len(provider) + 1:]
    return credential or "token"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


class AuthRequiredError(ProviderError):
    """Sign-in needed or refused. `credential` names what the visitor adds in Settings ("" when the
    visitor has none to give: the app's own key was refused); `sent` whether one went with the request."""

    summary = "sign-in required or the token was refused"

    def __init__(self, provider: str, detail: str = "", *, status: int | None = None, hint: str = "",
                 credential: str = "", sent: bool = True) -> None:
        self.credential = credential
        self.sent = sent
        super().__init__(provider, detail, status=status, hint=hint)

    @property
    def needs_credential(self) -> bool:  # type: ignore[override]
        return bool(self.credential)

    def visitor_cause(self) -> str:
        if not self.credential:
            return "no_access"
        return "refused" if self.sent else "sign_in"


class PaymentRequiredError(ProviderError):
    summary = "out of credits for this provider"
    cause = "credits"


class ForbiddenError(ProviderError):
    summary = "access denied (gated or forbidden)"
    cause = "forbidden"


class ModelNotSupportedError(ProviderError):
    summary = "model not supported"
    cause = "model"


class GoneError(ModelNotSupportedError):
    """HTTP 410: the model or the endpoint is no longer served."""

    summary = "the model or endpoint is no longer served"
    cause = "gone"


class RateLimitedError(ProviderError):
    summary = "rate limited"
    cause = "rate"

    def __init__(
        self,
        provider: str,
        detail: str = "",
        *,
        status: int | None = 429,
        hint: str = "",
        retry_after: float | None = None,
        cause: str = "",
    ) -> None:
        super().__init__(provider, detail, status=status, hint=hint or wait_hint(retry_after)
                         or "Wait a moment and try again", retry_after=retry_after, cause=cause)


class UnavailableError(ProviderError):
    """The service cannot answer now; `cause` says why (unreachable, timeout, dropped, busy, server...)."""

    summary = "service unavailable"


class ProtocolError(ProviderError):
    summary = "unexpected response from the service"
    cause = "protocol"


class BadRequestError(ProviderError):
    summary = "the service rejected the request"
    cause = "bad_request"


class NotConfiguredError(ProviderError):
    summary = "not configured"
    cause = "not_configured"


class InternalError(ProviderError):
    """A bug in the playground's own code while serving this provider (its traceback is in the log)."""

    summary = "internal error in the playground"
    cause = "internal"

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
    """What one provider adds to the classifier's errors: a hint per kind of failure (for the log; hints
    naming no setting also reach the visitor for credits, access, model and gone errors)."""

    auth: str = ""
    payment: str = ""
    forbidden: str = ""
    unknown_model: str = ""
    gone: str = ""
    busy: str = ""  # a 503 without Retry-After
    #: The credential the visitor adds in Settings to fix a 401 ("Hugging Face token"); "" when
    #: the visitor has none to give (the app's own key, or none at all).
    credential: str = ""


NO_ADVICE = Advice()
#: A refusal whose body says the model is unknown (chat-ui "Model not found", OpenAI/vLLM
#: "The model `x` does not exist", "unknown model x"), whatever 4xx status carried it.
_MODEL_REFUSED = re.compile(
    r"\bmodel\b.{0,160}?\b(?:not found|unknown|not supported|does not exist|doesn't exist|not available)"
    r"|\b(?:unknown|invalid|unsupported) model\b", re.IGNORECASE)


def error_for_status(provider: str, status: int, detail: str = "", *, retry_after: str | None = None,
                     model: str = "", advice: Advice = NO_ADVICE, credential_sent: bool = True) -> ProviderError:
    """The typed error for an HTTP failure: the one classifier every adapter uses.

    `detail` is the service's own message (see `detail_from_body`), `retry_after` the raw
    Retry-After header, `model` the requested model (named in "unknown model" errors),
    `credential_sent` whether the visitor's credential (`advice.credential`) went with the request.
    """
    detail = detail.strip()
    fallback = detail or f"HTTP {status}"
    wait = parse_retry_after(retry_after)
    if status == 401:
        return AuthRequiredError(provider, detail, status=status, hint=advice.auth, credential=advice.credential,
                                 sent=credential_sent)
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
        cause = "timeout" if status in (408, 504) else "busy" if status == 503 else "server"
        return UnavailableError(provider, fallback, status=status, hint=wait_hint(wait) or busy, retry_after=wait,
                                cause=cause)
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
