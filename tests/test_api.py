"""The public API through gradio_client against the app with the fake provider."""

from __future__ import annotations


import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image


def test_providers_lists_registered_providers(client):
    listing = client.predict(api_name="/providers")
    assert [p["id"] for p in listing] == ["fake"]
    fake = listing[0]
    assert set(fake) >= {"id", "label", "capabilities", "models", "default_models", "availability",
                         "availability_reason", "credential"}
    assert fake["capabilities"] == ["image", "text", "vision"]
    assert fake["default_models"]["text"] == "echo"
    assert fake["availability"] == "ready" and fake["credential"] is None


def test_api_documents_public_endpoints_only(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert names - {"/code"} == {"/chat", "/vision", "/image", "/providers", "/compare"}  # /code: View code's
    chat = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/chat"]
    assert [p["parameter_name"] for p in chat["parameters"]] == [
        "messages", "provider", "model", "system_prompt", "temperature", "max_tokens", "top_p",
        "structured_output", "json_schema"]


def test_chat_streams_cumulative_reply(client):
    job = client.submit(
        messages=[{"role": "user", "content": "hello there friend"}],
        provider="fake", model="echo", system_prompt="", temperature=0.7, max_tokens=100, top_p=0.9,
        api_name="/chat",
    )
    final = job.result(timeout=30)
    assert final == "Echo: hello there friend"
    outputs = job.outputs()
    assert outputs[-1] == final
    assert all(final.startswith(o) for o in outputs)


def test_chat_streams_before_the_answer_ends(client, monkeypatch):
    job = client.submit(
        messages=[{"role": "user", "content": "count 30"}], provider="fake", model="slow",
        system_prompt="", temperature=0.7, max_tokens=100, top_p=0.9, api_name="/chat",
    )
    first_partial = None
    for output in job:
        if first_partial is None:
            first_partial = output
    final = job.result(timeout=30)
    assert first_partial is not None and len(first_partial) < len(final)
    assert len(job.outputs()) >= 3


def test_chat_accepts_alias_default_model_and_system_prompt(client):
    final = client.predict(
        messages=[{"role": "user", "content": "hi"}], provider="fake", model="e",
        system_prompt="be brief", temperature=0.7, max_tokens=100, top_p=0.9, api_name="/chat",
    )
    assert final == "[be brief] Echo: hi"
    final = client.predict(messages=[{"role": "user", "content": "hi"}], provider="fake", model="",
                           system_prompt="", temperature=0.7, max_tokens=100, top_p=0.9, api_name="/chat")
    assert final == "Echo: hi"


@pytest.mark.parametrize("kwargs, expected", [
    ({"messages": [{"role": "user", "content": "   "}]}, "empty"),
    ({"messages": []}, "empty"),
    ({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]},
     "must end with a user message"),
    ({"provider": "nope"}, "Unknown provider 'nope'"),
    ({"model": "gpt-17"}, "Fake Provider cannot use this model ('gpt-17' is not offered"),
    ({"messages": [{"role": "user", "content": "fail:rate"}]}, "Fake Provider is busy (rate limited): try again"),
    ({"messages": [{"role": "user", "content": "fail-mid:down"}]}, "Fake Provider is unavailable right now (scripted down)"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "Unknown message role"),
])
def test_chat_failures_are_clear_app_errors(client, kwargs, expected):
    args = {"messages": [{"role": "user", "content": "hi"}], "provider": "fake", "model": "echo",
            "system_prompt": "", "temperature": 0.7, "max_tokens": 100, "top_p": 0.9, **kwargs}
    with pytest.raises(AppError) as info:
        client.predict(**args, api_name="/chat")
    assert expected in str(info.value)


def test_chat_after_a_failure_still_works(client):
    with pytest.raises(AppError):
        client.predict(messages=[{"role": "user", "content": "fail:down"}], provider="fake", model="echo",
                       system_prompt="", temperature=0.7, max_tokens=10, top_p=0.9, api_name="/chat")
    assert client.predict(messages=[{"role": "user", "content": "ok"}], provider="fake", model="echo",
                          system_prompt="", temperature=0.7, max_tokens=10, top_p=0.9,
                          api_name="/chat") == "Echo: ok"


def _png(tmp_path, name, size):
    path = tmp_path / name
    Image.new("RGB", size, (200, 10, 10)).save(path)
    return str(path)


def test_vision_sends_images_and_keeps_history_images(client, tmp_path):
    first = _png(tmp_path, "a.png", (640, 480))
    reply = client.predict(prompt="what is this?", images=[handle_file(first)], history=[],
                           provider="fake", model="describe", temperature=0.5, max_tokens=100,
                           api_name="/vision")
    assert reply == "I see 1 image(s): 640x480. You asked: what is this?"
    history = [
        {"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                     {"type": "file", "file": handle_file(first)}]},
        {"role": "assistant", "content": reply},
    ]
    second = _png(tmp_path, "b.png", (300, 200))
    reply = client.predict(prompt="and this?", images=[handle_file(second)], history=history,
                           provider="fake", model="describe", temperature=0.5, max_tokens=100,
                           api_name="/vision")
    assert reply == "I see 2 image(s): 640x480, 300x200. You asked: and this?"


def test_vision_rejects_bad_images(client, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 100)
    with pytest.raises(AppError, match="corrupt|not an image"):
        client.predict(prompt="?", images=[handle_file(str(bad))], history=[], provider="fake",
                       model="describe", temperature=0.5, max_tokens=100, api_name="/vision")
    with pytest.raises(AppError, match="Add an image"):
        client.predict(prompt="?", images=[], history=[], provider="fake", model="describe",
                       temperature=0.5, max_tokens=100, api_name="/vision")


def test_vision_refuses_server_paths_in_history(client):
    history = [{"role": "user", "content": [{"type": "file", "file": {"path": "/etc/hostname.png"}}]},
               {"role": "assistant", "content": "ok"}]
    with pytest.raises(AppError, match="not uploaded to this app"):
        client.predict(prompt="?", images=[], history=history, provider="fake", model="describe",
                       temperature=0.5, max_tokens=100, api_name="/vision")


def test_image_returns_file_and_what_was_used(client):
    path, info = client.predict(prompt="a red square", provider="fake", model="pattern", negative_prompt="",
                                width=512, height=384, steps=4, guidance=3.5, seed=42, api_name="/image")
    with Image.open(path) as image:
        assert image.size == (512, 384)
        assert image.getpixel((0, 0)) == (42, 0, 0)
    assert info["provider"] == "fake" and info["model"] == "pattern"
    assert (info["seed"], info["width"], info["height"]) == (42, 512, 384)
    assert info["seconds"] >= 0


def test_image_random_seed_is_reported_and_sizes_clamped(client):
    _, info = client.predict(prompt="x", provider="fake", model="", negative_prompt="", width=99999,
                             height=10, steps=500, guidance=3.5, seed=-1, api_name="/image")
    assert info["seed"] >= 0
    assert (info["width"], info["height"]) == (2048, 256)


def test_image_errors_are_clear(client):
    with pytest.raises(AppError, match="Fake Provider refused this app's access: pick another provider"):
        client.predict(prompt="fail:auth", provider="fake", model="pattern", negative_prompt="", width=256,
                       height=256, steps=4, guidance=3.5, seed=1, api_name="/image")
    with pytest.raises(AppError, match="empty"):
        client.predict(prompt="  ", provider="fake", model="pattern", negative_prompt="", width=256,
                       height=256, steps=4, guidance=3.5, seed=1, api_name="/image")


def test_concurrent_chats_overlap_instead_of_queuing(app_url):
    """Eight /chat calls are in progress at the same time (each waits until it sees the others)."""
    n = 8
    clients = [Client(app_url, verbose=False) for _ in range(n)]
    try:
        jobs = [c.submit(messages=[{"role": "user", "content": f"gather {n}"}], provider="fake", model="echo",
                         system_prompt="", temperature=0.7, max_tokens=100, top_p=0.9, api_name="/chat")
                for c in clients]
        results = [job.result(timeout=60) for job in jobs]
    finally:
        for c in clients:
            c.close()
    assert results == [f"gathered {n}"] * n


def test_api_errors_are_plain_text_not_escaped(client):
    """Only the page's toasts escape HTML; an API caller reads the provider's message as it is."""
    with pytest.raises(AppError) as caught:
        client.predict(messages=[{"role": "user", "content": "fail-html:<b>bold</b> & more"}], provider="fake",
                       model="echo", system_prompt="", temperature=0.7, max_tokens=64, top_p=0.9, api_name="/chat")
    assert "<b>bold</b> & more" in str(caught.value) and "&lt;" not in str(caught.value)


# -- only the prompt (or the messages) is required --------------------------------------------------
def test_chat_needs_nothing_but_the_message(client):
    assert client.predict("hello", api_name="/chat") == "Echo: hello"
    assert client.predict([{"role": "user", "content": "hi"}], api_name="/chat") == "Echo: hi"
    assert client.predict("hi", system_prompt="be brief", api_name="/chat") == "[be brief] Echo: hi"


def test_every_parameter_but_the_prompt_has_a_default(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    required = {name: [p["parameter_name"] for p in endpoints[name]["parameters"] if not p["parameter_has_default"]]
                for name in ("/chat", "/vision", "/image", "/compare")}
    assert required == {"/chat": ["messages"], "/vision": ["prompt"], "/image": ["prompt"], "/compare": ["prompt"]}


def test_vision_needs_only_the_prompt_and_an_image(client, tmp_path):
    reply = client.predict("what is this?", images=[handle_file(_png(tmp_path, "c.png", (64, 48)))],
                           api_name="/vision")
    assert reply == "I see 1 image(s): 64x48. You asked: what is this?"


def test_image_needs_only_the_prompt(client):
    path, info = client.predict("a red square", api_name="/image")
    assert (info["provider"], info["model"], info["width"], info["height"]) == ("fake", "pattern", 1024, 1024)
    with Image.open(path) as image:
        seed = info["seed"]
        assert image.size == (1024, 1024) and image.getpixel((0, 0)) == (seed % 256, seed // 256 % 256,
                                                                          seed // 65536 % 256)


def test_compare_needs_only_the_prompt(client):
    columns = client.predict("hi", api_name="/compare")
    assert [(c["provider"], c["model"], c["reply"], c["done"]) for c in columns] == [
        ("fake", "echo", "Echo: hi", True), ("fake", "slow", "Echo: hi", True)]


def test_structured_output_is_refused_by_a_provider_without_it(client):
    with pytest.raises(AppError, match="Fake Provider does not offer structured output"):
        client.predict("hi", structured_output="json", api_name="/chat")
    with pytest.raises(AppError, match="must describe an object"):
        client.predict("hi", json_schema={"type": "string"}, api_name="/chat")
