"""The log filter keeps tokens and cookies out of every line."""

from __future__ import annotations

import io
import logging

from providers.logs import RedactingFilter, redact, register_secret
from providers.session import Visitor


def test_patterns_are_redacted():
    line = ("calling with Authorization: Bearer abc.def-123 token=hf_abcdefghijklmnop "
            "cookie: hf-chat=s3cr3tvalue; headers {'x-ip-token': 'zzz999'}")
    cleaned = redact(line)
    for secret in ("abc.def-123", "hf_abcdefghijklmnop", "s3cr3tvalue", "zzz999"):
        assert secret not in cleaned
    assert "calling with" in cleaned


def test_visitor_secrets_are_redacted_even_without_a_pattern():
    Visitor(session_id="s1", huggingchat_cookie="plain-cookie-value-42")
    assert "plain-cookie-value-42" not in redact("sent plain-cookie-value-42 upstream")
    register_secret("another-secret-777")
    assert redact("x another-secret-777 y") == "x [REDACTED] y"


def test_filter_cleans_messages_args_and_tracebacks():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("token %s used", "hf_ZZZZZZZZZZZZZZZZ")
        try:
            raise RuntimeError("bad cookie hf-chat=topsecretcookie")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "hf_ZZZZZZZZZZZZZZZZ" not in output and "topsecretcookie" not in output
    assert "RuntimeError" in output and "token [REDACTED] used" in output


def test_visitor_repr_hides_credentials():
    visitor = Visitor(session_id="abc", hf_token="hf_visible_if_broken")
    assert "hf_visible" not in repr(visitor)
