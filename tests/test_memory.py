"""Conversations remember their choices; the history list shows plain titles and no failed-only attempts."""

from __future__ import annotations

import asyncio

import gradio as gr

from providers import Capability, Registry
from tests.support.fake_provider import FakeProvider
from ui.chat import ERROR_MARK, PlaygroundChat, has_answer, plain_title
from ui.memory import MAX_RECORD_CHARS, ConversationMemory, choices_of, record
from ui.pickers import ModelPicker


def caption(choices: str | None, title: str = "Fake Provider · echo") -> dict:
    metadata = {"title": title}
    if choices:
        metadata["id"] = choices
    return {"role": "assistant", "content": "", "metadata": metadata}


def test_the_last_finished_turn_gives_the_choices():
    first = record("fake", "echo", {"temperature": 0.3, "max_tokens": 64, "conversation": "text"})
    second = record("fake", "slow", {"temperature": 1.2, "top_p": None, "web_search": True})
    conversation = [
        {"role": "user", "content": "one"}, {"role": "assistant", "content": "Echo: one"}, caption(first),
        {"role": "user", "content": "two"}, {"role": "assistant", "content": "Echo: two"}, caption(second),
        {"role": "user", "content": "three"}, caption(None, f"{ERROR_MARK} Fake Provider is busy"),
    ]
    assert choices_of(conversation) == {"provider": "fake", "model": "slow", "temperature": 1.2, "web_search": True}
    assert choices_of(conversation[:3]) == {"provider": "fake", "model": "echo", "temperature": 0.3,
                                            "max_tokens": 64}  # only the remembered parameters
    assert choices_of([{"role": "user", "content": "hi"}]) is None
    assert choices_of([caption("choices:{not json"), caption('choices:["a list"]')]) is None


def test_a_huge_system_prompt_is_left_out_of_the_record():
    text = record("fake", "echo", {"system_prompt": "x" * MAX_RECORD_CHARS, "temperature": 0.5})
    assert len(text) < MAX_RECORD_CHARS
    assert choices_of([caption(text)]) == {"provider": "fake", "model": "echo", "temperature": 0.5}


def test_restoring_selects_provider_model_and_parameters():
    registry = Registry([FakeProvider()])
    with gr.Blocks():
        picker = ModelPicker(registry, Capability.TEXT)
        temperature = gr.Slider(0, 2, value=0.7)
        memory = ConversationMemory("text", picker, {"temperature": temperature, "unknown": gr.Number()})
    assert memory.outputs == [picker.provider, picker.model, temperature]
    updates = asyncio.run(memory.restore([caption(record("fake", "slow", {"temperature": 1.5}))]))
    assert updates[0]["value"] == "fake"
    assert updates[1]["value"] == "slow"
    assert updates[2]["value"] == 1.5
    nothing = asyncio.run(memory.restore([{"role": "user", "content": "hi"}]))
    assert all(update == gr.update() for update in nothing)


class TypedIdsProvider(FakeProvider):
    """The fake provider, taking any typed model id (as Hugging Face and OpenAI-compatible servers do)."""

    accepts_any_model = True


def test_a_remembered_model_that_is_not_a_model_id_is_ignored():
    """A saved conversation comes back from the browser: its model is checked like a typed one or a link's."""
    with gr.Blocks():
        picker = ModelPicker(Registry([TypedIdsProvider()]), Capability.TEXT)
        memory = ConversationMemory("text", picker, {})
    for hostile in ("https://evil.example/v1", "//evil.example/x", "127.0.0.1:8080", "../../v1/models"):
        updates = asyncio.run(memory.restore([caption(record("fake", hostile, {}))]))
        assert updates[1]["value"] == "echo", (hostile, updates[1])
        assert hostile not in updates[1]["choices"]
    typed = asyncio.run(memory.restore([caption(record("fake", "org/typed-model", {}))]))
    assert typed[1]["value"] == "org/typed-model"


def test_history_titles_are_plain_text():
    assert plain_title("**Bold** and `code` [a link](http://x.test) # heading") == "Bold and code a link heading"
    assert plain_title("  ***  ") == "Conversation"
    with gr.Blocks():
        chat = PlaygroundChat(lambda message, history: "", save_history=True)
    conversation = [{"role": "user", "content": [{"type": "text", "text": "Why is **the sky** _blue_?"}]}]
    assert chat._generate_chat_title(conversation) == "Why is the sky blue?"


def test_an_attempt_with_no_answer_is_not_saved_to_the_history_list():
    failed = [{"role": "user", "content": "fail"}, caption(None, f"{ERROR_MARK} Fake Provider is busy")]
    answered = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}, caption(None)]
    assert not has_answer(failed)
    assert has_answer(answered)
    with gr.Blocks():
        chat = PlaygroundChat(lambda message, history: "", save_history=True)
    assert chat._save_conversation(None, failed, [answered]) == (None, [answered])
    index, saved = chat._save_conversation(None, answered, [])
    assert index == 0 and len(saved) == 1


def test_structured_output_choices_are_remembered_and_the_longest_text_goes_first():
    schema = '{"type": "object", "properties": {"name": {"type": "string"}}}'
    text = record("fake", "echo", {"structured_output": "JSON schema", "json_schema": schema, "response_format": {}})
    assert choices_of([caption(text)]) == {"provider": "fake", "model": "echo", "structured_output": "JSON schema",
                                           "json_schema": schema}
    long = record("fake", "echo", {"system_prompt": "be brief", "json_schema": "x" * MAX_RECORD_CHARS})
    assert choices_of([caption(long)]) == {"provider": "fake", "model": "echo", "system_prompt": "be brief"}
