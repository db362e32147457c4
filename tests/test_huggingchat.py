"""The HuggingChat adapter against a local chat-ui server (tests/support/huggingchat_server.py)."""

from __future__ import annotations

import asyncio
import io
import logging

import pytest
from PIL import Image

from providers import (
    AuthRequiredError,
    Capability,
    ChatRequest,
    Finish,
    ForbiddenError,
    ImageOutput,
    Message,
    ModelNotSupportedError,
    ProtocolError,
    RateLimitedError,
    ReasoningDelta,
    Registry,
    Source,
    Sources,
    Status,
    TextDelta,
    Title,
    UnavailableError,
    Visitor,
)
from providers.huggingchat.api import cookie_value, unflatten
from providers.huggingchat.provider import FALLBACK, STATE_KEY, HuggingChatProvider
from providers.media import prepare_image
from tests.support.huggingchat_server import HuggingChatServer, flatten, png
from tests.support.servers import serve_asgi

ALICE, BOB = "cookie-alice", "cookie-bob"


@pytest.fixture
def server(monkeypatch):
    server = HuggingChatServer({ALICE, BOB})
    with serve_asgi(server.app) as url:
        server.url = url + "/chat"
        monkeypatch.setenv("HUGGINGCHAT_URL", server.url)
        yield server


@pytest.fixture
def provider(server):
    return HuggingChatProvider()


def visitor(cookie: str | None = ALICE, name: str = "v") -> Visitor:
    return Visitor(session_id=name, huggingchat_cookie=cookie)


def user(text: str, *images) -> Message:
    return Message("user", text, list(images))


async def run(provider, who: Visitor, messages: list[Message], model: str = "text-model", **options):
    """All events of one turn and the error that ended it (None on success)."""
    events: list = []
    request = ChatRequest(messages=messages, model=model, **options)
    try:
        async for event in provider.chat(request, who):
            events.append(event)
    except Exception as exc:  # the typed error is what the tests check
        return events, exc
    return events, None


def text_of(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def talk(provider, who: Visitor, history: list[Message], text: str, **options) -> list[Message]:
    """One successful turn; returns the history with the new exchange appended."""
    messages = [*history, user(text)]
    events, error = await run(provider, who, messages, **options)
    assert error is None, error
    return [*messages, Message("assistant", text_of(events))]


def jpeg(colour=(200, 10, 10)) -> object:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, format="PNG")
    return prepare_image(buffer.getvalue())


# -- models ------------------------------------------------------------------------------

async def test_models_are_discovered_cached_and_multimodal_ones_offered_for_vision(provider, server):
    assert provider.model_list(Capability.TEXT) == list(FALLBACK.ids)  # nothing fetched yet
    assert await provider.list_models(Capability.TEXT) == ["text-model", "vision-model"]
    assert await provider.list_models(Capability.VISION) == ["vision-model"]
    assert provider.model_list(Capability.VISION) == ["vision-model"]
    assert provider.default_model(Capability.TEXT) == "text-model"
    models_calls = [r for r in server.requests if r.route == "models"]
    assert len(models_calls) == 1 and models_calls[0].cookie_header is None


async def test_models_fall_back_to_the_built_in_list(provider, server):
    server.fail("models", 500)
    assert await provider.list_models(Capability.TEXT) == list(FALLBACK.ids)
    assert set(await provider.list_models(Capability.VISION)) == set(FALLBACK.multimodal)


# -- the stream ------------------------------------------------------------------------------

async def test_a_stream_mixing_every_event_type(provider, server):
    server.replies.append("rich")
    events, error = await run(provider, visitor(), [user("hi")], web_search=True)
    assert error is None
    assert [e for e in events if isinstance(e, TextDelta)] == [TextDelta("Hello"), TextDelta(" world")]
    assert ReasoningDelta("Let me think.") in events
    assert Status("Thinking…") in events and Status("Web search: Searching the web") in events
    assert Sources((Source("Example", "https://example.com/a"),)) in events  # the javascript: link is dropped
    assert Title("A chat about greetings") in events
    images = [e for e in events if isinstance(e, ImageOutput)]
    assert images == [ImageOutput(png(), "image/png")]
    assert events[-1] == Finish("stop")
    assert all("\x00" not in getattr(e, "text", "") for e in events)
    output = [r for r in server.requests if r.route == "output"]
    assert len(output) == 1 and output[0].cookie_header == f"hf-chat={ALICE}"
    assert server.sent()[0].data["web_search"] is True


async def test_unreadable_lines_are_an_error_only_without_an_answer(provider, server):
    server.replies += ["garbage", "garbage-final"]
    events, error = await run(provider, visitor(), [user("one")])
    assert isinstance(error, ProtocolError) and "readable" in str(error)
    assert text_of(events) == ""
    events, error = await run(provider, visitor(), [user("two")])
    assert error is None and text_of(events) == "Recovered answer"


@pytest.mark.parametrize("kind, message", [
    ("cut", "connection dropped mid-answer"),
    ("ended", "stopped before it was finished"),
    ("status-error", "Model is overloaded"),
])
async def test_a_broken_stream_keeps_the_partial_answer(provider, server, kind, message):
    server.replies.append(kind)
    who = visitor()
    events, error = await run(provider, who, [user("go")])
    assert isinstance(error, UnavailableError) and message in str(error)
    assert text_of(events).startswith("partial")
    assert not who.state[STATE_KEY]  # a broken turn is not continued


async def test_slowness_past_the_read_timeout(provider, server, monkeypatch):
    monkeypatch.setenv("PROVIDER_READ_TIMEOUT", "0.3")
    server.slow_seconds = 1.5
    server.replies += ["slow", "stall"]
    events, error = await run(provider, visitor(), [user("first")])
    assert isinstance(error, UnavailableError) and "timed out" in str(error)
    assert events == []
    events, error = await run(provider, visitor(), [user("second")])
    assert isinstance(error, UnavailableError) and "timed out" in str(error)
    assert text_of(events) == "partial answer"


# -- conversations ---------------------------------------------------------------------------

async def test_first_turn_sends_everything_later_turns_only_the_new_message(provider, server):
    who = visitor()
    history = await talk(provider, who, [], "Hi there")
    assert history[-1].text == "You said: Hi there [files: 0]"
    history = await talk(provider, who, history, "And again")
    first, second = server.sent()
    assert first.data["inputs"] == "Hi there" and second.data["inputs"] == "And again"
    assert first.path == second.path  # the same server conversation
    assert [r.route for r in server.requests].count("create") == 1
    assert {"is_retry", "is_continue", "web_search", "tools"} <= set(second.data)
    assert second.data["web_search"] is False
    [conversation] = server.conversations.values()
    assert [m["from"] for m in conversation.messages] == ["system", "user", "assistant", "user", "assistant"]


async def test_a_conversation_started_elsewhere_is_sent_formatted(provider, server):
    history = [user("Hello"), Message("assistant", "Hi! How can I help?")]
    await talk(provider, visitor(), history, "Tell me a joke", system_prompt="Be funny")
    sent = server.sent()[0].data["inputs"]
    assert sent == "User: Hello\n\nAssistant: Hi! How can I help?\n\nUser: Tell me a joke"
    [conversation] = server.conversations.values()
    assert conversation.preprompt == "Be funny"


@pytest.mark.parametrize("change", ["edited", "retried", "cleared", "system prompt", "other model"])
async def test_a_changed_history_starts_a_fresh_conversation(provider, server, change):
    who = visitor()
    history = await talk(provider, who, [], "First")
    history = await talk(provider, who, history, "Second")
    options = {}
    if change == "edited":
        history[0] = user("First, edited")
        messages = [*history, user("Third")]
    elif change == "retried":
        messages = history[:3]
    elif change == "cleared":
        messages = [user("Third")]
    elif change == "system prompt":
        messages, options = [*history, user("Third")], {"system_prompt": "new rules"}
    else:
        messages, options = [*history, user("Third")], {"model": "vision-model"}
    events, error = await run(provider, who, messages, **options)
    assert error is None
    assert [r.route for r in server.requests].count("create") == 2
    last = server.sent()[-1]
    assert last.path != server.sent()[0].path
    assert last.data["inputs"].endswith(messages[-1].text)
    if len(messages) > 1:
        assert last.data["inputs"].startswith("User: ")


async def test_a_conversation_gone_from_the_server_is_restarted(provider, server):
    who = visitor()
    history = await talk(provider, who, [], "First")
    server.conversations.clear()
    await talk(provider, who, history, "Second")
    assert server.sent()[-1].data["inputs"].startswith("User: First")


async def test_older_servers_message_ids_from_data_json(provider, server):
    server.v2_api = False
    who = visitor()
    history = await talk(provider, who, [], "One")
    await talk(provider, who, history, "Two")
    assert any(r.path.endswith("/__data.json") for r in server.requests)
    assert server.sent()[-1].data["inputs"] == "Two"


def test_unflatten_reads_index_encoded_data():
    data = {"messages": [{"id": "a", "when": None}, {"id": "b", "tags": ["x", "x"]}], "n": 3}
    assert unflatten(flatten(data)) == data
    assert unflatten([{"a": 1, "b": -1}, ["Date", "2024-01-01T00:00:00Z"]]) == {
        "a": "2024-01-01T00:00:00Z", "b": None}
    assert unflatten([{"self": 0}]) == {"self": None}  # cycles do not recurse forever


# -- options ----------------------------------------------------------------------------------

async def test_images_go_as_base64_file_parts_to_multimodal_models(provider, server):
    who = visitor()
    first, second = jpeg(), jpeg((0, 0, 255))
    events, error = await run(provider, who, [user("what is it?", first)], model="vision-model",
                              capability=Capability.VISION)
    assert error is None and text_of(events).endswith("[files: 1]")
    sent = server.sent()[0]
    assert sent.files == [("base64;image-1.jpg", len(first.data))]
    history = [user("what is it?", first), Message("assistant", text_of(events)), user("and this?", second)]
    events, error = await run(provider, who, history, model="vision-model", capability=Capability.VISION)
    assert error is None and server.sent()[-1].files == [("base64;image-1.jpg", len(second.data))]
    assert server.sent()[-1].data["inputs"] == "and this?"


async def test_images_for_a_text_only_model_are_refused_before_sending(provider, server):
    events, error = await run(provider, visitor(), [user("look", jpeg())], model="text-model")
    assert isinstance(error, ModelNotSupportedError) and "multimodal" in str(error)
    assert server.sent() == []


async def test_an_unknown_model_is_reported(provider, server):
    events, error = await run(provider, visitor(), [user("hi")], model="no-such-model")
    assert isinstance(error, ModelNotSupportedError) and "Model not found" in str(error)


# -- sign-in and credentials -------------------------------------------------------------------

@pytest.mark.parametrize("cookie, status", [(None, None), ("wrong-cookie", 401), ("wrong-cookie", 403)])
async def test_not_signed_in_explains_how_to_get_the_cookie(provider, server, cookie, status):
    server.auth_status = status or 401
    events, error = await run(provider, visitor(cookie), [user("hi")])
    assert isinstance(error, ForbiddenError if status == 403 else AuthRequiredError)
    message = str(error)
    assert "hf-chat" in message and "Settings" in message and server.url in message
    assert "wrong-cookie" not in message
    assert [r.route for r in server.requests] == ([] if cookie is None else ["create"])


async def test_a_redirect_is_not_followed_so_the_cookie_stays_home(provider, server):
    elsewhere = HuggingChatServer()
    with serve_asgi(elsewhere.app) as other:
        server.fail("create", 302, {}, headers={"location": other + "/chat/conversation"})
        events, error = await run(provider, visitor(), [user("hi")])
    assert isinstance(error, AuthRequiredError) and "sign-in" in str(error)
    assert elsewhere.requests == []


async def test_cookies_set_by_the_server_are_never_stored(provider, server):
    server.set_cookie = "hf-chat=server-chosen; Path=/"
    await talk(provider, visitor(ALICE), [], "hi")
    await talk(provider, visitor(BOB, "b"), [], "hi")
    provider._catalogs.clear()
    await provider.list_models(Capability.TEXT)
    cookies = [(r.route, r.cookie_header) for r in server.requests]
    assert ("models", None) in cookies, repr(cookies)
    assert all(c in (None, f"hf-chat={ALICE}", f"hf-chat={BOB}") for _, c in cookies)


@pytest.mark.parametrize("space, allow, works", [
    (None, None, True), ("someone/space", None, False), ("someone/space", "1", True)])
async def test_operator_cookie_only_off_public_spaces_unless_allowed(provider, server, monkeypatch,
                                                                     space, allow, works):
    monkeypatch.setenv("HUGGINGCHAT_COOKIE", f"hf-chat={BOB}")
    for name, value in (("SPACE_ID", space), ("ALLOW_SHARED_CREDENTIALS", allow)):
        if value:
            monkeypatch.setenv(name, value)
    events, error = await run(provider, visitor(None), [user("hi")])
    if works:
        assert error is None and server.requests[-1].cookie_header == f"hf-chat={BOB}"
    else:
        assert isinstance(error, AuthRequiredError) and server.requests == []
    # a visitor's own cookie always wins
    events, error = await run(provider, visitor(ALICE, "own"), [user("hi")])
    assert error is None and server.requests[-1].cookie_header == f"hf-chat={ALICE}"


def test_cookie_value_accepts_what_people_paste():
    assert cookie_value("abc123") == "abc123"
    assert cookie_value(" hf-chat=abc123 ") == "abc123"
    assert cookie_value("token=x; hf-chat=abc123; other=y") == "abc123"


@pytest.mark.parametrize("route, status, kind, text", [
    ("send", 429, RateLimitedError, "Try again in 7 s"),
    ("send", 503, UnavailableError, "scripted HTTP 503"),
    ("create", 500, UnavailableError, "service unavailable"),
    ("info", 502, UnavailableError, "scripted HTTP 502"),
])
async def test_http_failures_are_clear(provider, server, route, status, kind, text):
    server.fail(route, status, headers={"retry-after": "7"} if status == 429 else None)
    events, error = await run(provider, visitor(), [user("hi")])
    assert isinstance(error, kind) and text in str(error)
    if status == 429:
        assert error.retry_after == 7


async def test_two_visitors_never_share_conversations_or_cookies(provider, server, caplog):
    caplog.set_level(logging.DEBUG)
    alice, bob = visitor(ALICE, "alice"), visitor(BOB, "bob")

    async def chat(who: Visitor, name: str) -> list[Message]:
        history: list[Message] = []
        for turn in range(3):
            history = await talk(provider, who, history, f"{name} says {turn}")
        return history

    alice_history, bob_history = await asyncio.gather(chat(alice, "alice"), chat(bob, "bob"))
    assert alice_history[-1].text == "You said: alice says 2 [files: 0]"
    assert bob_history[-1].text == "You said: bob says 2 [files: 0]"
    alice_ids = {c.conversation_id for c in alice.state[STATE_KEY].values()}
    bob_ids = {c.conversation_id for c in bob.state[STATE_KEY].values()}
    assert alice_ids == set(server.owned_by(ALICE)) and bob_ids == set(server.owned_by(BOB))
    assert len(alice_ids) == len(bob_ids) == 1 and not alice_ids & bob_ids
    for recorded in server.requests:
        if recorded.route in ("models", "create"):
            assert recorded.cookie_header in (None, f"hf-chat={ALICE}", f"hf-chat={BOB}")
            continue
        owner = ALICE if any(cid in recorded.path for cid in alice_ids) else BOB
        assert recorded.cookie_header == f"hf-chat={owner}"
        if recorded.route == "send":
            assert recorded.data["inputs"].startswith("alice" if owner == ALICE else "bob")
    conversation = server.conversations[next(iter(alice_ids))]
    assert not any("bob" in m["content"] for m in conversation.messages)
    assert ALICE not in caplog.text and BOB not in caplog.text


async def test_a_visitor_with_another_cookie_cannot_reach_the_old_conversation(provider, server):
    who = visitor(ALICE)
    history = await talk(provider, who, [], "private")
    who.set_credentials(huggingchat_cookie=BOB)  # same session, other account
    await talk(provider, who, history, "next")
    assert len(server.owned_by(ALICE)) == 1 and len(server.owned_by(BOB)) == 1
    assert server.sent()[-1].data["inputs"].startswith("User: private")


def test_the_provider_is_registered():
    from providers.registry import BUILTIN_PROVIDERS, load_class

    assert load_class("providers.huggingchat.provider:HuggingChatProvider") is HuggingChatProvider
    assert "providers.huggingchat.provider:HuggingChatProvider" in BUILTIN_PROVIDERS
    assert Registry([HuggingChatProvider()]).get("huggingchat").credential.header == "x-huggingchat-cookie"


# -- through the app ------------------------------------------------------------------------------

async def test_the_ui_gets_reasoning_sources_title_and_image(provider, server):
    from playground.service import Playground
    from ui.chat import turn_messages

    server.replies.append("rich")
    playground = Playground(Registry([provider]))
    turn = None
    async for turn in playground.chat([user("hi")], provider_id="huggingchat", model="text-model",
                                      visitor=visitor(), web_search=True):
        pass
    assert turn.reply.text == "Hello world" and turn.reply.title == "A chat about greetings"
    blocks = turn_messages(turn, done=True)
    titles = [(m.metadata or {}).get("title") for m in blocks]
    assert "Thinking" in titles and "Sources" in titles
    sources = next(m for m in blocks if (m.metadata or {}).get("title") == "Sources")
    assert "https://example.com/a" in sources.content
    assert any(not isinstance(m.content, str) for m in blocks)  # the generated image


@pytest.fixture
def app_url(server):
    from tests.support.servers import launch_blocks
    from ui.app import build_demo
    from ui.config import AppSettings

    demo = build_demo(Registry([HuggingChatProvider()]), AppSettings.from_env())
    with launch_blocks(demo) as url:
        yield url


@pytest.fixture
def api(app_url):
    from gradio_client import Client

    clients = []

    def make(cookie: str | None):
        client = Client(app_url, verbose=False, headers={"x-huggingchat-cookie": cookie} if cookie else None)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


CHAT = {"provider": "huggingchat", "model": "text-model", "system_prompt": "", "temperature": 0.7,
        "max_tokens": 100, "top_p": 0.9, "api_name": "/chat"}


def test_chat_end_to_end_through_the_api(api, server):
    from gradio_client.exceptions import AppError

    alice, bob = api(ALICE), api(BOB)
    first = alice.predict(messages=[{"role": "user", "content": "hello"}], **CHAT)
    assert first == "You said: hello [files: 0]"
    history = [{"role": "user", "content": "hello"}, {"role": "assistant", "content": first},
               {"role": "user", "content": "again"}]
    assert alice.predict(messages=history, **CHAT) == "You said: again [files: 0]"
    assert bob.predict(messages=[{"role": "user", "content": "bob here"}], **CHAT).endswith("bob here [files: 0]")
    sends = server.sent()
    assert [s.data["inputs"] for s in sends] == ["hello", "again", "bob here"]
    assert sends[0].path == sends[1].path != sends[2].path
    assert [s.cookie_header for s in sends] == [f"hf-chat={ALICE}"] * 2 + [f"hf-chat={BOB}"]
    with pytest.raises(AppError, match="HuggingChat needs you to sign in: add your cookie in Settings"):
        api(None).predict(messages=[{"role": "user", "content": "hi"}], **CHAT)


def test_vision_end_to_end_through_the_api(api, server, tmp_path):
    from gradio_client import handle_file

    path = tmp_path / "photo.png"
    Image.new("RGB", (320, 200), (5, 100, 200)).save(path)
    client = api(ALICE)
    reply = client.predict(prompt="what is this?", images=[handle_file(str(path))], history=[],
                           provider="huggingchat", model="vision-model", temperature=0.5, max_tokens=100,
                           api_name="/vision")
    assert reply == "You said: what is this? [files: 1]"
    history = [{"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                            {"type": "file", "file": handle_file(str(path))}]},
               {"role": "assistant", "content": reply}]
    second = tmp_path / "other.png"
    Image.new("RGB", (100, 100), (250, 250, 0)).save(second)
    reply = client.predict(prompt="and this?", images=[handle_file(str(second))], history=history,
                           provider="huggingchat", model="vision-model", temperature=0.5, max_tokens=100,
                           api_name="/vision")
    assert reply == "You said: and this? [files: 1]"  # only the new message and its image
    first, later = server.sent()
    assert first.path == later.path and first.files[0][0] == "base64;image-1.jpg"
    listing = client.predict(api_name="/providers")
    [entry] = [p for p in listing if p["id"] == "huggingchat"]
    assert entry["credential"] == "HuggingChat cookie" and "vision" in entry["capabilities"]
