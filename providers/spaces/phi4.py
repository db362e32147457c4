"""Phi-4 multimodal through its Gradio Space (text and vision chat).

The Space's API is read once per Client from `view_api()` and mapped to our
request. Two shapes work: the two-step session chat (`/process_message`
then `/bot_response` in one Gradio session, images kept in `gr.State`) and a
single chat endpoint taking a multimodal message. The Space keeps session
state, so every visitor gets a Client of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from ..base import Capability, ChatRequest
from ..code import SPACE, CodeTarget, GradioCall, ImageFile, PreviousOutput
from ..events import ChatEvent, Finish, TextDelta
from ..media import PreparedImage
from ..messages import Message
from ..session import Visitor
from .space import Param, Space, SpaceProvider, SpaceSession, api_changed, file_ref, image_files, resend_files

DEFAULT_SPACE = "microsoft/phi-4-multimodal"
MODEL = "phi-4-multimodal"
EXPECTED_API = ("/process_message(history, message) then /bot_response(history), "
                "or one chat endpoint taking a multimodal message")
#: Optional generation settings a Space may expose, by parameter name.
_OPTIONS = {
    "system_prompt": "system_prompt", "system_message": "system_prompt",
    "temperature": "temperature", "top_p": "top_p",
    "max_tokens": "max_tokens", "max_new_tokens": "max_tokens",
}


@dataclass(frozen=True)
class ChatPlan:
    """How our request maps onto the Space's endpoints."""

    submit: str
    inputs: tuple[Param, ...]
    respond: str | None = None  # the second step of the two-step shape
    respond_inputs: tuple[Param, ...] = ()


def _role(param: Param) -> str | None:
    component = param.component.lower()
    if component == "chatbot":
        return "history"
    if component == "multimodaltextbox":
        return "message"
    if param.name in _OPTIONS:
        return "option"
    return None


def _fits(params: list[Param], needs: str) -> bool:
    roles = [_role(p) for p in params]
    if any(role is None and not p.has_default for role, p in zip(roles, params)):
        return False
    return needs in roles


def plan_chat(api: dict[str, list[Param]], label: str) -> ChatPlan:
    """Choose the endpoints from the Space's API; raises "the Space's API changed" when none fit."""
    first, second = api.get("/process_message"), api.get("/bot_response")
    if first is not None and second is not None and _fits(first, "message") and _fits(second, "history"):
        return ChatPlan("/process_message", tuple(first), "/bot_response", tuple(second))
    for name in sorted(api, key=lambda n: (n != "/chat", n)):
        params = api[name]
        if _fits(params, "message"):
            return ChatPlan(name, tuple(params))
    raise api_changed(label, EXPECTED_API, api)


#: The real Space's shape, which "View code" writes: the two-step session chat.
TWO_STEP = ChatPlan("/process_message",
                    (Param("history", "Chatbot", False), Param("message", "MultimodalTextbox", False)),
                    "/bot_response", (Param("history", "Chatbot", False),))
#: How an image is sent: a file upload here, a placeholder in "View code".
FileOf = Callable[[PreparedImage], Any]


def _history(messages: list[Message], file: FileOf) -> list[dict]:
    """Earlier turns as Gradio 6 Chatbot messages with typed parts."""
    history = []
    for message in messages:
        parts: list[dict] = [{"type": "file", "file": file(image)} for image in message.images]
        if message.text:
            parts.append({"type": "text", "text": message.text})
        if parts and message.role in ("user", "assistant"):
            history.append({"role": message.role, "content": parts})
    return history


def reply_text(output: Any) -> str:
    """The assistant's cumulative text in an output: a string, or the last assistant message of a history."""
    if isinstance(output, tuple):
        output = next((o for o in output if isinstance(o, (list, str))), "")
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        for message in reversed(output):
            if isinstance(message, dict) and message.get("role") == "assistant":
                return _content_text(message.get("content"))
            if isinstance(message, dict) and message.get("role") == "user":
                return ""
    return ""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "") if content.get("type", "text") == "text" else ""
    if isinstance(content, list):
        return "".join(_content_text(part) for part in content)
    return ""


def _fingerprint(messages: list[Message]) -> list[tuple[str, str, int]]:
    return [(m.role, m.text.strip(), len(m.images)) for m in messages]


class Phi4Provider(SpaceProvider):
    id = "phi4"
    label = "Phi-4 multimodal (Space)"
    url = "https://huggingface.co/spaces/microsoft/phi-4-multimodal"
    capabilities = frozenset({Capability.TEXT, Capability.VISION})
    models = {Capability.TEXT: [MODEL], Capability.VISION: [MODEL]}
    note = ("Microsoft's Phi-4 multimodal on a public Hugging Face Space (ZeroGPU): it answers without "
            "sign-in, and each use counts against your own daily ZeroGPU quota (signed-in users get more).")

    def __init__(self) -> None:
        self.space = Space(self.label, "PHI4_SPACE", DEFAULT_SPACE, per_visitor=True)

    async def chat(self, request: ChatRequest, visitor: Visitor) -> AsyncIterator[ChatEvent]:
        deadline = self.space.deadline()
        session = await self.space.session(visitor, deadline)
        plan = session.memo.get("plan") or session.memo.setdefault("plan", plan_chat(session.api, self.label))
        async with session.lock:  # one turn at a time per Gradio session
            earlier, last = request.messages[:-1], request.messages[-1]
            if plan.respond is None and session.memo.get("seen", []) != _fingerprint(earlier):
                # The Space remembers the conversation itself: a different one starts a fresh session.
                await asyncio.to_thread(session.client.reset_session)
            images = [image for message in request.messages for image in message.images]
            with image_files(images) as files:
                paths = {id(image): path for image, path in zip(images, files)}
                arguments = self._arguments(plan.inputs, request, earlier, last,
                                            lambda image: file_ref(paths[id(image)]))
                sent = ""
                # aclosing: when our consumer stops (Stop), the remote job is cancelled at once.
                async with aclosing(self._turn(session, plan, arguments, files, visitor, deadline)) as outputs:
                    async for output in outputs:
                        text = reply_text(output)
                        if text.startswith(sent) and len(text) > len(sent):
                            yield TextDelta(text[len(sent):])
                            sent = text
            session.memo["seen"] = _fingerprint([*request.messages, Message("assistant", sent)])
        yield Finish("stop")

    async def _turn(self, session: SpaceSession, plan: ChatPlan, arguments: dict[str, Any], files: list[str],
                    visitor: Visitor, deadline: float) -> AsyncIterator[Any]:
        if plan.respond is None:
            async with aclosing(self.space.stream(session, plan.submit, visitor=visitor, deadline=deadline,
                                                  kwargs=arguments)) as outputs:
                async for output in outputs:
                    yield output
            return
        history: Any = arguments.get(next((p.name for p in plan.inputs if _role(p) == "history"), ""), [])
        async for output in self.space.stream(session, plan.submit, visitor=visitor, deadline=deadline,
                                              kwargs=arguments):
            returned = output[0] if isinstance(output, tuple) and output else output
            if isinstance(returned, list):
                history = resend_files(returned, files)
        second = {p.name: history for p in plan.respond_inputs if _role(p) == "history"}
        async with aclosing(self.space.stream(session, plan.respond, visitor=visitor, deadline=deadline,
                                              kwargs=second)) as outputs:
            async for output in outputs:
                yield output

    async def code_target(self, request: ChatRequest) -> CodeTarget:  # type: ignore[override]
        """The Space's two-step chat on one session: the message, then the answer to the history it returns."""
        numbers = {id(image): n for n, image in enumerate(
            (image for message in request.messages for image in message.images), start=1)}

        def placeholder(image: PreparedImage) -> ImageFile:
            return ImageFile(numbers[id(image)], image.mime)

        earlier, last = request.messages[:-1], request.messages[-1]
        first = self._arguments(TWO_STEP.inputs, request, earlier, last, placeholder)
        return CodeTarget(SPACE, base_url=self.space.source(), key_env="HF_TOKEN", model=MODEL, calls=(
            GradioCall(TWO_STEP.submit, first), GradioCall(str(TWO_STEP.respond), {"history": PreviousOutput()})))

    def _arguments(self, params: tuple[Param, ...], request: ChatRequest, earlier: list[Message],
                   last: Message, file: FileOf) -> dict[str, Any]:
        options = {"system_prompt": request.system_prompt or None, "temperature": request.temperature,
                   "top_p": request.top_p, "max_tokens": request.max_tokens}
        arguments: dict[str, Any] = {}
        for param in params:
            role = _role(param)
            if role == "history":
                arguments[param.name] = _history(earlier, file)
            elif role == "message":
                arguments[param.name] = {"text": last.text,
                                         "files": [file(image) for image in last.images]}
            elif role == "option" and options[_OPTIONS[param.name]] is not None:
                arguments[param.name] = options[_OPTIONS[param.name]]
        return arguments
