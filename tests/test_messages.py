"""History conversion from both Gradio shapes into Messages."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from providers import InputError, history_to_messages
from providers.messages import HistoryReader


@pytest.fixture
def image_path(tmp_path) -> str:
    path = tmp_path / "cat.png"
    Image.new("RGB", (64, 48), (1, 2, 3)).save(path)
    return str(path)


def test_ui_typed_parts(image_path):
    history = [
        {"role": "user", "content": [{"type": "text", "text": "look"},
                                     {"type": "file", "file": {"path": image_path, "mime_type": "image/png"}}]},
        {"role": "assistant", "content": [{"type": "text", "text": "a cat"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "thinking..."}],
         "metadata": {"title": "Thinking"}},
        {"role": "user", "content": [{"type": "text", "text": "again"}]},
    ]
    messages = history_to_messages(history)
    assert [(m.role, m.text, len(m.images)) for m in messages] == [
        ("user", "look", 1), ("assistant", "a cat", 0), ("user", "again", 0)]
    assert (messages[0].images[0].width, messages[0].images[0].height) == (64, 48)


def test_gradio_client_raw_form(image_path):
    history = [
        {"role": "user", "content": {"path": image_path}},
        {"role": "user", "content": "what is it?"},
        {"role": "assistant", "content": "a cat"},
        {"role": "user", "content": ["and", {"path": image_path}]},
    ]
    messages = history_to_messages(history)
    assert [(m.role, m.text, len(m.images)) for m in messages] == [
        ("user", "what is it?", 1), ("assistant", "a cat", 0), ("user", "and", 1)]


def test_data_urls_and_openai_image_parts():
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    messages = history_to_messages([
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}, "hi"]}])
    assert len(messages[0].images) == 1 and messages[0].text == "hi"


def test_remote_links_are_not_fetched():
    with pytest.raises(InputError, match="does not fetch links"):
        history_to_messages([{"role": "user", "content": {"url": "http://169.254.169.254/x.png"}}])


def test_paths_outside_allowed_folders_are_refused(image_path, tmp_path):
    allowed = tmp_path / "uploads"
    allowed.mkdir()
    with pytest.raises(InputError, match="not uploaded to this app"):
        HistoryReader(allowed_dirs=[allowed]).read([{"role": "user", "content": {"path": image_path}}])
    inside = allowed / "ok.png"
    Path(inside).write_bytes(Path(image_path).read_bytes())
    assert len(HistoryReader(allowed_dirs=[allowed]).read([{"role": "user", "content": {"path": str(inside)}}])[0].images) == 1


def test_non_image_files_and_bad_roles_are_clear_errors(tmp_path):
    doc = tmp_path / "doc.pdf"
    doc.write_bytes(b"%PDF-1.4")
    with pytest.raises(InputError, match="not an image"):
        history_to_messages([{"role": "user", "content": {"path": str(doc)}}])
    with pytest.raises(InputError, match="Unknown message role"):
        history_to_messages([{"role": "wizard", "content": "hi"}])
    with pytest.raises(InputError, match="must be an object"):
        history_to_messages(["hello"])


def test_empty_messages_are_dropped_and_system_kept():
    messages = history_to_messages([
        {"role": "system", "content": "be nice"}, {"role": "user", "content": "  "},
        {"role": "user", "content": None}, {"role": "user", "content": "hi"}])
    assert [(m.role, m.text) for m in messages] == [("system", "be nice"), ("user", "hi")]


def test_an_earlier_image_whose_file_is_gone_becomes_a_note(tmp_path):
    """The app's cache deletes old uploads; a conversation saved in the browser must still go on."""
    from PIL import Image

    from providers.errors import InputError
    from providers.messages import GONE_IMAGE_NOTE, HistoryReader

    kept = tmp_path / "kept.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(kept)
    gone = str(tmp_path / "gone.png")
    history = [
        {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "file", "file": {"path": gone}}]},
        {"role": "assistant", "content": "a red square"},
        {"role": "user", "content": [{"type": "text", "text": "and this?"},
                                     {"type": "file", "file": {"path": str(kept)}}]},
    ]
    messages = HistoryReader(allowed_dirs=[tmp_path]).read(history)
    assert messages[0].text == f"look\n\n{GONE_IMAGE_NOTE}" and messages[0].images == []
    assert len(messages[2].images) == 1
    with pytest.raises(InputError):  # the new message's own image must exist
        HistoryReader(allowed_dirs=[tmp_path]).read([*history[:2], history[0]])
