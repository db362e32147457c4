"""What every tab and endpoint shares: the registry, the use cases and the visitors."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
import weakref
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from playground.limits import ByteBudget, FairUse
from playground.service import Playground, RequestLimits, describe_error
from playground.status import StatusChecks
from providers import PlaygroundError, Registry, Visitor, VisitorStore
from providers.media import run_image_work
from providers.messages import HistoryReader, Message, names_files

from .config import AppSettings
from .frames import FramePacer
from .identity import visitor_key
from .inert import html_text

logger = logging.getLogger(__name__)

#: The ZeroGPU token a Space's proxy adds to each request (an API caller's own credentials come in
#: the headers their providers declare: `Credential.header`, e.g. x-hf-token).
IP_TOKEN_HEADER = "x-ip-token"


class AppContext:
    """Shared services for one app instance."""

    def __init__(self, registry: Registry, settings: AppSettings) -> None:
        self.registry = registry
        self.settings = settings
        self.playground = Playground(
            registry, max_prompt_chars=settings.max_prompt_chars,
            limits=RequestLimits(settings.max_messages, settings.max_request_chars, settings.max_request_images),
            fair_use=FairUse(settings.visitor_max_streams, settings.visitor_per_minute))
        self.visitors = VisitorStore(max_visitors=settings.max_sessions, idle_seconds=settings.visitor_idle_seconds)
        #: Seconds between sweeps for idle visitors when no request comes (see `_visitor_for_call`).
        self.sweep_interval = min(60.0, max(1.0, settings.visitor_idle_seconds / 4))
        self._held: weakref.WeakKeyDictionary[asyncio.Task, set[str]] = weakref.WeakKeyDictionary()
        self._held_lock = threading.Lock()
        self._swept_loop: asyncio.AbstractEventLoop | None = None
        self.pacer = FramePacer(settings.frame_interval, max_interval=settings.frame_interval_max)
        self.credentials = registry.credentials()
        #: What each visitor's files (uploads, exports) may take on the server's disk per hour.
        self.stored_files = ByteBudget(settings.visitor_file_bytes, "the files you upload or export")
        self.status_checks = StatusChecks(registry.all(), timeout=settings.status_check_timeout,
                                          min_interval=settings.status_check_interval)

    def history_reader(self) -> HistoryReader:
        """Reads history, accepting image files only from Gradio's upload folder."""
        return HistoryReader(allowed_dirs=[get_upload_folder()])

    async def read_history(self, history: Any) -> list[Message]:
        """Messages from a Gradio or API history; images are decoded in the image pool, off the loop."""
        reader = self.history_reader()
        if names_files(history):
            return await run_image_work(reader.read, history)
        return reader.read(history)

    def visitor(self, request: gr.Request | None) -> Visitor:
        """The visitor behind a request, with this call's per-request headers applied."""
        session_id = getattr(request, "session_hash", None) or f"anonymous-{uuid.uuid4().hex}"
        visitor = self._visitor_for_call(session_id)
        headers = getattr(request, "headers", None) or {}
        visitor.ip_token = headers.get(IP_TOKEN_HEADER) or None
        visitor.limit_key = visitor_key(request, session_id)
        # The newest header wins: an API caller may change its credential within one session.
        for credential in self.credentials:
            value = (headers.get(credential.header) or "").strip()
            if value and value != visitor.credential(credential.key):
                visitor.set_credential(credential.key, value)
        return visitor

    def _visitor_for_call(self, session_id: str) -> Visitor:
        """The visitor, held (never expired) until the asyncio task running this call ends.

        Gradio runs each queued event, every step of a stream included, in one task, so the hold
        lasts exactly as long as the call. Outside a task (a sync handler in a worker thread) the
        visitor is only marked as used. Also starts the idle sweep on this event loop.
        """
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no event loop in this thread
            task = None
        if task is None:
            return self.visitors.get(session_id)
        self._sweep_on(task.get_loop())
        with self._held_lock:
            held = self._held.get(task)
            if held is None:
                held = self._held[task] = set()
                task.add_done_callback(self._end_holds)
            first = session_id not in held
            held.add(session_id)
        return self.visitors.hold(session_id) if first else self.visitors.get(session_id)

    def _end_holds(self, task: asyncio.Task) -> None:
        with self._held_lock:
            held = self._held.pop(task, set())
        for session_id in held:
            self.visitors.unhold(session_id)

    def _sweep_on(self, loop: asyncio.AbstractEventLoop) -> None:
        """Release idle visitors every `sweep_interval` seconds on `loop`, also when no request comes.

        A timer on the server's own event loop (no thread, nothing to cancel: a closed loop drops it),
        started with the first call; requests also sweep as they come (`VisitorStore.get`).
        """
        with self._held_lock:
            if loop is self._swept_loop:
                return
            self._swept_loop = loop

        def tick() -> None:
            try:
                self.visitors.sweep()
            except Exception:  # never let a failing release stop the sweeps
                logger.exception("Sweeping idle visitors failed")
            loop.call_later(self.sweep_interval, tick)

        loop.call_later(self.sweep_interval, tick)

    def forget_conversations(self, request: gr.Request | None, conversations: list[str]) -> None:
        """Drop the provider-side state of these conversations of the visitor (Clear in one tab);
        credentials and the other conversations stay."""
        session_id = getattr(request, "session_hash", None)
        if session_id:
            visitor = self.visitors.get(session_id)
            for conversation in conversations:
                visitor.release_conversation(conversation)

    def release(self, request: gr.Request | None) -> None:
        session_id = getattr(request, "session_hash", None)
        if session_id:
            self.visitors.release(session_id)


def gradio_error(exc: BaseException) -> gr.Error:
    """The toast for a failure on the page: the message the UI shows, escaped (toasts render HTML)."""
    if not isinstance(exc, PlaygroundError):
        logger.exception("Unexpected failure", exc_info=exc)
    return gr.Error(html_text(describe_error(exc)), print_exception=False)


def api_error(exc: BaseException) -> gr.Error:
    """The AppError an API caller gets: the same message as plain text (no page renders it)."""
    if not isinstance(exc, PlaygroundError):
        logger.exception("Unexpected failure", exc_info=exc)
    return gr.Error(describe_error(exc), print_exception=False)
