"""Structured output end to end: the app's /chat and Text chat's answer view against the local
OpenAI-compatible server, which honours `response_format` (tests/support/hf_server.py), and the checks."""

from __future__ import annotations

import json

import gradio as gr
import pytest
from gradio_client.exceptions import AppError

from playground.service import Turn
from playground.structured import check_answer, parse_schema, response_format, schema_errors
from providers import InputError, Registry
from providers.base import ResponseFormat
from providers.inference.openai_compat import OpenAICompatProvider
from tests.support.fake_provider import FakeProvider
from tests.support.hf_server import HfServer
from tests.support.servers import launch_blocks, serving
from ui.app import build_demo
from ui.structured_view import MATCH_MARK, MISMATCH_MARK, structured_frame

PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                                           "role": {"type": "string", "enum": ["admin", "user"]}},
          "required": ["name", "age"], "additionalProperties": False}


@pytest.fixture(scope="module")
def app_url():
    """The playground with an OpenAI-compatible server (the local stand-in) and the fake provider
    (tests/conftest.py's `client` connects to it)."""
    with serving(HfServer()) as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENAI_COMPAT_BASE_URL", server.url + "/v1")
        demo = build_demo(Registry([OpenAICompatProvider(), FakeProvider()]))
        with launch_blocks(demo) as url:
            yield url


def test_a_matching_answer_comes_back_as_formatted_json(client):
    reply = client.predict("Invent a person", provider="openai-compatible", model="served/model-a",
                           structured_output="json_schema", json_schema=json.dumps(PERSON), api_name="/chat")
    assert reply == json.dumps({"name": "Hello from served/model-a", "age": 1, "role": "admin"}, indent=2)


def test_a_schema_alone_turns_it_on_and_json_mode_needs_none(client):
    reply = client.predict("Invent a person", provider="openai-compatible", json_schema=PERSON, api_name="/chat")
    assert json.loads(reply)["age"] == 1
    reply = client.predict("hi", provider="openai-compatible", structured_output="json", api_name="/chat")
    assert json.loads(reply) == {"answer": "Hello from served/model-a"}


@pytest.mark.parametrize("model, expected", [
    ("served/json-mismatch", "Does not match the JSON schema: $: missing required property 'name'; "
                             "$: missing required property 'age'; $.role: expected string, got integer. "
                             'The answer was: {"role": 7}'),
    ("served/json-broken", "Not valid JSON: Expecting value (line 1, column 1). The answer was: Sure!"),
])
def test_an_answer_off_the_schema_fails_saying_what_is_wrong(client, model, expected):
    with pytest.raises(AppError) as caught:
        client.predict("Invent a person", provider="openai-compatible", model=model, json_schema=PERSON,
                       api_name="/chat")
    assert str(caught.value).startswith(expected)


@pytest.mark.parametrize("schema, message", [
    ('{"type": "object", "properties": {', "The JSON schema is not valid JSON: Expecting property name"),
    ('["name"]', "The JSON schema must be a JSON object"),
    ('{"type": "array"}', 'must describe an object: its "type" must be "object"'),
    ('{"type": "object", "properties": {"a": {"type": "text"}}}', "unknown type 'text'"),
])
def test_a_bad_schema_is_refused_before_anything_is_sent(client, schema, message):
    with pytest.raises(AppError, match=message.replace("(", r"\(").replace("$", r"\$")):
        client.predict("hi", provider="openai-compatible", json_schema=schema, api_name="/chat")


def test_a_provider_without_structured_output_says_so(client):
    listing = {p["id"]: p["structured_output"] for p in client.predict(api_name="/providers")}
    assert listing == {"openai-compatible": True, "fake": False}
    with pytest.raises(AppError, match="Fake Provider does not offer structured output"):
        client.predict("hi", provider="fake", structured_output="json", api_name="/chat")


# -- Text chat's view of a finished answer ----------------------------------------------------------
def _finished(text: str) -> tuple[list[gr.ChatMessage], Turn]:
    turn = Turn(provider_id="openai-compatible", provider="OpenAI-compatible server", model="m")
    turn.reply.text = text
    frame = [gr.ChatMessage(role="assistant", content=text),
             gr.ChatMessage(role="assistant", content="", metadata={"title": "caption"})]
    return frame, turn


def test_text_chat_shows_a_matching_answer_as_json_marked_as_matching():
    frame, turn = _finished('{"name": "Ada", "age": 36}')
    shown = structured_frame(frame, turn, ResponseFormat(schema=PERSON))
    assert shown[0].content == '```json\n{\n  "name": "Ada",\n  "age": 36\n}\n```'
    assert shown[1].metadata["title"] == f"{MATCH_MARK} Matches the JSON schema"
    assert shown[2].metadata["title"] == "caption"


def test_text_chat_marks_an_answer_that_does_not_match_and_says_why():
    frame, turn = _finished('{"name": "<b>Ada</b>", "age": "old", "x": 1}')
    shown = structured_frame(frame, turn, ResponseFormat(schema=PERSON))
    assert shown[0].content.startswith("```json\n{\n  \"name\": \"<b>Ada</b>\"")  # inside a code block: inert
    assert shown[1].metadata["title"] == f"{MISMATCH_MARK} Does not match the JSON schema"
    assert "$.age: expected integer, got string" in shown[1].content
    assert "property 'x' is not allowed" in shown[1].content
    frame, turn = _finished("not json ``` at all")
    shown = structured_frame(frame, turn, ResponseFormat())
    assert shown[0].content == "not json ``` at all"  # left as it was
    assert shown[1].metadata["title"] == f"{MISMATCH_MARK} Not valid JSON"


def test_a_fence_inside_the_json_cannot_close_the_block():
    frame, turn = _finished('{"code": "```js\\nalert(1)\\n```"}')
    shown = structured_frame(frame, turn, ResponseFormat())
    assert shown[0].content.startswith("````json\n") and shown[0].content.endswith("\n````")


# -- the checks themselves --------------------------------------------------------------------------
def test_modes_and_schemas():
    assert response_format("off", '{"type": "object"}') is None
    assert response_format("json", None) == ResponseFormat()
    assert response_format("json_schema", PERSON).schema == PERSON
    with pytest.raises(InputError, match="Add a JSON schema"):
        response_format("json_schema", "  ")
    with pytest.raises(InputError, match="must be one of off, json, json_schema"):
        response_format("yaml", None)
    deep = {"type": "object"}
    for _ in range(40):
        deep = {"type": "object", "properties": {"a": deep}}
    with pytest.raises(InputError, match="nests more than 32 levels"):
        parse_schema(deep)


@pytest.mark.parametrize("value, schema, errors", [
    (True, {"type": "integer"}, ["$: expected integer, got boolean"]),
    (2.0, {"type": "integer"}, []),
    (1, {"enum": [True, "1"]}, ['$: must be one of true, "1"']),
    ([1, "a"], {"type": "array", "items": {"type": "number"}}, ["$[1]: expected number, got string"]),
    (None, {"type": ["string", "null"]}, []),
    ("x", {"anyOf": [{"type": "integer"}, {"const": "y"}]}, ["$: matches none of the allowed shapes (anyOf)"]),
    ({"a": {"b": 1}}, {"type": "object", "properties": {"a": {"type": "object", "required": ["c"]}}},
     ["$.a: missing required property 'c'"]),
])
def test_validator(value, schema, errors):
    assert schema_errors(value, schema) == errors


def test_a_fenced_answer_is_read():
    checked = check_answer('```json\n{"name": "Ada", "age": 3}\n```', ResponseFormat(schema=PERSON))
    assert checked.matches and checked.value == {"name": "Ada", "age": 3}
