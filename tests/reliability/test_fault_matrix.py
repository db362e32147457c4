"""Every provider × every failure: the right kind of error, a clear message naming the provider,
the partial answer kept, and the next request (same visitor, same provider object) answered.

Each cell runs through `Playground` (what both the UI and the public API call) against the
provider's local server and asserts the kind of error it ends in (`EXPECTED`).
Cells that can never apply are left out of the parametrisation, with the reason, in `NOT_APPLICABLE`.
No cell may end in an internal error: those are the playground's own bugs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from playground.service import Playground, describe_error
from providers import Message, PlaygroundError, Provider, ProviderError, Registry, Visitor
from providers.errors import (
    AuthRequiredError,
    ForbiddenError,
    ModelNotSupportedError,
    ProtocolError,
    RateLimitedError,
    UnavailableError,
)
from providers.flowgpt import FlowGptProvider
from providers.h2o import H2oProvider
from providers.huggingchat.provider import HuggingChatProvider
from providers.huggingface.provider import HuggingFaceProvider
from providers.inference.openai_compat import OpenAICompatProvider
from providers.spaces.flux import FluxSchnellProvider
from providers.spaces.phi4 import Phi4Provider
from tests.reliability.conftest import HF_VISITOR_TOKEN, HUGGINGCHAT_COOKIE
from tests.support import fake_spaces
from tests.support.servers import launch_blocks

FAULTS = ("401", "403", "404-model", "429", "500", "503", "timeout", "malformed", "dropped", "empty")
STATUS_FAULTS = ("401", "403", "429", "500", "503")
#: The kind of error each fault ends in, for every provider that can show it.
EXPECTED: dict[str, type[ProviderError]] = {
    "401": AuthRequiredError,
    "403": ForbiddenError,
    "404-model": ModelNotSupportedError,
    "429": RateLimitedError,
    "500": UnavailableError,
    "503": UnavailableError,
    "timeout": UnavailableError,
    "malformed": ProtocolError,
    "dropped": UnavailableError,
    "empty": ProtocolError,
}
NO_AUTH_ON_A_LOCAL_SPACE = ("a local Gradio app cannot answer 401/403 to gradio_client; the mapping is "
                            "covered by tests/test_spaces.py::test_error_mapping_for_failures_a_local_space_cannot_show")
NO_WIRE_ON_A_SPACE = "gradio_client parses the Space protocol itself: no raw line or empty body reaches the adapter"
#: Seconds any single request may take before the cell counts as a hang: well above the adapters' own
#: limits (SPACES_TIMEOUT is 20 s in this suite), so on a busy machine the adapter's clear error, not
#: this guard's bare timeout, is what a slow call ends with.
HANG_LIMIT = 90


@dataclass
class Plan:
    """How to provoke one failure: which model and text, and what to do first."""

    model: str
    text: str
    #: Text streamed before the failure: the kept partial answer must start with it.
    partial: str = ""
    #: Malformed lines may be skipped (and logged) instead of failing the turn.
    may_succeed: bool = False
    env: dict[str, str] = field(default_factory=dict)
    arm: Callable[[dict], None] | None = None
    #: Run a good turn first (Spaces: connect before a short time limit applies).
    warm: bool = False
    #: Context manager factory run around the failing turn (e.g. a Space that goes away).
    around: Callable[[dict, pytest.MonkeyPatch], object] | None = None
    image: bool = False


@dataclass
class Row:
    provider: Callable[[], Provider]
    ok_model: str
    ok_text: str
    visitor: Callable[[], Visitor]
    plan: Callable[[str], Plan]
    image: bool = False


def _hf_plan(ok_model: str) -> Callable[[str], Plan]:
    """The Hugging Face server scripts failures by model id (tests/support/hf_server.py)."""
    def plan(fault: str) -> Plan:
        if fault in STATUS_FAULTS or fault == "404-model":
            return Plan(model=f"status-{fault[:3]}", text="hi there")
        return {
            "timeout": Plan(model="slow-mid", text="hi there", partial="Hello from"),
            "malformed": Plan(model="malformed", text="hi there", partial="Hello from"),
            "dropped": Plan(model="cut", text="hi there", partial="Hello from"),
            "empty": Plan(model="empty", text="hi there"),
        }[fault]
    return plan


def _huggingchat_plan(fault: str) -> Plan:
    def reply(kind: str) -> Callable[[dict], None]:
        return lambda servers: servers["huggingchat"][1].replies.append(kind)

    def fail(status: int) -> Callable[[dict], None]:
        headers = {"retry-after": "7"} if status == 429 else None
        return lambda servers: servers["huggingchat"][1].fail("send", status, headers=headers)

    if fault in STATUS_FAULTS:
        return Plan(model="text-model", text="hello", arm=fail(int(fault)))
    return {
        "404-model": Plan(model="no-such-model", text="hello"),
        "timeout": Plan(model="text-model", text="hello", arm=reply("stall"), partial="partial answer"),
        "malformed": Plan(model="text-model", text="hello", arm=reply("garbage")),
        "dropped": Plan(model="text-model", text="hello", arm=reply("cut"), partial="partial answer"),
        "empty": Plan(model="text-model", text="hello", arm=reply("empty")),
    }[fault]


def _directive_plan(model: str, partial: str, timeout_partial: str) -> Callable[[str], Plan]:
    """H2o and FlowGPT servers take `#directive`s in the prompt."""
    def plan(fault: str) -> Plan:
        if fault in STATUS_FAULTS:
            return Plan(model=model, text=f"tell me #{fault}")
        return {
            "404-model": Plan(model="no-such/model", text="tell me"),
            "timeout": Plan(model=model, text="tell me #hang", partial=timeout_partial),
            "malformed": Plan(model=model, text="tell me #malformed", partial=timeout_partial, may_succeed=True),
            "dropped": Plan(model=model, text="tell me #cut", partial=partial),
            "empty": Plan(model=model, text="tell me #empty"),
        }[fault]
    return plan


class _SpaceGoesAway:
    """A second copy of a Space the adapter connects to, then stops (the connection is gone)."""

    def __init__(self, setting: str, build: Callable[[fake_spaces.SpaceLog], object]) -> None:
        self.setting, self.build = setting, build

    def __call__(self, servers: dict, monkeypatch: pytest.MonkeyPatch):
        return _Gone(self, monkeypatch)


class _Gone:
    def __init__(self, spec: _SpaceGoesAway, monkeypatch: pytest.MonkeyPatch) -> None:
        self.spec, self.monkeypatch = spec, monkeypatch

    async def prepare(self, warm: Callable[[], object]) -> None:
        with launch_blocks(self.spec.build(fake_spaces.SpaceLog())) as url:
            self.monkeypatch.setenv(self.spec.setting, url)
            await warm()
        # the Space is closed now; the adapter still holds its client

    def restore(self, servers: dict, key: str) -> None:
        self.monkeypatch.setenv(self.spec.setting, servers[key][0])


def _phi4_plan(fault: str) -> Plan:
    return {
        "404-model": Plan(model="no-such-model", text="hi"),
        "429": Plan(model="", text="late-quota", partial="Turn"),  # ZeroGPU quota, after some text
        "500": Plan(model="", text="boom"),
        "timeout": Plan(model="", text="hang", env={"SPACES_TIMEOUT": "1"}, warm=True),
        "dropped": Plan(model="", text="hi", around=_SpaceGoesAway("PHI4_SPACE", fake_spaces.phi4_space)),
    }[fault]


def _flux_plan(fault: str) -> Plan:
    return {
        "404-model": Plan(model="no-such-model", text="a cat"),
        "429": Plan(model="", text="quota"),
        "500": Plan(model="", text="boom"),
        "503": Plan(model="", text="a cat", env={"FLUX_SCHNELL_SPACE": "@busy"}),
        "timeout": Plan(model="", text="hang", env={"SPACES_TIMEOUT": "1"}, warm=True),
        "dropped": Plan(model="", text="a cat",
                        around=_SpaceGoesAway("FLUX_SCHNELL_SPACE", lambda log: fake_spaces.flux_space(log, dev=False))),
    }[fault]


ROWS: dict[str, Row] = {
    "huggingface": Row(HuggingFaceProvider, "local/chat-model", "hi there",
                       lambda: Visitor("hf", hf_token=HF_VISITOR_TOKEN), _hf_plan("local/chat-model")),
    "openai-compatible": Row(OpenAICompatProvider, "served/model-a", "hi there", lambda: Visitor("oa"),
                             _hf_plan("served/model-a")),
    "huggingchat": Row(HuggingChatProvider, "text-model", "hello",
                       lambda: Visitor("hc", huggingchat_cookie=HUGGINGCHAT_COOKIE), _huggingchat_plan),
    "h2o": Row(H2oProvider, "h2oai/h2ogpt-gm-oasst1-en-2048-falcon-40b-v1", "hello", lambda: Visitor("h2o"),
               _directive_plan("h2oai/h2ogpt-gm-oasst1-en-2048-falcon-40b-v1", "You said:", "You")),
    "flowgpt": Row(FlowGptProvider, "gpt-3.5-turbo", "hello", lambda: Visitor("flow"),
                   _directive_plan("gpt-3.5-turbo", "gpt-3.5-turbo says:", "gpt-3.5-turbo")),
    "phi4": Row(Phi4Provider, "", "hello", lambda: Visitor("phi"), _phi4_plan),
    "flux-schnell": Row(FluxSchnellProvider, "", "a red square", lambda: Visitor("flux"), _flux_plan, image=True),
}
SPACE_ROWS = ("phi4", "flux-schnell")
#: Cells that can never apply, and why: left out of the parametrisation, not skipped at run time.
#: Auto has no row: it only delegates to the providers above, and its fall-through on each kind of
#: failure is covered by tests/test_auto.py.
NOT_APPLICABLE: dict[tuple[str, str], str] = {
    **{(space, fault): NO_AUTH_ON_A_LOCAL_SPACE for space in SPACE_ROWS for fault in ("401", "403")},
    **{(space, fault): NO_WIRE_ON_A_SPACE for space in SPACE_ROWS for fault in ("malformed", "empty")},
    ("phi4", "503"): "a full queue is a Space-wide condition: shown by the FLUX row (its busy Space)",
}


async def _turn(playground: Playground, provider: Provider, row: Row, model: str, text: str,
                visitor: Visitor) -> tuple[str, PlaygroundError | None]:
    """One request; returns the text the user ends up with and the error, if any."""
    if row.image:
        try:
            result, _ = await asyncio.wait_for(
                playground.image(text, provider_id=provider.id, model=model or None, visitor=visitor,
                                 width=256, height=256, steps=2), HANG_LIMIT)
        except PlaygroundError as exc:
            return "", exc
        return f"{len(result.data)} bytes", None
    turn = None

    async def consume() -> None:
        nonlocal turn
        async for turn in playground.chat([Message("user", text)], provider_id=provider.id, model=model or None,
                                          visitor=visitor):
            pass

    try:
        await asyncio.wait_for(consume(), HANG_LIMIT)
    except PlaygroundError as exc:
        return (turn.reply.text if turn else ""), exc
    return (turn.reply.text if turn else ""), None


@asynccontextmanager
async def row_playground(row: Row) -> AsyncIterator[tuple[Provider, Playground, Visitor]]:
    """The row's provider alone in a playground, with the row's visitor; its client pool closed after."""
    provider = row.provider()
    try:
        yield provider, Playground(Registry([provider])), row.visitor()
    finally:
        pool = getattr(provider, "_pool", None)
        if pool is not None:
            await pool.aclose()


async def start_fault(plan: Plan, row: Row, provider: Provider, playground: Playground, visitor: Visitor,
                      local_servers: dict, monkeypatch: pytest.MonkeyPatch):
    """Warm the provider when the plan asks, then set the fault up; returns the plan's `around` helper, if any."""
    if plan.warm:
        _, error = await _turn(playground, provider, row, row.ok_model, row.ok_text, visitor)
        assert error is None, describe_error(error)
    for name, value in plan.env.items():
        monkeypatch.setenv(name, local_servers[value[1:]][0] if value.startswith("@") else value)
    gone = plan.around(local_servers, monkeypatch) if plan.around else None
    if gone is not None:
        await gone.prepare(lambda: _turn(playground, provider, row, row.ok_model, row.ok_text, visitor))
    if plan.arm:
        plan.arm(local_servers)
    return gone


CELLS = [(pid, fault) for pid in ROWS for fault in FAULTS if (pid, fault) not in NOT_APPLICABLE]


def test_every_cell_is_run_or_left_out_with_a_reason():
    assert set(NOT_APPLICABLE) <= {(pid, fault) for pid in ROWS for fault in FAULTS}
    assert len(CELLS) + len(NOT_APPLICABLE) == len(ROWS) * len(FAULTS)
    assert all(isinstance(ROWS[pid].plan(fault), Plan) for pid, fault in CELLS)


@pytest.mark.parametrize("provider_id, fault", CELLS, ids=[f"{p}-{f}" for p, f in CELLS])
async def test_fault_cell(provider_id, fault, local_servers, provider_env, monkeypatch):
    row = ROWS[provider_id]
    plan = row.plan(fault)
    async with row_playground(row) as (provider, playground, visitor):
        gone = await start_fault(plan, row, provider, playground, visitor, local_servers, monkeypatch)
        kept, error = await _turn(playground, provider, row, plan.model, plan.text, visitor)

        if error is None:
            assert plan.may_succeed, f"{provider_id}/{fault}: no error and nothing said about the failure"
            assert kept and "{" not in kept and "not json" not in kept
        else:
            message = describe_error(error)
            assert provider.label in message, message
            kind = EXPECTED[fault]
            assert isinstance(error, kind), f"{provider_id}/{fault}: not a {kind.__name__}: {message}"
            assert "internal error" not in message and "Traceback" not in message, message
            assert len(message) < 600
            if plan.partial:
                assert kept.startswith(plan.partial), (kept, message)

        for name in plan.env:
            monkeypatch.setenv(name, provider_env[name])
        if gone is not None:
            gone.restore(local_servers, "phi4" if provider_id == "phi4" else "schnell")
        text, error = await _turn(playground, provider, row, row.ok_model, row.ok_text, visitor)
        assert error is None, f"the next request failed: {describe_error(error)}"
        assert text
