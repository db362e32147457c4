"""The UI's gradio-free pieces: deep links, export, provider status, settings."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from playground.status import provider_label, status_rows
from providers import Capability, Provider, Registry, Visitor
from providers.credentials import HF_TOKEN
from tests.support.fake_provider import FakeProvider
from ui.config import AppSettings
from ui.deeplink import DeepLink
from ui.export import to_json, to_markdown


def test_deep_link_reads_and_builds_queries():
    link = DeepLink.from_query({"tab": "Vision", "provider": " fake ", "model": "slow"})
    assert link == DeepLink("vision", "fake", "slow")
    assert link.query() == "?tab=vision&provider=fake&model=slow"
    assert DeepLink.from_query({"tab": "nope", "model": ""}) == DeepLink()
    assert DeepLink.from_query({"tab": "chat"}).tab == "text"
    assert DeepLink().query() == ""
    assert DeepLink("image", model="a b/c").query() == "?tab=image&model=a+b%2Fc"


HISTORY = [
    {"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                 {"type": "file", "file": {"path": "/tmp/x/photo.png", "mime_type": "image/png"}}]},
    {"role": "assistant", "content": "Let me think.", "metadata": {"title": "Thinking"}},
    {"role": "assistant", "content": "A cat."},
    {"role": "assistant", "content": "", "metadata": {"title": "Fake Provider · describe · 0.10 s to first token"}},
]


def _page(role: str, text: str = "", title: str | None = None, **metadata) -> dict:
    """A history entry as the page sends it back (typed parts; metadata as Gradio fills it)."""
    return {"role": role, "content": [{"type": "text", "text": text}],
            "metadata": {"title": title, **metadata} if title else None, "options": None}


def test_export_markdown_and_json():
    markdown = to_markdown(HISTORY)
    assert markdown.startswith("# what is this?\n")
    assert "**User:**\n\nwhat is this?\n\n![image](photo.png)" in markdown
    assert "**Assistant:**\n\n> **Thinking**\n> Let me think.\n\nA cat.\n\n_Fake Provider · describe" in markdown
    document = json.loads(to_json(HISTORY))
    assert document["title"] == "what is this?"
    assert document["messages"] == [
        {"role": "user", "text": "what is this?", "images": ["photo.png"]},
        {"role": "assistant", "text": "A cat.", "images": [],
         "blocks": [{"title": "Thinking", "text": "Let me think."}],
         "caption": "Fake Provider · describe · 0.10 s to first token"}]
    assert json.loads(to_json([]))["messages"] == []


def test_export_holds_only_real_messages_with_captions_and_errors_as_their_notes():
    history = [
        {"role": "user", "content": {"path": "/tmp/u/cat.png"}}, _page("user", "tell me a joke"),  # files, then text
        _page("assistant", "Why did the cat sit on the laptop?"),
        _page("assistant", "", "Fake Provider · echo · 0.00 s to first token", id="choices:{}"),
        _page("user", "another"),
        _page("assistant", "", "⚠️ Fake Provider: service unavailable"),  # failed before any answer
        _page("user", "stopped before it began"),
        _page("assistant", "", "Waiting for the first token…", status="pending"),
        _page("user", "and a third"),
    ]
    messages = json.loads(to_json(history, error_mark="⚠️"))["messages"]
    assert messages == [
        {"role": "user", "text": "tell me a joke", "images": ["cat.png"]},
        {"role": "assistant", "text": "Why did the cat sit on the laptop?", "images": [],
         "caption": "Fake Provider · echo · 0.00 s to first token"},
        {"role": "user", "text": "another", "images": []},
        {"role": "assistant", "text": "", "images": [], "error": "⚠️ Fake Provider: service unavailable"},
        {"role": "user", "text": "stopped before it began", "images": []},
        {"role": "user", "text": "and a third", "images": []},
    ]
    markdown = to_markdown(history, error_mark="⚠️")
    assert "> ⚠️ Fake Provider: service unavailable" in markdown and "Waiting" not in markdown


def test_exported_files_are_named_after_the_title_and_date():
    from ui.export import MAX_NAME_CHARS, conversation_title, export_filename

    day = time.strptime("2026-11-22", "%Y-%m-%d")
    assert export_filename("Tell me a joke!", "md", day) == "tell-me-a-joke-2026-11-22.md"
    assert export_filename("../../etc/passwd <script>", "json", day) == "etc-passwd-script-2026-11-22.json"
    assert (export_filename("Crème brûlée, s'il vous plaît", "md", day)
            == "creme-brulee-s-il-vous-plait-2026-11-22.md")
    assert export_filename("日本語", "md", day) == "conversation-2026-11-22.md"
    long = export_filename("word " * 100, "md", day)
    assert long.endswith("-2026-11-22.md") and len(long) <= MAX_NAME_CHARS + len("-2026-11-22.md")
    assert export_filename("x" * 500, "md", day) == "x" * MAX_NAME_CHARS + "-2026-11-22.md"
    assert conversation_title([_page("user", "  **Tell**  me\na joke")]) == "**Tell** me"
    assert conversation_title([]) == "Conversation"
    assert len(conversation_title([_page("user", "y" * 500)])) == 100


def test_export_writes_a_named_file():
    from ui.chat import _export
    from ui.context import AppContext

    ctx = AppContext(Registry([]), AppSettings.from_env())
    history = [_page("user", "Tell me a joke"), _page("assistant", "No."), _page("assistant", "", "P · m")]
    path = Path(_export(ctx, history, "json", None)["value"])
    assert re.fullmatch(r"tell-me-a-joke-\d{4}-\d{2}-\d{2}\.json", path.name)
    assert [m["role"] for m in json.loads(path.read_text())["messages"]] == ["user", "assistant"]


class _Gone(Provider):
    id, label, working = "gone", "Gone", False
    capabilities = frozenset({Capability.TEXT})


class _Locked(Provider):
    id, label, credential = "locked", "Locked", HF_TOKEN
    capabilities = frozenset({Capability.TEXT})


class _Unset(Provider):
    id, label = "unset", "Unset"
    capabilities = frozenset({Capability.IMAGE})

    def is_configured(self) -> bool:
        return False


def test_provider_labels_follow_each_visitors_availability(monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert provider_label(FakeProvider()) == FakeProvider.label
    assert provider_label(_Gone()) == "Gone (not working)"
    assert provider_label(_Locked()) == "Locked (needs sign-in)"
    assert provider_label(_Locked(), Visitor("s", hf_token="hf_" + "x" * 30)) == "Locked"
    assert provider_label(_Unset()) == "Unset (not configured)"
    assert status_rows([_Unset()]) == [["Unset", "image", "not configured", "not set up by the operator"]]
    assert status_rows([_Locked()])[0][2:] == ["needs sign-in", "needs a Hugging Face token"]


def test_browser_secret_fixed_by_env_or_derived(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_BROWSER_SECRET", "s3cret")
    assert AppSettings.from_env().browser_secret == "s3cret"
    monkeypatch.delenv("PLAYGROUND_BROWSER_SECRET")
    monkeypatch.setenv("SPACE_ID", "me/playground")
    on_space = AppSettings.from_env()
    assert on_space.oauth is True and on_space.browser_secret == AppSettings.from_env().browser_secret
    monkeypatch.setenv("SPACE_ID", "me/other")
    assert AppSettings.from_env().browser_secret != on_space.browser_secret
    monkeypatch.delenv("SPACE_ID")
    assert AppSettings.from_env().oauth is False


def test_clear_forgets_one_conversation_and_keeps_credentials_and_the_others():
    from types import SimpleNamespace

    from ui.config import AppSettings
    from ui.context import AppContext

    ctx = AppContext(Registry([]), AppSettings.from_env())
    request = SimpleNamespace(session_hash="s-clear", headers={})
    visitor = ctx.visitor(request)
    visitor.set_credentials(hf_token="hf_keepmekeepmekeep")
    text, vision = visitor.in_conversation("text"), visitor.in_conversation("vision")
    assert text is visitor.in_conversation("text") and text is not vision
    assert text.hf_token == "hf_keepmekeepmekeep"  # a conversation sees the visitor's credentials
    released: list[str] = []
    for name, conversation in (("text", text), ("vision", vision)):
        conversation.state["conversation"] = name
        conversation.on_release(lambda name=name: released.append(name))
    ctx.forget_conversations(request, ["text"])  # Clear in the text tab
    assert released == ["text"] and text.state == {} and vision.state == {"conversation": "vision"}
    assert visitor.in_conversation("text") is not text  # a fresh one for the next turn
    again = ctx.visitor(request)
    assert again is visitor and again.hf_token == "hf_keepmekeepmekeep"
    ctx.release(request)  # the tab closed: every conversation goes
    assert released == ["text", "vision"] and ctx.visitor(request) is not visitor


def test_gradios_per_event_matplotlib_import_is_cheap_when_it_is_missing():
    import importlib.util
    import sys

    from gradio.utils import MatplotlibBackendMananger

    from ui.event_costs import skip_missing_matplotlib

    if importlib.util.find_spec("matplotlib") is not None and sys.modules.get("matplotlib") is not None:
        assert skip_missing_matplotlib() is False  # installed: left alone
        return
    assert skip_missing_matplotlib() is True
    assert "matplotlib" in sys.modules and sys.modules["matplotlib"] is None  # no sys.path search per event
    with MatplotlibBackendMananger():  # what Gradio runs around every event still works
        pass


def test_a_prompt_that_failed_before_any_answer_is_not_sent_again():
    from ui.chat import error_block, without_failed_prompts

    def user(text):
        return {"role": "user", "content": text}

    answered = [user("first"), {"role": "assistant", "content": "an answer"},
                {"role": "assistant", "content": "", "metadata": {"title": "Provider · model"}}]
    failed = [user({"path": "photo.png"}), user("what is it?"), error_block("Provider: service unavailable")]
    partial = [user("go on"), {"role": "assistant", "content": "half an"}, error_block("Provider: dropped")]
    history = answered + failed + partial + [user("stopped")]
    kept = without_failed_prompts(history)
    assert [e["content"] if isinstance(e, dict) else "error" for e in kept] == [
        "first", "an answer", "", "go on", "half an", "error", "stopped"]  # the failed prompt and its file left out


def test_side_by_side_columns_start_on_different_providers():
    from playground.arena import Contender
    from ui.compare_tab import spread_over_providers

    pool = [Contender("phi4", "phi"), Contender("hf", "a"), Contender("hf", "b"), Contender("chat", "x"),
            Contender("chat", "y")]
    pool.sort(key=lambda c: c.provider == "phi4")  # as listed: one provider's models all together
    spread = spread_over_providers(pool)
    assert [c.provider for c in spread[:3]] == ["hf", "chat", "phi4"]
    assert sorted(spread, key=repr) == sorted(pool, key=repr)


def test_image_controls_follow_the_model():
    from providers.spaces.flux import FluxDevProvider, FluxSchnellProvider
    from ui.config import AppSettings
    from ui.context import AppContext
    from ui.image_tab import controls_for

    ctx = AppContext(Registry([FakeProvider(), FluxSchnellProvider(), FluxDevProvider()]), AppSettings.from_env())
    steps, guidance, negative = controls_for(ctx, "flux-schnell", "FLUX.1-schnell")
    assert (steps["maximum"], steps["value"], guidance["visible"], negative["visible"]) == (50, 4, False, False)
    steps, guidance, _ = controls_for(ctx, "flux-dev", "FLUX.1-dev")
    assert (steps["value"], guidance["visible"], guidance["maximum"], guidance["value"]) == (28, True, 15.0, 3.5)
    steps, guidance, negative = controls_for(ctx, "fake", "pattern")
    assert steps["maximum"] == 100 and "value" not in steps and negative["visible"] is True


def test_stop_marks_what_was_still_pending_as_stopped():
    from ui.columns import STOPPED, WAITING, mark_stopped

    page_shape = {"role": "assistant", "metadata": {"title": "Waiting for the first token…", "status": "pending"},
                  "content": [{"text": "", "type": "text"}]}  # as the page sends it back
    answer = {"role": "assistant", "metadata": None, "content": [{"text": "half an answer", "type": "text"}]}
    marked = mark_stopped([answer, page_shape, WAITING])
    assert marked[0] is answer  # the answer so far stays as it is
    assert [(m.metadata["title"], m.metadata["status"], m.content) for m in marked[1:]] == [
        (STOPPED, "done", "")] * 2


def test_a_phi4_column_in_compare_describes_phi4_not_another_providers_token(monkeypatch):
    import gradio as gr

    from providers.huggingface.provider import HuggingFaceProvider
    from providers.spaces.phi4 import Phi4Provider
    from ui.compare_tab import build_compare_tab
    from ui.context import AppContext

    monkeypatch.setenv("HF_TOKEN", "hf_" + "o" * 30)  # the operator's token: Hugging Face is ready, listed first
    ctx = AppContext(Registry([HuggingFaceProvider(), Phi4Provider(), FakeProvider()]), AppSettings.from_env())
    assert ctx.registry.default_for(Capability.TEXT).id == "huggingface"
    with gr.Blocks() as demo:
        build_compare_tab(ctx)
    dropdowns = [b for b in demo.blocks.values() if isinstance(b, gr.Dropdown)]
    pairs = list(zip(dropdowns[0::2], dropdowns[1::2]))  # each column: provider, then model
    hints = {provider.value: model.info for provider, model in pairs}
    assert hints["phi4"] == Phi4Provider.note and hints["huggingface"].startswith(HuggingFaceProvider.note)
    assert "token" not in Phi4Provider.note.lower() and "Space" in Phi4Provider.note
