"""Typed provider errors: each carries a message a person understands and names the provider."""

from __future__ import annotations


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
    ) -> None:
        self.provider = provider
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
        self.retry_after = retry_after
        if retry_after is not None and not hint:
            hint = f"Try again in {max(1, round(retry_after))} s"
        elif not hint:
            hint = "Wait a moment and try again"
        super().__init__(provider, detail, status=status, hint=hint)


class UnavailableError(ProviderError):
    summary = "service unavailable"


class ProtocolError(ProviderError):
    summary = "unexpected response from the service"


class BadRequestError(ProviderError):
    summary = "the service rejected the request"


class NotConfiguredError(ProviderError):
    summary = "not configured"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header value, or None when absent or not a number."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_for_status(
    provider: str, status: int, detail: str = "", *, retry_after: str | None = None
) -> ProviderError:
    """Map an HTTP status to the matching typed error: one place for all HTTP adapters."""
    if status == 401:
        return AuthRequiredError(provider, detail, status=status)
    if status == 402:
        return PaymentRequiredError(provider, detail, status=status)
    if status == 403:
        return ForbiddenError(provider, detail, status=status)
    if status in (404, 410):
        return ModelNotSupportedError(provider, detail or f"HTTP {status}", status=status)
    if status == 429:
        return RateLimitedError(provider, detail, retry_after=parse_retry_after(retry_after))
    if status in (400, 413, 422):
        return BadRequestError(provider, detail or f"HTTP {status}", status=status)
    if status >= 500:
        return UnavailableError(provider, detail or f"HTTP {status}", status=status)
    return ProtocolError(provider, detail or f"HTTP {status}", status=status)
