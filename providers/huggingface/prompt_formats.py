"""Raw prompt formats for servers speaking TGI's legacy text-generation protocol.

The format is chosen from the model's metadata (`config.model_type`, the eos
token, the author) with the model id as a last hint. Every format supports
"continue": the last assistant turn is left open so the model extends it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PromptFormat:
    """Templates (with `{content}`) for closed turns, plus how an answer starts or resumes."""

    name: str
    user: str
    assistant: str
    system: str | None  # None: the system prompt is put before the first user message
    generation: str     # appended to start a new answer
    resume: str         # an open assistant turn holding `{content}` (for continue)
    start: str = ""
    stop: tuple[str, ...] = ()


def _tagged(eos: str) -> PromptFormat:
    return PromptFormat(f"tagged {eos}", f"<|user|>\n{{content}}{eos}\n", f"<|assistant|>\n{{content}}{eos}\n",
                        f"<|system|>\n{{content}}{eos}\n", "<|assistant|>\n", "<|assistant|>\n{content}",
                        stop=(eos, "<|user|>"))


PLAIN = PromptFormat("plain", "User: {content}\n", "Assistant: {content}\n", "System: {content}\n",
                     "Assistant:", "Assistant: {content}", stop=("\nUser:",))
MISTRAL = PromptFormat("mistral", "<s>[INST] {content} [/INST]", " {content}</s>", None, "", " {content}",
                       stop=("</s>",))
CHATML = PromptFormat("chatml", "<|im_start|>user\n{content}\n<|im_end|>\n",
                      "<|im_start|>assistant\n{content}\n<|im_end|>\n", "<|im_start|>system\n{content}\n<|im_end|>\n",
                      "<|im_start|>assistant\n", "<|im_start|>assistant\n{content}", stop=("<|im_end|>",))
DEEPSEEK = PromptFormat("deepseek", "<｜User｜>{content}<｜end▁of▁sentence｜>",
                        "<｜Assistant｜>{content}<｜end▁of▁sentence｜>", "{content}", "<｜Assistant｜>",
                        "<｜Assistant｜>{content}", stop=("<｜end▁of▁sentence｜>",))
LLAMA3 = PromptFormat(
    "llama3",
    "<|start_header_id|>user<|end_header_id|>\n\n{content}<|eot_id|>",
    "<|start_header_id|>assistant<|end_header_id|>\n\n{content}<|eot_id|>",
    "<|start_header_id|>system<|end_header_id|>\n\n{content}<|eot_id|>",
    "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "<|start_header_id|>assistant<|end_header_id|>\n\n{content}",
    start="<|begin_of_text|>", stop=("<|eot_id|>",),
)

_BY_EOS = {"<|im_end|>": CHATML, "<｜end▁of▁sentence｜>": DEEPSEEK, "<|eot_id|>": LLAMA3}
_TAGGED_EOS = ("</s>", "<eos>", "<|endoftext|>")
_PLAIN_TYPES = {"gpt2", "gpt_neo", "gemma", "gemma2"}
#: Substrings of a model id used only when the metadata says nothing.
_BY_NAME = (("llama-3", LLAMA3), ("llama3", LLAMA3), ("qwen", CHATML), ("deepseek", DEEPSEEK),
            ("mistral", MISTRAL), ("mixtral", MISTRAL), ("gpt2", PLAIN), ("gemma", PLAIN))


def choose_format(model_id: str, model_type: str = "", eos_token: str = "") -> PromptFormat:
    """The prompt format for a model, from its metadata first, then its id; plain text when unknown."""
    model_type = (model_type or "").lower()
    author = model_id.split("/", 1)[0].lower() if "/" in model_id else ""
    if model_type in _PLAIN_TYPES:
        return PLAIN
    if model_type == "mistral" and author == "mistralai":
        return MISTRAL
    if eos_token in _BY_EOS:
        return _BY_EOS[eos_token]
    if eos_token in _TAGGED_EOS:
        return _tagged(eos_token)
    lowered = model_id.lower()
    for needle, fmt in _BY_NAME:
        if needle in lowered:
            return fmt
    return PLAIN


def build_prompt(fmt: PromptFormat, turns: Sequence[tuple[str, str]], *, system: str = "",
                 continue_last: bool = False) -> str:
    """The prompt for (role, text) turns. With `continue_last`, a final assistant turn stays open."""
    turns = [(role, text) for role, text in turns if role in ("user", "assistant")]
    partial = None
    if continue_last and turns and turns[-1][0] == "assistant":
        partial = turns.pop()[1]
    parts = [fmt.start]
    pending_system = system.strip()
    if pending_system and fmt.system is not None:
        parts.append(fmt.system.format(content=pending_system))
        pending_system = ""
    for role, text in turns:
        if role == "user" and pending_system:
            text, pending_system = f"{pending_system}\n\n{text}", ""
        parts.append((fmt.user if role == "user" else fmt.assistant).format(content=text))
    parts.append(fmt.generation if partial is None else fmt.resume.format(content=partial))
    return "".join(parts)
