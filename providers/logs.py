"""Logging set-up with a filter that keeps tokens and cookies out of every log line."""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict

from .config import env_str

REDACTED = "[REDACTED]"
_PATTERNS = [
    re.compile(r"hf_[A-Za-z0-9]{8,}"),
    re.compile(r"(?i)(bearer\s+)[^\s'\",]+"),
    re.compile(r"(?i)((?:authorization|cookie|set-cookie|x-ip-token|api[_-]?key|token|hf-chat)[\"']?\s*[:=]\s*[\"']?)[^\s'\",;}]+"),
]
_known_secrets: OrderedDict[str, None] = OrderedDict()
_secrets_lock = threading.Lock()
_MAX_KNOWN_SECRETS = 10_000


def register_secret(value: str | None) -> None:
    """Remember a secret so it is redacted from logs even when no pattern matches it."""
    if not value or len(value) < 6:
        return
    with _secrets_lock:
        _known_secrets[value] = None
        _known_secrets.move_to_end(value)
        while len(_known_secrets) > _MAX_KNOWN_SECRETS:
            _known_secrets.popitem(last=False)


def redact(text: str) -> str:
    """Text with known secrets and token/cookie-looking values replaced."""
    with _secrets_lock:
        secrets = list(_known_secrets)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message with secrets removed."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what we can
            message = str(record.msg)
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.msg, record.args = cleaned, None
        return True


_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: str | None = None) -> None:
    """Configure root logging once (level from LOG_LEVEL, default INFO) with redaction on every handler."""
    root = logging.getLogger()
    level_name = (level or env_str("LOG_LEVEL", "INFO")).upper()
    root.setLevel(getattr(logging, level_name, logging.INFO))
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(handler)
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    for noisy in ("httpx", "httpcore", "httpx2", "urllib3"):
        logging.getLogger(noisy).setLevel(max(root.level, logging.WARNING))
