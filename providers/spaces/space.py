"""Gradio Spaces through the official `gradio_client`: the one mechanism every Space-backed adapter uses.

A `Space` knows where a Space lives (a setting holding an id or URL), builds
`gradio_client.Client`s off the event loop and reuses them: one shared Client
for stateless Spaces, or one per visitor for Spaces that keep session state
(released with the visitor). `Space.stream` submits a job with the visitor's
per-call headers (`x-ip-token`, the visitor's HF token), yields its partial
outputs without blocking the loop, reports its queue position and steps
(`providers.events.report_progress`), cancels it on Stop or when `SPACES_TIMEOUT`
runs out, and turns `gradio_client` failures into typed errors.

Gradio's `/cancel` stops every running task of the caller's session for that endpoint,
not just the one job, and a shared Client is one session for all its callers. So a job
is cancelled on the Space only when no other job of that Client's endpoint is in flight;
otherwise it is left to finish there and released here (`SpaceJobs`).
`gradio_client` has no async API, so every blocking call runs in a worker thread.

Files a Space returns are fetched from that Space, into memory, by `Space.read_file`: the
Clients never download (`download_files=False`), so an answer only ever names files on the
Space's own server and no local path in it is read, trusted or deleted (see `read_file`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import html
import logging
import math
import os
import re
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError, AuthenticationError
from gradio_client.utils import QueueError, Status, StatusUpdate, TooManyRequestsError, encode_file_path, is_file_obj

from ..base import Provider
from ..config import env_str
from ..credentials import HF_TOKEN, space_may_receive_credentials
from ..errors import (
    AuthRequiredError,
    NotConfiguredError,
    ProtocolError,
    ProviderError,
    RateLimitedError,
    UnavailableError,
    internal_error,
    raised_by_us,
)
from ..events import Progress, report_progress
from ..http import TRANSPORT_ERRORS, transport_error
from ..media import PreparedImage, run_image_work
from ..session import Visitor
from ..settings import SpacesSettings

logger = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_TIMEOUT = 180.0
_POLL_SECONDS = 0.05
_QUOTA_RE = re.compile(r"GPU quota|ZeroGPU|exceeded your .*quota", re.IGNORECASE)
_RETRY_RE = re.compile(r"(?:try again|retry) in (?:(\d+):)?(\d+):(\d+)", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]+>")
#: Longest wait, in seconds, for a job being stopped to be taken by the Space (so it can be stopped there).
JOIN_WAIT_SECONDS = 10.0
#: Longest unit or description of a Space's progress that is kept.
MAX_PROGRESS_LABEL = 80


def spaces_timeout() -> float:
    """SPACES_TIMEOUT: seconds one Space call may take in all (connecting, queue, running)."""
    return SpacesSettings.current().timeout


def space_page(source: str) -> str:
    """A link a person can open for a Space id or URL."""
    return source if "://" in source else f"https://huggingface.co/spaces/{source}"


def trusts_credentials(source: str) -> bool:
    """Whether visitors' credentials may go to this Space (the rule lives in `credentials`)."""
    return space_may_receive_credentials(source)


def call_headers(visitor: Visitor, source: str) -> dict[str, str]:
    """Per-call headers that make the Space bill the visitor's ZeroGPU quota, not the host's."""
    if not trusts_credentials(source):
        return {}
    headers: dict[str, str] = {}
    if visitor.ip_token:
        headers["x-ip-token"] = visitor.ip_token
    if visitor.hf_token:
        # What Client(token=...) sends; per call so one shared Client serves every visitor.
        headers["x-hf-authorization"] = f"Bearer {visitor.hf_token}"
    return headers


# -- the Space's API ---------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    name: str
    component: str
    has_default: bool


def read_api(client: Client) -> dict[str, list[Param]]:
    """Named endpoints and their parameters, from the Client's cached `view_api()`."""
    info = client.view_api(print_info=False, return_format="dict") or {}
    return {
        name: [Param(p.get("parameter_name") or "", str(p.get("component") or ""),
                     bool(p.get("parameter_has_default"))) for p in endpoint.get("parameters", [])]
        for name, endpoint in (info.get("named_endpoints") or {}).items()
    }


def describe_api(api: dict[str, list[Param]]) -> str:
    """The endpoints as a person reads them, e.g. "/infer(prompt, seed)"."""
    if not api:
        return "no public endpoints"
    return ", ".join(f"{name}({', '.join(p.name for p in params)})" for name, params in api.items())


def api_changed(label: str, expected: str, api: dict[str, list[Param]]) -> ProtocolError:
    return ProtocolError(label, f"the Space's API changed: expected {expected}, found {describe_api(api)}",
                         hint="The adapter needs an update for the new API")


# -- errors ------------------------------------------------------------------------------
def _plain(message: str) -> str:
    return " ".join(html.unescape(_TAG_RE.sub(" ", message)).split())


def _retry_after(message: str) -> float | None:
    match = _RETRY_RE.search(message)
    if not match:
        return None
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def space_error(label: str, exc: BaseException, source: str = "") -> ProviderError:
    """The typed error for a `gradio_client` (or transport) failure: the one place for every Space adapter.

    A failure raised by our own code (a bug) is an internal error, logged; only what
    gradio_client reports is read as the Space's condition.
    """
    if isinstance(exc, ProviderError):
        return exc
    where = f" at {source}" if source else ""
    if isinstance(exc, AppError):
        message = _plain(exc.message or str(exc))
        if _QUOTA_RE.search(message):
            return RateLimitedError(
                label, f"ZeroGPU quota used up: {message}", retry_after=_retry_after(message),
                hint="Sign in with your Hugging Face account for a larger quota, or try again later", cause="quota")
        if "has not enabled verbose error reporting" in message:
            return UnavailableError(label, "the Space failed without saying why", cause="reported")
        return UnavailableError(label, message, cause="reported")
    if isinstance(exc, QueueError):
        return UnavailableError(label, "the Space's queue is full", hint="Try again in a minute", cause="busy")
    if isinstance(exc, TooManyRequestsError):
        return RateLimitedError(label, "too many requests to the Space")
    if isinstance(exc, AuthenticationError):  # a private Space: the Client never carries a visitor's token
        return AuthRequiredError(label, "the Space asked for credentials")
    if isinstance(exc, TRANSPORT_ERRORS):
        return transport_error(label, exc, target=f"the Space{where}")
    if raised_by_us(exc):
        return internal_error(label, exc)
    if isinstance(exc, ValueError):
        return _value_error(label, str(exc), where)
    return ProtocolError(label, f"the Space call failed ({type(exc).__name__})")


def _value_error(label: str, text: str, where: str) -> ProviderError:
    lowered = text.lower()
    if "invalid state" in lowered:
        state = text.rsplit(":", 1)[-1].split(".")[0].strip() or "not running"
        if "PAUSED" in text:
            return UnavailableError(label, f"the Space{where} is paused by its owner", cause="unreachable")
        return UnavailableError(label, f"the Space{where} is not running ({state})", cause="unreachable")
    if "building" in lowered or "starting" in lowered:
        return UnavailableError(label, f"the Space{where} is still building or starting",
                                hint="Try again in a minute", cause="starting")
    if "could not find space" in lowered:
        return NotConfiguredError(label, f"no such Space{where}", hint="Check the Space id in the settings")
    if "cannot find a function" in lowered:
        return ProtocolError(label, f"the Space's API changed: {_plain(text)}")
    if "could not fetch" in lowered:
        return UnavailableError(label, f"the Space{where} did not answer", cause="unreachable")
    return UnavailableError(label, _plain(text)[:300], cause="reported")


# -- progress ----------------------------------------------------------------------------
def _count(value: Any) -> int | None:
    """A whole, non-negative number the Space reported (anything else, e.g. text or NaN: None)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return int(value)


def _seconds(value: Any) -> float | None:
    count = _count(value)
    return float(value) if count is not None else None


def _label(value: Any) -> str:
    """A unit or description the Space reported: text, bounded (it is shown, escaped, in the page)."""
    return value[:MAX_PROGRESS_LABEL] if isinstance(value, str) else ""


def job_progress(status: StatusUpdate | None) -> Progress | None:
    """What a job's latest `gradio_client` status says about its progress (None: nothing new to say).

    IN_QUEUE carries the 0-based `rank` among `queue_size` waiting jobs; PROGRESS carries the
    Space's `gr.Progress` levels (the outermost that counts steps is shown); PROCESSING and
    ITERATING mean it runs. A Space's numbers and words are checked: only finite, non-negative
    numbers and bounded text are kept.
    """
    code = getattr(status, "code", None)
    if code is Status.IN_QUEUE:
        rank = _count(status.rank)
        return Progress("queued", position=None if rank is None else rank + 1, queue_size=_count(status.queue_size),
                        eta=_seconds(status.eta))
    if code is Status.PROGRESS:
        units = status.progress_data or []
        unit = next((u for u in units if _count(u.length)), units[0] if units else None)
        if unit is None:
            return Progress("running")
        step, total = _count(unit.index), _count(unit.length)
        fraction = _seconds(unit.progress)
        if step is None and fraction is not None and total:
            step = round(min(fraction, 1.0) * total)
        return Progress("running", step=step, total=total, unit=_label(unit.unit), description=_label(unit.desc))
    if code in (Status.PROCESSING, Status.ITERATING):
        return Progress("running")
    return None


# -- files -------------------------------------------------------------------------------
@contextlib.contextmanager
def image_files(images: Sequence[PreparedImage]) -> Iterator[list[str]]:
    """Write prepared images to temporary files for `handle_file`; removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="space-upload-") as folder:
        paths = []
        for index, image in enumerate(images):
            suffix = os.path.splitext(image.name)[1] or ".jpg"
            # Unique names: the Space keeps them, which lets `resend_files` recognise our files.
            path = os.path.join(folder, f"upload-{uuid.uuid4().hex[:12]}-{index}{suffix}")
            with open(path, "wb") as out:
                out.write(image.data)
            paths.append(path)
        yield paths


def file_ref(path: str) -> dict:
    """A local file as gradio_client uploads it."""
    return handle_file(path)


def resend_files(value: Any, local: Sequence[str]) -> Any:
    """An output made ready to send back as input.

    Files the Space returns live on its server; gradio_client can only send
    local files, so each one we uploaded (recognised by its unique file name)
    goes up again from our copy, and files we cannot supply are left out.
    """
    by_name = {os.path.basename(path): path for path in local}
    missing = object()

    def convert(item: Any) -> Any:
        if isinstance(item, (list, tuple)):
            converted = [c for c in (convert(v) for v in item) if c is not missing]
            return converted if isinstance(item, list) else tuple(converted)
        if isinstance(item, dict):
            meta = item.get("meta")
            if isinstance(meta, dict) and meta.get("_type") == "gradio.FileData":
                ours = by_name.get(os.path.basename(str(item.get("path") or "")))
                return file_ref(ours) if ours else missing
            converted = {k: convert(v) for k, v in item.items()}
            if any(v is missing for v in converted.values()):
                return missing  # e.g. a {"type": "file", "file": ...} part whose file we lack
            return converted
        return item

    result = convert(value)
    return None if result is missing else result


#: Largest file a Space may send back (counted after decompression); more is a protocol error.
MAX_FILE_BYTES = 64 * 1024 * 1024
#: Seconds before each new fetch of a file that came empty, cut off or undecodable (see `Space.read_file`).
REFETCH_PAUSES = (0.25, 0.5)


class _TooLarge(Exception):
    pass


class _Elsewhere(Exception):
    pass


def returned_file(value: Any) -> dict | None:
    """The file an output names, or None: only a FileData dict (a path on the Space's own server).

    A plain string is never taken for a file, whatever it names: with `download_files=False`
    gradio_client leaves every file on the Space, so no output is a path on this machine.
    """
    if not is_file_obj(value) or not value["path"] or value.get("is_stream"):
        return None
    return value


def _fetch(client: Client, file: dict, seconds: float) -> bytes:
    """The file's bytes, asked of the Space as gradio_client's own download asks for them.

    Same URL (`<api root>file=<path>`, never a URL from the answer), the Client's own headers,
    cookies and TLS settings (not the visitor's per-call credentials). Unlike gradio_client:
    into memory, at most MAX_FILE_BYTES, within `seconds`, and redirects only within the Space's
    own origin (a hostile Space cannot point this server at another address).
    """
    origin = httpx.URL(client.src_prefixed)

    def same_origin(request: httpx.Request) -> None:
        if (request.url.scheme, request.url.host, request.url.port) != (origin.scheme, origin.host, origin.port):
            raise _Elsewhere

    url = client.src_prefixed + "file=" + encode_file_path(file["path"])
    ends = time.monotonic() + seconds
    chunks, size = [], 0
    options = {**client.httpx_kwargs, "headers": client.headers, "cookies": client.cookies,
               "verify": client.ssl_verify, "follow_redirects": True, "timeout": seconds,
               "event_hooks": {"request": [same_origin]}}
    with httpx.Client(**options) as http, http.stream("GET", url) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_FILE_BYTES:
                raise _TooLarge
            if time.monotonic() > ends:
                raise TimeoutError
            chunks.append(chunk)
    return b"".join(chunks)


# -- clients -----------------------------------------------------------------------------
class SpaceJobs:
    """The jobs in flight on one Client, so that stopping one never stops another.

    Submitting and cancelling share one lock: a cancel decided while no other job of the
    endpoint runs reaches the Space before any later job of it is submitted.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}

    def submit(self, api_name: str, submit: Callable[[], Any]) -> Any:
        """Run `submit` (blocking; returns the Job) and count the job as running."""
        with self._lock:
            job = submit()
            self._running[api_name] = self._running.get(api_name, 0) + 1
            return job

    def finished(self, api_name: str) -> None:
        """A job of `api_name` ended on its own."""
        with self._lock:
            self._forget(api_name)

    def stop(self, api_name: str, job: Any, client: Client) -> None:
        """Stop a job the caller gave up on (blocking: may wait for the Space to take it, and POST `/cancel`)."""
        _wait_until_joined(job)
        with self._lock:
            self._forget(api_name)
            alone = not self._running.get(api_name)
            if alone:
                job.cancel()
                return
        logger.debug("Left a Space job to finish: other jobs of %s share its session", api_name)
        _release_locally(job, client)

    def _forget(self, api_name: str) -> None:
        left = self._running.get(api_name, 0) - 1
        if left > 0:
            self._running[api_name] = left
        else:
            self._running.pop(api_name, None)


def _wait_until_joined(job: Any, timeout: float = JOIN_WAIT_SECONDS) -> None:
    """Wait (bounded) until the Space has given `job` its event id.

    A job stopped earlier, say the moment it was submitted, would only be dropped by the Client:
    `/cancel` then finds nothing to stop, and the job still runs on the Space once it joins.
    """
    communicator = getattr(job, "communicator", None)
    deadline = time.monotonic() + timeout
    while (communicator is not None and communicator.event_id is None and not job.done()
           and time.monotonic() < deadline):
        time.sleep(_POLL_SECONDS)


def _release_locally(job: Any, client: Client) -> None:
    """End the Client's wait for a job left running on the Space (its worker thread returns).

    `gradio_client` ends a job's wait when its message queue receives None (as when the
    event stream closes); without this a job that never finishes would hold a thread.
    """
    event_id = getattr(getattr(job, "communicator", None), "event_id", None)
    with client.pending_lock:
        messages = client.pending_messages_per_event.get(event_id) if event_id else None
        if messages is not None:
            messages.append(None)


@dataclass
class SpaceSession:
    """A Client (one Gradio session) and what the adapter learnt about it."""

    client: Client
    source: str
    api: dict[str, list[Param]]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    jobs: SpaceJobs = field(default_factory=lambda: SpaceJobs())
    #: Adapter-owned notes about the session (e.g. what the Space has seen so far).
    memo: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()


class Space:
    """One Space behind a setting: Clients built off the loop and reused, jobs streamed and bounded.

    `per_visitor=True` gives each visitor its own Client (stateful Spaces: their
    `gr.State` lives in the session); otherwise one Client is shared and each
    call carries its visitor's headers.
    """

    def __init__(self, label: str, setting: str, default: str, *, per_visitor: bool) -> None:
        self.label = label
        self.setting = setting
        self.default = default
        self.per_visitor = per_visitor
        self.state_key = f"space:{setting}"
        self._shared: dict[str, SpaceSession] = {}
        self._build_lock = threading.Lock()

    def source(self) -> str:
        """The Space id ("owner/name") or URL, from the setting."""
        return env_str(self.setting, self.default)

    def _build(self, source: str) -> SpaceSession:
        client = Client(
            source,
            token=False,  # never the host's saved token: visitors' tokens go per call
            verbose=False,
            # Never download: gradio_client saves to one folder per Client, at <folder>/<sha256 of the
            # content>/<name>, so visitors with identical results would share (and delete) one file,
            # and an answer would then hold local paths. `read_file` fetches what an adapter needs.
            download_files=False,
            analytics_enabled=False,
        )
        logger.info("Connected to Space %s", source)
        return SpaceSession(client, source, read_api(client))

    def _shared_session(self, source: str) -> SpaceSession:
        with self._build_lock:  # one build per Space even when many visitors arrive at once
            session = self._shared.get(source)
            if session is None:
                session = self._shared[source] = self._build(source)
            return session

    async def session(self, visitor: Visitor, deadline: float) -> SpaceSession:
        """The Client to use for this visitor (built in a worker thread on first use)."""
        source = self.source()
        if not self.per_visitor:
            session = self._shared.get(source)
            if session is None:
                session = await self._bounded(asyncio.to_thread(self._shared_session, source), deadline, source)
            return session
        session = visitor.state.get(self.state_key)
        if session is not None and session.source == source:
            return session
        session = await self._bounded(asyncio.to_thread(self._build, source), deadline, source)
        old = visitor.state.get(self.state_key)
        visitor.state[self.state_key] = session
        visitor.on_release(session.close)  # the visitor left or cleared the conversation
        if old is not None:
            old.close()
        return session

    def _discard(self, session: SpaceSession, visitor: Visitor) -> None:
        """Forget a Client whose Space stopped answering, so the next call connects afresh."""
        if self._shared.get(session.source) is session:
            self._shared.pop(session.source, None)
        if visitor.state.get(self.state_key) is session:
            visitor.state.pop(self.state_key, None)
        session.close()

    async def _bounded(self, work: Any, deadline: float, source: str) -> Any:
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(work, max(0.01, deadline - loop.time()))
        except asyncio.TimeoutError:
            raise UnavailableError(self.label, f"the Space at {source} did not answer within "
                                   f"{spaces_timeout():g} s", hint="It may be starting or building; "
                                   "try again in a minute", cause="timeout") from None
        except ProviderError:
            raise
        except Exception as exc:
            raise space_error(self.label, exc, source) from exc

    def deadline(self) -> float:
        return asyncio.get_running_loop().time() + spaces_timeout()

    async def check(self) -> str | None:
        """None when the Space answers now (a fresh Client reads its API), else why not.

        Bounded by `SPACES_CHECK_TIMEOUT` (seconds, default 15); the Client is closed again.
        """
        source = self.source()
        seconds = SpacesSettings.current().check_timeout
        try:
            session = await asyncio.wait_for(asyncio.to_thread(self._build, source), seconds)
        except asyncio.TimeoutError:
            return f"the Space did not answer within {seconds:g} s"
        except Exception as exc:
            return space_error(self.label, exc, source).detail or "the Space could not be reached"
        await asyncio.to_thread(session.close)
        return None

    async def stream(self, session: SpaceSession, api_name: str, *, visitor: Visitor, deadline: float,
                     args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None) -> AsyncIterator[Any]:
        """Submit a job and yield each output as it arrives (the final result last).

        Stops the remote job when the consumer stops (Stop button, cancellation)
        or when the deadline passes; failures become typed errors. The job's queue position
        and steps go to `report_progress` as they change (see `job_progress`).
        """
        loop = asyncio.get_running_loop()
        headers = call_headers(visitor, session.source)
        try:
            # An empty context: inside a Gradio app, gradio_client would otherwise copy the current
            # request's x-ip-token into the shared Client's own headers, where it outlives the call.
            submit = functools.partial(session.client.submit, *args, api_name=api_name, headers=headers,
                                       **(kwargs or {}))
            submitting = loop.run_in_executor(None, contextvars.Context().run, session.jobs.submit, api_name, submit)
            job = await asyncio.shield(submitting)
        except asyncio.CancelledError:
            # Stopped while the job was being submitted: it still starts, so stop it once it has.
            submitting.add_done_callback(lambda done: _stop_submitted(session, api_name, done))
            raise
        except Exception as exc:
            raise self._failure(exc, session, visitor) from exc
        finished = asyncio.Event()

        def wake(_: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the loop may be gone
                loop.call_soon_threadsafe(finished.set)

        job.add_done_callback(wake)
        seen, reported = 0, None
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise UnavailableError(self.label, f"the Space did not finish within {spaces_timeout():g} s",
                                           hint="It may be overloaded or stuck; try again later", cause="timeout")
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(finished.wait(), min(_POLL_SECONDS, remaining))
                done = job.done()  # read before the outputs, so none that arrive as the job ends are skipped
                progress = None if done else job_progress(job.status())
                if progress is not None and progress != reported:
                    reported = progress
                    report_progress(progress)  # queue position and steps, to whoever waits (Text-to-image)
                outputs = job.outputs()
                for output in outputs[seen:]:
                    yield output
                seen = len(outputs)
                if done:
                    break
            try:
                result = job.result()
            except Exception as exc:
                raise self._failure(exc, session, visitor) from exc
            # The result always ends the stream: gradio_client keeps the completion message's output
            # only as the result (a busy Space may send its last words only there), and it applies
            # streamed diffs in place, so an output yielded earlier may have changed since: no
            # comparison with what was yielded can be trusted.
            yield result
        finally:
            _let_go(session, api_name, job)

    async def read_file(self, session: SpaceSession, value: Any, *, deadline: float, kind: str = "file",
                        decode: Callable[[bytes], T] | None = None) -> T | bytes:
        """A file the Space returned (`value` from `stream`), fetched from that Space into memory.

        Nothing is written, read or deleted on this machine, so no answer can name a local file and
        visitors with identical results cannot disturb each other. Anything but a file on the Space
        (a plain path string above all) is a protocol error "the Space returned no readable <kind>",
        which never quotes what the Space sent. `decode` turns the bytes into what the adapter
        needs, off the event loop in the image pool (`media.run_image_work`), raising ValueError
        when they are not a whole <kind>.

        An empty, cut-off or undecodable file is fetched again after REFETCH_PAUSES: Gradio writes
        its cache file in place, at a path named by the content, so while another caller's identical
        result is being written the Space can serve it empty or short.
        """
        no_file = f"the Space returned no readable {kind}"
        file = returned_file(value)
        if file is None:
            raise ProtocolError(self.label, no_file)
        problem = ""
        for pause in (0, *REFETCH_PAUSES):
            await asyncio.sleep(pause)
            try:
                data = await self._fetch(session, file, deadline, no_file)
                if not data:
                    raise ValueError("the file is empty")
                return await run_image_work(decode, data) if decode else data
            except ValueError as exc:
                problem = str(exc)
            except httpx.RemoteProtocolError:
                problem = "the Space broke off sending it"
        raise ProtocolError(self.label, f"{no_file} ({problem})")

    async def _fetch(self, session: SpaceSession, file: dict, deadline: float, no_file: str) -> bytes:
        """One fetch; failures become typed errors except a cut-off transfer (httpx.RemoteProtocolError)."""
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            if remaining <= 0:
                raise TimeoutError
            return await asyncio.wait_for(asyncio.to_thread(_fetch, session.client, file, remaining), remaining)
        except (TimeoutError, asyncio.TimeoutError, httpx.TimeoutException):
            raise UnavailableError(self.label, f"the Space did not finish within {spaces_timeout():g} s",
                                   hint="It may be overloaded or stuck; try again later", cause="timeout") from None
        except _Elsewhere:
            raise ProtocolError(self.label, f"{no_file} (it redirected to another site)") from None
        except _TooLarge:
            raise ProtocolError(self.label, f"{no_file} (larger than {MAX_FILE_BYTES / 2**20:g} MB)") from None
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            if status < 500:  # it will not serve the very file it named: the Space's fault, not the visitor's
                raise ProtocolError(self.label, f"{no_file} (it answered HTTP {status} for the file)") from None
            raise space_error(self.label, exc, session.source) from None
        except httpx.RemoteProtocolError:
            raise
        except (httpx.TransportError, ConnectionError) as exc:
            raise space_error(self.label, exc, session.source) from None
        except httpx.HTTPError as exc:  # e.g. endless redirects, undecodable content
            raise ProtocolError(self.label, f"{no_file} ({type(exc).__name__})") from None

    def _failure(self, exc: Exception, session: SpaceSession, visitor: Visitor) -> ProviderError:
        if isinstance(exc, (httpx.TransportError, ConnectionError)):
            self._discard(session, visitor)
        return space_error(self.label, exc, session.source)


class SpaceProvider(Provider):
    """Base of adapters backed by one Space (`space`): the status check asks that Space."""

    space: Space
    credential = HF_TOKEN  # optional: a visitor's token brings their own GPU quota
    credential_required = False

    async def check(self) -> None:
        reason = await self.space.check()
        if reason is None:
            self.reached()
        else:
            self.unreachable(reason)


def _let_go(session: SpaceSession, api_name: str, job: Any) -> None:
    """The caller is done with `job`: count it as finished, or stop it when it still runs."""
    if job.done():
        session.jobs.finished(api_name)
    else:
        _cancel_in_background(session, api_name, job)


def _stop_submitted(session: SpaceSession, api_name: str, submitting: asyncio.Future) -> None:
    """Let go of a job whose submission outlived its caller (nothing to do if it never started)."""
    if not submitting.cancelled() and submitting.exception() is None:
        _let_go(session, api_name, submitting.result())


def _cancel_in_background(session: SpaceSession, api_name: str, job: Any) -> None:
    """Stop the job (see `SpaceJobs.stop`); cancelling does blocking HTTP, so not on the loop."""
    def cancel() -> None:
        try:
            session.jobs.stop(api_name, job, session.client)
        except Exception:
            logger.debug("Cancelling a Space job failed", exc_info=True)

    threading.Thread(target=cancel, name="space-cancel", daemon=True).start()
