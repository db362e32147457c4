"""Structured output in Text chat: the side panel's controls, and a finished answer shown as checked JSON."""

from __future__ import annotations

import re
from dataclasses import dataclass

import gradio as gr

from playground.service import Turn
from playground.structured import CheckedAnswer, check_answer
from providers.base import ResponseFormat

from .inert import markdown_text, neutralise_markdown

#: What the schema box holds at first: a small example to edit.
EXAMPLE_SCHEMA = """{
  "type": "object",
  "properties": {
    "answer": {"type": "string"},
    "confidence": {"type": "number"}
  },
  "required": ["answer"]
}"""
MATCH_MARK, MISMATCH_MARK = "✅", "❌"


@dataclass
class StructuredControls:
    mode: gr.Radio
    schema: gr.Code


def structured_controls() -> StructuredControls:
    """A "Structured output" section: Off / JSON / JSON schema, and the schema (shown for JSON schema)."""
    with gr.Accordion("Structured output", open=False, elem_id="structured-output"):
        mode = gr.Radio([("Off", "off"), ("JSON", "json"), ("JSON schema", "json_schema")], value="off",
                        label="Answer as", elem_id="structured-mode",
                        info="JSON for providers that offer it (Hugging Face, OpenAI-compatible servers).")
        schema = gr.Code(EXAMPLE_SCHEMA, language="json", label="JSON schema", lines=8, interactive=True,
                         visible=False, elem_id="structured-schema")
    mode.change(lambda chosen: gr.update(visible=chosen == "json_schema"), mode, schema,
                api_visibility="private", queue=False, show_progress="hidden")
    return StructuredControls(mode, schema)


def json_block(text: str) -> str:
    """`text` as a fenced JSON code block (the fence longer than any run of backticks inside), made inert."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return neutralise_markdown(f"{fence}json\n{text}\n{fence}")


def verdict_message(checked: CheckedAnswer) -> gr.ChatMessage:
    """A display-only note under the answer: whether it is JSON and matches the schema, and what is wrong."""
    if checked.matches:
        return gr.ChatMessage(role="assistant", content="", metadata={"title": f"{MATCH_MARK} {checked.verdict()}"})
    title = "Not valid JSON" if not checked.parsed else "Does not match the JSON schema"
    problems = "\n".join(f"- {markdown_text(problem)}" for problem in checked.problems)
    return gr.ChatMessage(role="assistant", content=problems, metadata={"title": f"{MISMATCH_MARK} {title}"})


def structured_frame(frame: list[gr.ChatMessage], turn: Turn | None,
                     fmt: ResponseFormat | None) -> list[gr.ChatMessage]:
    """A finished turn's messages with the answer as formatted JSON (when it is JSON) and the verdict after it."""
    if fmt is None or turn is None or turn.error is not None:
        return frame
    checked = check_answer(turn.reply.text, fmt)
    for index, message in enumerate(frame):
        if not (message.metadata or {}).get("title") and isinstance(message.content, str) and message.content:
            if checked.parsed:
                message.content = json_block(checked.pretty())
            return [*frame[: index + 1], verdict_message(checked), *frame[index + 1:]]
    return frame
