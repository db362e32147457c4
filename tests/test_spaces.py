"""The Space-backed providers (Phi-4 multimodal, FLUX) against real Gradio apps on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
import os
import sys
import threading
import time
from dataclasses import replace

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from gradio_client.utils import QueueError
from PIL import Image

from providers import (
    Capability,
    ChatRequest,
    Finish,
    ImageRequest,
    Message,
    ProtocolError,
    RateLimitedError,
    Registry,
    TextDelta,
    UnavailableError,
    Visitor,
)
from providers.errors import AuthRequiredError, NotConfiguredError
from providers.media import prepare_image
from providers.spaces.flux import FluxDevProvider, FluxSchnellProvider
from providers.spaces.phi4 import Phi4Provider
from providers.spaces.space import call_headers, space_error, trusts_credentials
from tests.support import fake_spaces
from tests.support.servers import free_port, launch_blocks
from ui.app import build_demo
from ui.config import AppSettings

SETTINGS = ("PHI4_SPACE", "FLUX_SCHNELL_SPACE", "FLUX_DEV_SPACE", "SPACES_TIMEOUT")


@pytest.fixture(scope="module")
def logs():
    return {name: fake_spaces.SpaceLog() for name in ("phi4", "chat", "schnell", "dev", "busy")}


@pytest.fixture(scope="module")
def spaces(logs):
    """Every fake Space, launched once for the module; yields their URLs."""
    apps = {
        "phi4": fake_spaces.phi4_space(logs["phi4"]),
        "chat": fake_spaces.phi4_chat_space(logs["chat"]),
        "changed": fake_spaces.changed_space(),
        "schnell": fake_spaces.flux_space(logs["schnell"], dev=False),
        "dev": fake_spaces.flux_space(logs["dev"], dev=True),
        "busy": fake_spaces.busy_space(logs["busy"]),
    }
    urls, stack = {}, []
    try:
        for name, app in apps.items():
            context = launch_blocks(app)
            urls[name] = context.__enter__()
            stack.append(context)
        yield urls
    finally:
        for context in reversed(stack):
            context.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def space_env(spaces, logs, monkeypatch):
    monkeypatch.setenv("PHI4_SPACE", spaces["phi4"])
    monkeypatch.setenv("FLUX_SCHNELL_SPACE", spaces["schnell"])
    monkeypatch.setenv("FLUX_DEV_SPACE", spaces["dev"])
    monkeypatch.setenv("SPACES_TIMEOUT", "20")
    for log in logs.values():
        log.clear()


def _png(size=(64, 48), colour=(200, 10, 10)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _request(text: str, *, images=(), earlier=(), capability=Capability.TEXT) -> ChatRequest:
    messages = [*earlier, Message("user", text, [prepare_image(_png(s)) for s in images])]
    return ChatRequest(messages=messages, model="phi-4-multimodal", capability=capability)


async def _collect(provider, request, visitor):
    deltas, finish = [], None
    async for event in provider.chat(request, visitor):
        if isinstance(event, TextDelta):
            deltas.append(event.text)
        elif isinstance(event, Finish):
            finish = event.reason
    return "".join(deltas), deltas, finish


# -- Phi-4: the two-step session chat -------------------------------------------------------
async def test_phi4_streams_two_step_answer_with_images(logs):
    provider, visitor = Phi4Provider(), Visitor("a", ip_token="ip-token-a")
    text, deltas, finish = await _collect(provider, _request("what is this?", images=[(64, 48), (30, 20)],
                                                             capability=Capability.VISION), visitor)
    assert text == "Turn 1: you said 'what is this?'; new images: 64x48, 30x20; earlier images: 0; messages: 3."
    assert len(deltas) > 3 and finish == "stop"
    first, second = logs["phi4"].of("/process_message"), logs["phi4"].of("/bot_response")
    assert first[0]["session"] == second[0]["session"]  # both steps in one Gradio session


class _JobFinishingBetweenReads:
    """A job whose last output lands just as the stream checks whether it is done (the race a busy
    Space shows: gradio_client appends outputs from its own thread); with `final_only`, the last
    words come only in the completion message, which gradio_client keeps as the result alone."""

    def __init__(self, final_only: bool = False) -> None:
        self._outputs = ["Hello"]
        self._done = False
        self._final_only = final_only

    def add_done_callback(self, callback) -> None:
        pass

    def outputs(self) -> list[str]:
        return list(self._outputs)

    def done(self) -> bool:
        if not self._done:  # the job finishes now: its last output arrives with it
            if not self._final_only:
                self._outputs.append("Hello world")
            self._done = True
        return self._done

    def result(self) -> str:
        return "Hello world"

    def status(self) -> None:  # no queue or progress news (a real Job gives gradio_client's StatusUpdate)
        return None


async def test_a_stream_ends_with_the_result_even_when_an_earlier_output_was_changed_in_place():
    """gradio_client applies streamed diffs to the previous output object in place: the object yielded
    earlier may already hold the final text, but what the consumer read from it was the older text."""
    from types import SimpleNamespace

    from providers.spaces.space import Space, SpaceSession

    shared = {"text": "Hello"}

    class Job(_JobFinishingBetweenReads):
        def outputs(self):
            return [shared]

        calls = 0

        def done(self):
            self.calls += 1
            if self.calls > 1:  # after the first output was read: the completion's diff, in place
                shared["text"] = "Hello world"
            return self.calls > 1

        def result(self):
            return shared

    session = SpaceSession(SimpleNamespace(submit=lambda *a, **k: Job()), "owner/space", {})
    space = Space("Test Space", "TEST_SPACE", "owner/space", per_visitor=False)
    seen_texts = [o["text"] async for o in space.stream(session, "/chat", visitor=Visitor("v"),
                                                           deadline=space.deadline())]
    assert seen_texts[-1] == "Hello world", seen_texts


@pytest.mark.parametrize("final_only", [False, True], ids=["last-output", "completion-only"])
async def test_a_stream_keeps_outputs_that_arrive_as_the_job_ends(final_only):
    from types import SimpleNamespace

    from providers.spaces.space import Space, SpaceSession

    job = _JobFinishingBetweenReads(final_only)
    session = SpaceSession(SimpleNamespace(submit=lambda *a, **k: job), "owner/space", {})
    space = Space("Test Space", "TEST_SPACE", "owner/space", per_visitor=False)
    outputs = [o async for o in space.stream(session, "/chat", visitor=Visitor("v"), deadline=space.deadline())]
    assert outputs[-1] == "Hello world" and outputs[0] == "Hello", outputs


async def test_phi4_keeps_one_session_per_visitor_and_sends_earlier_images(logs):
    provider, visitor = Phi4Provider(), Visitor("a")
    earlier_request = _request("first", images=[(40, 40)], capability=Capability.VISION)
    answer, _, _ = await _collect(provider, earlier_request, visitor)
    earlier = [*earlier_request.messages, Message("assistant", answer)]
    text, _, _ = await _collect(provider, _request("second", earlier=earlier), visitor)
    assert text.startswith("Turn 2: you said 'second'; new images: none; earlier images: 1;")
    assert len({c["session"] for c in logs["phi4"].calls}) == 1


async def test_two_visitors_do_not_share_space_state_and_carry_their_own_ip_token(logs):
    provider = Phi4Provider()
    alice = Visitor("alice", ip_token="ip-alice", hf_token="hf_aliceaaaaaaaaaaaa")
    bob = Visitor("bob", ip_token="ip-bob")
    await _collect(provider, _request("hello"), alice)
    replies = await asyncio.gather(_collect(provider, _request("apple"), alice),
                                   _collect(provider, _request("banana"), bob))
    assert replies[0][0].startswith("Turn 2: you said 'apple'")
    assert replies[1][0].startswith("Turn 1: you said 'banana'")
    calls = logs["phi4"].calls
    sessions = {c["ip_token"]: set() for c in calls}
    for call in calls:
        sessions[call["ip_token"]].add(call["session"])
    assert set(sessions) == {"ip-alice", "ip-bob"}
    assert sessions["ip-alice"].isdisjoint(sessions["ip-bob"])
    assert {c["authorization"] for c in calls if c["ip_token"] == "ip-alice"} == {"Bearer hf_aliceaaaaaaaaaaaa"}
    assert {c["authorization"] for c in calls if c["ip_token"] == "ip-bob"} == {None}


async def test_phi4_client_is_released_with_the_visitor(logs):
    provider, visitor = Phi4Provider(), Visitor("a")
    await _collect(provider, _request("one"), visitor)
    assert visitor.state
    visitor.release()
    assert not visitor.state
    text, _, _ = await _collect(provider, _request("two"), visitor)
    assert text.startswith("Turn 1: you said 'two'")  # a fresh Gradio session
    assert len({c["session"] for c in logs["phi4"].calls}) == 2


async def test_phi4_single_chat_endpoint(spaces, logs, monkeypatch):
    monkeypatch.setenv("PHI4_SPACE", spaces["chat"])
    provider, visitor = Phi4Provider(), Visitor("a", ip_token="ip-chat")
    first = _request("hi", images=[(10, 20)], capability=Capability.VISION)
    text, deltas, _ = await _collect(provider, first, visitor)
    assert text == "Chat: you said 'hi'; images: 10x20; remembered turns: 0."
    assert len(deltas) > 2
    text, _, _ = await _collect(provider, _request("again", earlier=[*first.messages, Message("assistant", text)]),
                                visitor)
    assert text.endswith("remembered turns: 2.")
    # A different conversation starts a fresh session instead of inheriting this one.
    text, _, _ = await _collect(provider, _request("new chat"), visitor)
    assert text.endswith("remembered turns: 0.")
    assert {c["ip_token"] for c in logs["chat"].calls} == {"ip-chat"}


# -- Phi-4 failures ------------------------------------------------------------------------
async def test_phi4_quota_error_is_clear():
    with pytest.raises(RateLimitedError) as info:
        await _collect(Phi4Provider(), _request("quota"), Visitor("a"))
    message = str(info.value)
    assert "ZeroGPU quota used up" in message and "exceeded your GPU quota" in message
    assert info.value.retry_after == 65


async def test_phi4_error_mid_stream_keeps_partial_answer():
    deltas = []
    with pytest.raises(RateLimitedError):
        async for event in Phi4Provider().chat(_request("late-quota"), Visitor("a")):
            if isinstance(event, TextDelta):
                deltas.append(event.text)
    assert "".join(deltas).startswith("Turn 1: you")


async def test_phi4_crash_without_details_is_clear():
    with pytest.raises(UnavailableError, match="failed without saying why"):
        await _collect(Phi4Provider(), _request("boom"), Visitor("a"))


async def test_changed_api_is_reported(spaces, monkeypatch):
    monkeypatch.setenv("PHI4_SPACE", spaces["changed"])
    with pytest.raises(ProtocolError) as info:
        await _collect(Phi4Provider(), _request("hi"), Visitor("a"))
    message = str(info.value)
    assert "the Space's API changed: expected /process_message(history, message)" in message
    assert "found /process_message(" in message and "/answer(" in message
    monkeypatch.setenv("FLUX_DEV_SPACE", spaces["changed"])
    with pytest.raises(ProtocolError, match=r"API changed: expected /infer\(prompt"):
        await FluxDevProvider().generate_image(ImageRequest("a cat", "FLUX.1-dev"), Visitor("a"))


async def test_space_that_is_down(monkeypatch):
    monkeypatch.setenv("PHI4_SPACE", f"http://127.0.0.1:{free_port()}/")
    with pytest.raises(UnavailableError, match="could not connect to the Space at http://127.0.0.1"):
        await _collect(Phi4Provider(), _request("hi"), Visitor("a"))


async def test_space_going_down_after_connecting(monkeypatch):
    provider, log = FluxSchnellProvider(), fake_spaces.SpaceLog()
    with launch_blocks(fake_spaces.flux_space(log, dev=False)) as url:
        monkeypatch.setenv("FLUX_SCHNELL_SPACE", url)
        await provider.generate_image(ImageRequest("x", "FLUX.1-schnell", width=256, height=256), Visitor("a"))
        assert provider.space._shared
    with pytest.raises(UnavailableError, match="could not connect to the Space"):
        await provider.generate_image(ImageRequest("x", "FLUX.1-schnell", width=256, height=256), Visitor("a"))
    assert not provider.space._shared  # the next call connects afresh


async def test_stuck_job_hits_the_time_limit_and_is_cancelled(logs, monkeypatch):
    provider, visitor = Phi4Provider(), Visitor("a")
    await _collect(provider, _request("warm up"), visitor)  # connect before the short limit applies
    monkeypatch.setenv("SPACES_TIMEOUT", "1")
    started = time.monotonic()
    with pytest.raises(UnavailableError, match="did not finish within 1 s"):
        await _collect(provider, _request("hang"), visitor)
    assert time.monotonic() - started < 5
    await _until(lambda: "/bot_response" in logs["phi4"].cancelled)


async def test_stop_cancels_the_remote_job(logs):
    stream = Phi4Provider().chat(_request("hang"), Visitor("a"))
    task = asyncio.create_task(stream.__anext__())
    await _until(lambda: logs["phi4"].of("/bot_response"))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _until(lambda: "/bot_response" in logs["phi4"].cancelled)


async def test_stop_while_the_job_is_being_submitted_still_stops_it(logs):
    """Stop can come while the job is still being handed to gradio_client (in a thread, which cannot
    be interrupted): the job then starts anyway, and must be stopped on the Space once it has."""
    provider, visitor = FluxSchnellProvider(), Visitor("a")
    session = await provider.space.session(visitor, provider.space.deadline())
    request = ImageRequest("hang", "FLUX.1-schnell", width=256, height=256, seed=1)
    with session.jobs._lock:  # submitting waits here (as it does while another job is being cancelled)
        task = asyncio.create_task(provider.generate_image(request, visitor))
        await _until(_submitting)  # the thread handing the job over waits for the lock
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await _until(lambda: logs["schnell"].of("/infer"))  # the job started once the lock was free...
    await _until(lambda: "/infer" in logs["schnell"].cancelled)  # ...and was stopped on the Space
    await _until(lambda: not session.jobs._running)


def _submitting() -> bool:
    """True while some thread is inside `SpaceJobs.submit`."""
    where = os.path.join("spaces", "space.py")
    return any(frame.f_code.co_name == "submit" and frame.f_code.co_filename.endswith(where)
               for frame in sys._current_frames().values())


async def test_closing_the_stream_cancels_the_remote_job(logs):
    stream = Phi4Provider().chat(_request("slow"), Visitor("a"))
    first = await stream.__anext__()
    assert isinstance(first, TextDelta) and first.text == "Turn"
    await stream.aclose()  # what the app does when the visitor presses Stop
    await _until(lambda: "/bot_response" in logs["phi4"].cancelled)


async def _until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


# -- FLUX ----------------------------------------------------------------------------------
async def test_flux_schnell_returns_image_and_seed(logs):
    result = await FluxSchnellProvider().generate_image(
        ImageRequest("a red square", "FLUX.1-schnell", width=320, height=256, seed=7),
        Visitor("a", ip_token="ip-flux"))
    with Image.open(io.BytesIO(result.data)) as image:
        assert image.size == (320, 256) and image.getpixel((0, 0))[:2] == (7, 0)
    assert (result.seed, result.width, result.height, result.mime) == (7, 320, 256, "image/webp")
    call = logs["schnell"].of("/infer")[0]
    assert (call["steps"], call["randomize_seed"], call["guidance"], call["ip_token"]) == (4, False, None, "ip-flux")


async def test_flux_dev_random_seed_and_guidance(logs):
    provider = FluxDevProvider()
    result = await provider.generate_image(ImageRequest("a cat", "FLUX.1-dev", width=256, height=256, seed=-1),
                                           Visitor("a"))
    assert result.seed == 4242
    call = logs["dev"].of("/infer")[0]
    assert (call["randomize_seed"], call["steps"], call["guidance"]) == (True, 28, 3.5)
    await provider.generate_image(ImageRequest("a cat", "FLUX.1-dev", width=256, height=256, steps=3,
                                               guidance=5.0), Visitor("b", ip_token="ip-b"))
    second = logs["dev"].of("/infer")[1]
    assert (second["steps"], second["guidance"], second["ip_token"]) == (3, 5.0, "ip-b")


async def test_flux_shares_one_client_but_not_headers(logs):
    provider = FluxSchnellProvider()
    requests = [provider.generate_image(ImageRequest("x", "FLUX.1-schnell", width=256, height=256, seed=i),
                                        Visitor(f"v{i}", ip_token=f"ip-{i}")) for i in range(3)]
    results = await asyncio.gather(*requests)
    assert [r.seed for r in results] == [0, 1, 2]
    calls = logs["schnell"].of("/infer")
    assert {(c["seed"], c["ip_token"]) for c in calls} == {(0, "ip-0"), (1, "ip-1"), (2, "ip-2")}
    assert len(provider.space._shared) == 1


async def test_flux_quota_and_full_queue(spaces, monkeypatch):
    with pytest.raises(RateLimitedError, match="ZeroGPU quota"):
        await FluxSchnellProvider().generate_image(ImageRequest("quota", "FLUX.1-schnell"), Visitor("a"))
    monkeypatch.setenv("FLUX_SCHNELL_SPACE", spaces["busy"])
    with pytest.raises(UnavailableError, match="queue is full"):
        await FluxSchnellProvider().generate_image(ImageRequest("a cat", "FLUX.1-schnell"), Visitor("a"))


async def test_flux_requests_stay_within_what_the_space_takes(logs):
    """Steps past the Spaces' 50 used to reach the Space and come back as "service unavailable"."""
    from playground.service import Playground

    playground = Playground(Registry([FluxSchnellProvider(), FluxDevProvider()]))
    await playground.image("a cat", provider_id="flux-schnell", model=None, visitor=Visitor("a"), width=256,
                           height=256, steps=100, guidance=7.0, negative_prompt="ignored")
    (call,) = logs["schnell"].of("/infer")
    assert call["steps"] == 50 and call["guidance"] is None  # schnell takes no guidance
    await playground.image("a cat", provider_id="flux-dev", model=None, visitor=Visitor("a"), width=256,
                           height=256, steps=2, guidance=25.0)
    (call,) = logs["dev"].of("/infer")
    assert call["steps"] == 2 and call["guidance"] == 15.0
    options = FluxDevProvider().image_options("FLUX.1-dev")
    assert (options.steps, options.default_steps, options.guidance, options.negative_prompt) == (
        (1, 50), 28, (1.0, 15.0), False)


async def test_flux_stuck_job_times_out(logs, monkeypatch):
    provider = FluxSchnellProvider()
    await provider.generate_image(ImageRequest("warm", "FLUX.1-schnell", width=256, height=256), Visitor("a"))
    monkeypatch.setenv("SPACES_TIMEOUT", "1")
    with pytest.raises(UnavailableError, match="did not finish within 1 s"):
        await provider.generate_image(ImageRequest("hang", "FLUX.1-schnell"), Visitor("a"))
    await _until(lambda: "/infer" in logs["schnell"].cancelled)


async def test_stopping_one_visitors_image_leaves_anothers_running(logs):
    """The FLUX Client is shared (one Gradio session for every visitor), and Gradio's `/cancel`
    stops every running task of a session's endpoint: a Stop must not reach other visitors' jobs."""
    provider = FluxSchnellProvider()
    kept = asyncio.create_task(provider.generate_image(
        ImageRequest("wait", "FLUX.1-schnell", width=256, height=256), Visitor("a")))
    stopped = asyncio.create_task(provider.generate_image(ImageRequest("hang", "FLUX.1-schnell"), Visitor("b")))
    await _until(lambda: len(logs["schnell"].of("/infer")) == 2)
    stopped.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopped
    await _until(lambda: not any(t.name == "space-cancel" for t in threading.enumerate()))
    logs["schnell"].release.set()
    image = await asyncio.wait_for(kept, 30)
    assert image.data
    assert "/infer" not in logs["schnell"].cancelled  # the hung job was left to the Space, not cancelled


# -- FLUX: progress and Cancel, as the Text-to-image tab sees them ---------------------------------
@pytest.fixture
def one_at_a_time(monkeypatch):
    """A FLUX schnell Space that runs one job at a time (the next waits in its queue); yields its log."""
    log = fake_spaces.SpaceLog()
    with launch_blocks(fake_spaces.flux_space(log, dev=False, concurrency=1)) as url:
        monkeypatch.setenv("FLUX_SCHNELL_SPACE", url)
        yield log
        log.release.set()  # a job still held lets the Space close


async def test_image_progress_reports_the_queue_place_then_the_steps(one_at_a_time):
    """What the Space's queue and `gr.Progress` say reaches the caller as `Progress`, through gradio_client."""
    from playground.service import ImageDone, Playground
    from providers.events import Progress

    playground = Playground(Registry([FluxSchnellProvider()]))
    first = asyncio.create_task(playground.image("wait", provider_id="flux-schnell", model=None,
                                                 visitor=Visitor("a"), width=256, height=256))
    await _until(lambda: one_at_a_time.of("/infer"))  # the only worker is busy from now on
    seen: list[Progress] = []
    async for event in playground.image_events("slow", provider_id="flux-schnell", model=None,
                                               visitor=Visitor("b"), width=256, height=256, steps=3,
                                               heartbeat=0.2):
        if isinstance(event, ImageDone):
            done = event
            break
        seen.append(event)
        if event.stage == "queued":
            one_at_a_time.release.set()  # the first job ends: this one runs
    assert Progress("queued", position=1, queue_size=1) in [replace(p, eta=None, elapsed=0) for p in seen]
    steps = [(p.step, p.total) for p in seen if p.stage == "running" and p.total]
    assert steps and all(total == 3 for _, total in steps), seen
    assert [s for s, _ in steps] == sorted(s for s, _ in steps)  # never backwards
    assert seen[-1].elapsed > 0.5 and done.result.width == 256
    await asyncio.wait_for(first, 30)


async def test_cancelling_an_image_releases_the_space_job(logs):
    """Cancel closes the tab's stream: the provider call is cancelled, and the job with it on the Space."""
    from playground.service import Playground

    provider = FluxSchnellProvider()
    playground = Playground(Registry([provider]))
    events = playground.image_events("slow", provider_id="flux-schnell", model=None, visitor=Visitor("a"),
                                     width=256, height=256, steps=50)
    async for event in events:
        if event.stage == "running" and event.step:
            break  # the Space is at its steps
    await asyncio.wait_for(events.aclose(), 10)  # what Cancel does: returns once the provider let go
    assert not provider.space._shared[os.environ["FLUX_SCHNELL_SPACE"]].jobs._running
    await _until(lambda: "/infer" in logs["schnell"].cancelled)  # the Space stopped at once, not after 50 steps
    assert len(logs["schnell"].of("/infer")) == 1


def test_job_progress_reads_gradio_clients_status():
    from gradio_client.utils import ProgressUnit, Status, StatusUpdate

    from providers.events import Progress
    from providers.spaces.space import job_progress

    def status(code, **fields):
        return StatusUpdate(code=code, rank=fields.get("rank"), queue_size=fields.get("queue_size"),
                            eta=fields.get("eta"), success=None, time=None,
                            progress_data=fields.get("progress_data"))

    assert job_progress(status(Status.IN_QUEUE, rank=2, queue_size=7, eta=12.5)) == Progress(
        "queued", position=3, queue_size=7, eta=12.5)
    nested = [ProgressUnit(index=None, length=None, unit=None, progress=None, desc="Loading"),
              ProgressUnit(index=11, length=28, unit="steps", progress=None, desc="Denoising")]
    assert job_progress(status(Status.PROGRESS, progress_data=nested)) == Progress(
        "running", step=11, total=28, unit="steps", description="Denoising")
    fraction = [ProgressUnit(index=None, length=20, unit="it", progress=0.5, desc=None)]
    assert job_progress(status(Status.PROGRESS, progress_data=fraction)).step == 10
    assert job_progress(status(Status.PROCESSING)) == Progress("running")
    assert job_progress(status(Status.STARTING)) is None and job_progress(None) is None


def test_job_progress_keeps_only_numbers_and_bounded_words_from_a_hostile_space():
    """A Space's progress is shown in the page: text where numbers belong, NaN or huge words are dropped."""
    from gradio_client.utils import ProgressUnit, Status, StatusUpdate

    from providers.events import Progress
    from providers.spaces.space import MAX_PROGRESS_LABEL, job_progress

    def status(code, **fields):
        return StatusUpdate(code=code, rank=fields.get("rank"), queue_size=fields.get("queue_size"),
                            eta=fields.get("eta"), success=None, time=None,
                            progress_data=fields.get("progress_data"))

    hostile = '"><img src=x onerror=alert(1)>'
    assert job_progress(status(Status.IN_QUEUE, rank=hostile, queue_size=float("nan"), eta="soon")) == Progress(
        "queued")
    assert job_progress(status(Status.IN_QUEUE, rank=-3, queue_size=True, eta=float("inf"))) == Progress("queued")
    units = [ProgressUnit(index=hostile, length=hostile, unit=["x"], progress=None, desc="d" * 10_000)]
    shown = job_progress(status(Status.PROGRESS, progress_data=units))
    assert shown == Progress("running", description="d" * MAX_PROGRESS_LABEL)
    assert shown.fraction is None
    units = [ProgressUnit(index=None, length=20, unit="it", progress=float("nan"), desc=None),
             ProgressUnit(index=None, length=20, unit="it", progress=7.0, desc=None)]
    assert job_progress(status(Status.PROGRESS, progress_data=units[:1])) == Progress("running", total=20, unit="it")
    assert job_progress(status(Status.PROGRESS, progress_data=units[1:])).step == 20


async def test_two_compare_columns_on_phi4_run_at_once_in_sessions_of_their_own(logs):
    from playground.compare import Job, Target, compare
    from playground.service import Playground

    playground, visitor = Playground(Registry([Phi4Provider()])), Visitor("columns")

    async def run(jobs: list[Job]) -> list[str]:
        async for columns in compare(playground, jobs, visitor=visitor):
            pass
        return [c.turn.reply.text if c.turn else c.error for c in columns]

    first = await run([Job(Target("phi4"), [Message("user", "hello")]) for _ in range(2)])
    assert all(r.startswith("Turn 1: you said 'hello'") for r in first), first
    follow_ups = [Job(Target("phi4"), [Message("user", "hello"), Message("assistant", answer), Message("user", "wait")])
                  for answer in first]
    logs["phi4"].clear()
    both = asyncio.create_task(run(follow_ups))
    await _until(lambda: len(logs["phi4"].of("/bot_response")) == 2)  # at once, not one after the other
    logs["phi4"].release.set()
    replies = await asyncio.wait_for(both, 30)
    # Each column's session kept its own conversation: neither reset the other's.
    assert all(r.startswith("Turn 2: you said 'wait'") for r in replies), replies
    assert len({c["session"] for c in logs["phi4"].of("/bot_response")}) == 2


# -- the mechanism's small parts -------------------------------------------------------------
def test_error_mapping_for_failures_a_local_space_cannot_show():
    paused = space_error("S", ValueError("The current space is in the invalid state: PAUSED. Please contact"),
                         "owner/space")
    assert isinstance(paused, UnavailableError) and "paused" in str(paused)
    broken = space_error("S", ValueError("The current space is in the invalid state: RUNTIME_ERROR. Please"))
    assert "not running (RUNTIME_ERROR)" in str(broken)
    assert isinstance(space_error("S", ValueError("Could not find Space: x/y.")), NotConfiguredError)
    from gradio_client.exceptions import AuthenticationError
    from gradio_client.utils import TooManyRequestsError
    assert isinstance(space_error("S", AuthenticationError("no")), AuthRequiredError)
    assert isinstance(space_error("S", TooManyRequestsError("slow down")), RateLimitedError)
    assert "queue is full" in str(space_error("S", QueueError("Queue is full! Please try again.")))
    assert str(space_error("S", AppError("<b>Bad</b> input"))) == "S: service unavailable (Bad input)"
    assert space_error("S", AppError("<b>Bad</b> input")).user_message == (
        "S reported a problem (Bad input): try again or pick another provider.")


def test_credentials_only_go_to_spaces_or_this_machine():
    visitor = Visitor("a", ip_token="ip-x", hf_token="hf_secretsecretsecret")
    for source in ("owner/space", "https://owner-space.hf.space/", "http://127.0.0.1:7860/", "http://localhost:1/"):
        assert trusts_credentials(source)
        assert call_headers(visitor, source) == {"x-ip-token": "ip-x",
                                                 "x-hf-authorization": "Bearer hf_secretsecretsecret"}
    assert call_headers(visitor, "https://example.com/space/") == {}


def test_nothing_connects_at_import_or_construction(monkeypatch):
    monkeypatch.setenv("PHI4_SPACE", f"http://127.0.0.1:{free_port()}/")
    provider = Phi4Provider()  # no Client yet: construction is lazy and off the loop
    assert provider.availability().ready and provider.describe()["id"] == "phi4"
    assert [p.id for p in (FluxSchnellProvider(), FluxDevProvider())] == ["flux-schnell", "flux-dev"]


# -- end to end through the app -------------------------------------------------------------
@pytest.fixture(scope="module")
def app_url(spaces):
    env = {"PHI4_SPACE": spaces["phi4"], "FLUX_SCHNELL_SPACE": spaces["schnell"], "FLUX_DEV_SPACE": spaces["dev"]}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    demo = build_demo(Registry([Phi4Provider(), FluxSchnellProvider(), FluxDevProvider()]), AppSettings.from_env())
    try:
        with launch_blocks(demo) as url:
            yield url
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_app_chat_vision_and_image_end_to_end(app_url, logs, tmp_path):
    alice = Client(app_url, verbose=False, headers={"x-ip-token": "ip-app-alice"})
    bob = Client(app_url, verbose=False, headers={"x-ip-token": "ip-app-bob"})
    try:
        job = alice.submit(messages=[{"role": "user", "content": "hello"}], provider="phi4", model="",
                           system_prompt="", temperature=0.7, max_tokens=100, top_p=0.9, api_name="/chat")
        reply = job.result(timeout=30)
        assert reply == "Turn 1: you said 'hello'; new images: none; earlier images: 0; messages: 1."
        assert len(job.outputs()) >= 2
        picture = tmp_path / "p.png"
        Image.new("RGB", (80, 60), (0, 200, 0)).save(picture)
        reply = bob.predict(prompt="describe", images=[handle_file(str(picture))], history=[], provider="phi4",
                            model="", temperature=0.5, max_tokens=100, api_name="/vision")
        assert reply.startswith("Turn 1: you said 'describe'; new images: 80x60;")
        assert {c["ip_token"] for c in logs["phi4"].calls} == {"ip-app-alice", "ip-app-bob"}
        sessions = {c["ip_token"]: c["session"] for c in logs["phi4"].calls}
        assert sessions["ip-app-alice"] != sessions["ip-app-bob"]

        path, info = alice.predict(prompt="a green field", provider="flux-dev", model="", negative_prompt="",
                                   width=384, height=256, steps=2, guidance=4.0, seed=9, api_name="/image")
        with Image.open(path) as image:
            assert image.size == (384, 256)
        assert (info["provider"], info["model"], info["seed"]) == ("flux-dev", "FLUX.1-dev", 9)
        assert logs["dev"].of("/infer")[0]["ip_token"] == "ip-app-alice"

        quota = "FLUX.1 schnell \\(Space\\) has used up the free GPU quota: try again in 65 s"
        with pytest.raises(AppError, match=quota):
            alice.predict(prompt="quota", provider="flux-schnell", model="", negative_prompt="", width=256,
                          height=256, steps=2, guidance=None, seed=1, api_name="/image")
    finally:
        alice.close()
        bob.close()
