"""The one HTTP error classifier, the one transport-error mapper (httpx and httpx2), and own bugs.

Transport failures are provoked for real against local servers with both client libraries;
huggingface_hub's refusals come from calling the library itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import socket
import threading
from collections.abc import Iterator

import httpx
import httpx2
import pytest
from gradio_client.exceptions import AppError
from huggingface_hub import AsyncInferenceClient
from huggingface_hub.inference._providers import get_provider_helper
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from providers import ChatRequest, InputError, Message, Visitor
from providers.errors import (
    Advice,
    AuthRequiredError,
    BadRequestError,
    ForbiddenError,
    GoneError,
    InternalError,
    ModelNotSupportedError,
    NotConfiguredError,
    PaymentRequiredError,
    ProtocolError,
    RateLimitedError,
    UnavailableError,
    detail_from_body,
    error_for_status,
    internal_error,
    parse_retry_after,
    raised_by_us,
)
from providers.http import transport_error
from providers.inference.errors import Hints, map_error
from providers.inference.openai_compat import OpenAICompatProvider
from providers.spaces.space import space_error
from tests.support.hf_server import HfServer
from tests.support.servers import free_port, serve_asgi, serving


# -- the classifier ---------------------------------------------------------------------------------
@pytest.mark.parametrize("status, detail, kind, words", [
    (401, "bad token", AuthRequiredError, "the token was refused (bad token)"),
    (402, "", PaymentRequiredError, "out of credits"),
    (403, "", ForbiddenError, "access denied"),
    (404, "", ModelNotSupportedError, "model not supported (HTTP 404)"),
    (410, "", GoneError, "no longer served (HTTP 410)"),
    (400, "Model not found", ModelNotSupportedError, "Model not found"),  # chat-ui
    (404, "The model `x` does not exist.", ModelNotSupportedError, "does not exist"),  # OpenAI, vLLM
    (400, "unknown model gpt-9", ModelNotSupportedError, "unknown model gpt-9"),
    (422, "The requested model 'a/b' is not supported by any provider", ModelNotSupportedError, "not supported"),
    (400, "This model does not accept files", BadRequestError, "rejected the request"),
    (413, "", BadRequestError, "rejected the request (HTTP 413)"),
    (408, "", UnavailableError, "service unavailable (HTTP 408)"),
    (502, "bad gateway", UnavailableError, "service unavailable (bad gateway)"),
    (418, "", ProtocolError, "unexpected response from the service (HTTP 418)"),
])
def test_each_status_has_one_kind(status, detail, kind, words):
    error = error_for_status("Example", status, detail)
    assert type(error) is kind and error.status == status
    assert str(error).startswith("Example: ") and words in str(error)


def test_a_gone_model_is_a_model_that_is_not_supported():
    assert isinstance(error_for_status("Example", 410), ModelNotSupportedError)


def test_advice_and_the_model_are_inputs_not_a_second_mapping():
    advice = Advice(auth="Sign in here", payment="Buy credits", forbidden="Accept the terms",
                    unknown_model="Pick another", gone="Use the router", busy="Try again in a minute")
    expected = {401: "Sign in here", 402: "Buy credits", 403: "Accept the terms", 404: "Pick another",
                410: "Use the router", 503: "Try again in a minute"}
    for status, hint in expected.items():
        assert error_for_status("Example", status, advice=advice, model="a/b").hint == hint
    assert "unknown model 'a/b'" in str(error_for_status("Example", 404, "Not Found", model="a/b"))
    assert error_for_status("Example", 500, advice=advice).hint == ""  # "busy" is for 503 only


def test_retry_after_reaches_rate_limits_and_unavailability():
    limited = error_for_status("Example", 429, retry_after="12")
    assert isinstance(limited, RateLimitedError) and limited.retry_after == 12 and "Try again in 12 s" in str(limited)
    busy = error_for_status("Example", 503, retry_after="30", advice=Advice(busy="Later"))
    assert busy.retry_after == 30 and busy.hint == "Try again in 30 s"
    assert error_for_status("Example", 429, retry_after="soon").retry_after is None


def test_retry_after_reads_seconds_and_http_dates():
    now = 1_700_000_000.0
    assert parse_retry_after("12") == 12 and parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after(email.utils.formatdate(now + 90, usegmt=True), now=now) == 90
    assert parse_retry_after(email.utils.formatdate(now - 90, usegmt=True), now=now) == 0
    for unreadable in (None, "", "soon", "nan", "inf", "-inf"):
        assert parse_retry_after(unreadable) is None
    assert parse_retry_after("-5") == 0


@pytest.mark.parametrize("body, detail", [
    (b'{"error": "Model is overloaded"}', "Model is overloaded"),
    (b'{"error": {"message": "Invalid key", "type": "auth"}}', "Invalid key"),
    (b'{"message": "scripted 500"}', "scripted 500"),
    (b'{"detail": "Not Found"}', "Not Found"),
    ("plain\n  text", "plain text"),
    (b"<html><body>502 Bad Gateway</body></html>", ""),
    (b"", ""),
])
def test_the_services_own_message_is_read_from_its_body(body, detail):
    assert detail_from_body(body) == detail


# -- the transport-error mapper, for httpx and httpx2 ------------------------------------------------------
@contextlib.contextmanager
def flaky_server() -> Iterator[str]:
    """/stall answers only when the test ends; /cut sends a line then drops; /limited is a 429."""
    released = threading.Event()

    async def stall(request: Request) -> Response:
        while not released.is_set():
            await asyncio.sleep(0.05)
        return Response("late")

    async def cut(request: Request) -> Response:
        async def body():
            yield b"first line\n"
            raise ConnectionResetError("scripted cut")
        return StreamingResponse(body(), media_type="text/plain")

    async def limited(request: Request) -> Response:
        return JSONResponse({"error": "slow down"}, status_code=429, headers={"retry-after": "7"})

    app = Starlette(routes=[Route("/stall", stall), Route("/cut", cut), Route("/limited", limited)])
    with serve_asgi(app) as url:
        try:
            yield url
        finally:
            released.set()  # before the server stops: it waits for the stalled answer


@contextlib.contextmanager
def hang_up_server() -> Iterator[str]:
    """Accepts each connection and closes it at once, before any answer."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # closed: the test is over
                return
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        listener.close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def flaky():
    with flaky_server() as url:
        yield url


CLIENT_LIBRARIES = [pytest.param(httpx, id="httpx"), pytest.param(httpx2, id="httpx2")]


async def _failure(library, url: str, *, stream: bool = False, read: float = 5.0) -> BaseException:
    async with library.AsyncClient(timeout=library.Timeout(5.0, read=read), trust_env=False) as client:
        try:
            if stream:
                async with client.stream("GET", url) as response:
                    async for _ in response.aiter_lines():
                        pass
            else:
                (await client.get(url)).raise_for_status()
        except library.HTTPError as exc:
            return exc
    raise AssertionError("no failure")


@pytest.mark.parametrize("library", CLIENT_LIBRARIES)
async def test_connect_errors(library):
    exc = await _failure(library, f"http://127.0.0.1:{free_port()}/")
    error = transport_error("Example", exc, target="the Space at x")
    assert type(error) is UnavailableError and error.detail == "could not connect to the Space at x"


@pytest.mark.parametrize("library", CLIENT_LIBRARIES)
async def test_read_timeouts(library, flaky):
    exc = await _failure(library, flaky + "/stall", read=0.3)
    for started in (False, True):
        error = transport_error("Example", exc, started=started)
        assert type(error) is UnavailableError and error.detail == "timed out waiting for the service"


@pytest.mark.parametrize("library", CLIENT_LIBRARIES)
async def test_a_connection_dropped_mid_answer_keeps_the_partial_answer_wording(library, flaky):
    exc = await _failure(library, flaky + "/cut", stream=True)
    error = transport_error("Example", exc, started=True)
    assert type(error) is UnavailableError and error.detail == "the connection dropped mid-answer"


@pytest.mark.parametrize("library", CLIENT_LIBRARIES)
async def test_a_connection_dropped_before_any_answer(library):
    with hang_up_server() as url:
        exc = await _failure(library, url + "/")
    error = transport_error("Example", exc)
    assert type(error) is UnavailableError
    assert error.detail == "the connection to the service dropped before it answered"


@pytest.mark.parametrize("library", CLIENT_LIBRARIES)
async def test_status_errors_go_to_the_classifier(library, flaky):
    error = transport_error("Example", await _failure(library, flaky + "/limited"))
    assert type(error) is RateLimitedError and error.retry_after == 7 and "slow down" in str(error)


# -- our own bugs, and huggingface_hub's genuine refusals ---------------------------------------------------
def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


HINTS = Hints()


def test_a_value_error_of_ours_is_an_internal_error_logged_with_its_traceback(caplog):
    bug = _raised(ValueError("a bug"))
    assert raised_by_us(bug)
    with caplog.at_level(logging.ERROR, logger="providers.errors"):
        error = map_error("Example", bug, model="m", started=False, hints=HINTS)
    assert type(error) is InternalError
    assert str(error) == "Example: internal error in the playground (see the server log)"
    assert caplog.records[-1].exc_info[1] is bug
    for bug in (_raised(TypeError("x")), _raised(KeyError("x"))):
        assert type(map_error("Example", bug, model="m", started=True, hints=HINTS)) is InternalError


def test_our_input_errors_pass_through_unchanged():
    refusal = _raised(InputError("Type a message first"))
    assert map_error("Example", refusal, model="m", started=False, hints=HINTS) is refusal


def test_huggingface_hub_refusals_are_mapped_deliberately():
    unknown_provider = _raised_by(lambda: get_provider_helper("no-such-provider", "conversational", "a/b"))
    assert not raised_by_us(unknown_provider)
    assert type(map_error("Example", unknown_provider, model="a/b", started=False, hints=HINTS)) is NotConfiguredError
    for text in ("Model a/b is not supported by provider together.", "No provider mapping found for model a/b"):
        refusal = _library_value_error(text)
        assert type(map_error("Example", refusal, model="a/b", started=False, hints=HINTS)) is ModelNotSupportedError
    misuse = _raised_by(lambda: AsyncInferenceClient(model="a/b", base_url="http://127.0.0.1:1"))
    assert type(map_error("Example", misuse, model="a/b", started=False, hints=HINTS)) is InternalError


def _raised_by(call) -> BaseException:
    try:
        call()
    except ValueError as exc:
        return exc
    raise AssertionError("no ValueError")


def _library_value_error(text: str) -> ValueError:
    """A ValueError as huggingface_hub raises it (never raised here, so not counted as ours)."""
    return ValueError(text)


def test_a_bug_of_ours_behind_a_space_call_is_not_the_spaces_condition():
    assert type(space_error("S", _raised(ValueError("a bug")))) is InternalError
    error = space_error("S", ValueError("The current space is in the invalid state: PAUSED."), "owner/space")
    assert type(error) is UnavailableError
    assert type(space_error("S", AppError("<b>Bad</b> input"))) is UnavailableError
    assert internal_error("S", _raised(ValueError("x"))).provider == "S"


class _BuggyReader(OpenAICompatProvider):
    """The adapter with a bug in the code that reads the stream's chunks (ours, not the library's)."""

    async def stream_chat(self, endpoint, request, model, **extra):
        def events(chunk):
            raise KeyError("choices")

        async for event in self.stream_events(
                endpoint, model, lambda client: client.chat_completion([{"role": "user", "content": "hi"}],
                                                                       model=model, stream=True),
                events, finish="stop"):
            yield event


async def test_a_bug_while_reading_a_real_stream_is_an_internal_error(monkeypatch, caplog):
    with serving(HfServer()) as server:
        monkeypatch.setenv("OPENAI_COMPAT_BASE_URL", server.url + "/v1")
        provider = _BuggyReader()
        request = ChatRequest([Message("user", "hi")], "served/model-a")
        with caplog.at_level(logging.ERROR, logger="providers.errors"):
            with pytest.raises(InternalError, match="OpenAI-compatible server: internal error in the playground"):
                async for _ in provider.chat(request, Visitor("v")):
                    pass
        await provider._pool.aclose()
    assert any(isinstance(r.exc_info[1], KeyError) for r in caplog.records if r.exc_info)


# -- one wording per cause, for the visitor ------------------------------------------------------------
HF_ADVICE = Advice(credential="Hugging Face token", gone="leave HF_INFERENCE_BASE_URL unset")


@pytest.mark.parametrize("error, message", [
    (AuthRequiredError("Hugging Face", "no Hugging Face token", credential="Hugging Face token", sent=False,
                       hint="ask the operator to set HF_TOKEN"),
     "Hugging Face needs you to sign in: add your token in Settings."),
    (error_for_status("Hugging Face", 401, "Invalid credentials", advice=HF_ADVICE),
     "Hugging Face refused your token: check it in Settings."),
    (error_for_status("OpenAI-compatible server", 401, advice=Advice(auth="Check OPENAI_COMPAT_API_KEY")),
     "OpenAI-compatible server refused this app's access: pick another provider."),
    (error_for_status("H2o", 429, retry_after="30"), "H2o is busy (rate limited): try again in 30 s."),
    (error_for_status("H2o", 429), "H2o is busy (rate limited): try again in a minute."),
    (error_for_status("X", 500, "Traceback: boom"),
     "X is having trouble (server error): try again in a minute or pick another provider."),
    (error_for_status("X", 503, retry_after="20"), "X is busy: try again in 20 s or pick another provider."),
    (error_for_status("X", 504), "X did not answer in time: it may be busy. Try again in a minute or pick "
                                 "another provider."),
    (error_for_status("X", 410, advice=HF_ADVICE), "X no longer serves this model: pick another model or provider."),
    (error_for_status("X", 402, advice=Advice(payment="Add credits at https://example.org/billing")),
     "X has no credits left for this account: add credits at https://example.org/billing."),
    (error_for_status("X", 400, "prompt too long"), "X refused the request (prompt too long): change it or pick "
                                                    "another model."),
    (NotConfiguredError("OpenAI-compatible server", "OPENAI_COMPAT_BASE_URL is not set"),
     "OpenAI-compatible server is not set up on this app: pick another provider."),
    (InternalError("X"), "X failed because of a bug in the playground (it is logged): try again or pick "
                         "another provider."),
])
def test_each_cause_reads_one_way_for_the_visitor(error, message):
    assert error.user_message == message


def test_operator_settings_reach_the_log_never_the_visitor():
    for error in (AuthRequiredError("Hugging Face", "no token", hint="ask the operator to set HF_TOKEN"),
                  error_for_status("X", 410, advice=HF_ADVICE),
                  ModelNotSupportedError("X", "raw text needs TGI", hint="Set HF_INFERENCE_API=chat"),
                  UnavailableError("X", "HF_HUB_OFFLINE is on")):
        assert "HF_" in str(error)  # the operator's reading (logs)
        assert "HF_" not in error.user_message and "_" not in error.user_message


def test_only_a_credential_the_visitor_can_give_leads_to_settings():
    assert error_for_status("Hugging Face", 401, advice=HF_ADVICE).needs_credential
    assert AuthRequiredError("HuggingChat", credential="HuggingChat cookie", sent=False).needs_credential
    assert not error_for_status("H2o", 401).needs_credential  # nothing in Settings would fix it
    assert not RateLimitedError("X").needs_credential and not InputError("empty").needs_credential


@pytest.mark.parametrize("library", CLIENT_LIBRARIES)
async def test_a_transport_failure_reads_the_same_for_a_service_and_a_space(library, flaky):
    refused = await _failure(library, f"http://127.0.0.1:{free_port()}/")
    timed_out = await _failure(library, flaky + "/stall", read=0.3)
    for exc, message in ((refused, "could not be reached: it may be asleep or offline. Try again in a minute or "
                                   "pick another provider."),
                         (timed_out, "did not answer in time: it may be busy. Try again in a minute or pick "
                                     "another provider.")):
        assert transport_error("H2o", exc).user_message == f"H2o {message}"
        assert space_error("FLUX.1 [schnell]", exc, "owner/space").user_message == f"FLUX.1 [schnell] {message}"
