"""Untrusted text made inert before Gradio renders it (no gradio here).

Model answers, reasoning, web sources, provider error messages and model names
come from outside. Gradio's Chatbot and Markdown render Markdown *and* HTML; its
own sanitiser drops scripts, iframes and ``on*`` handlers but keeps forms,
password inputs, buttons, ``style`` attributes and remote images, and toasts
render their message as HTML. So, on the server, before anything reaches Gradio:

* `neutralise_markdown` (answers, reasoning): raw HTML outside code is escaped
  (``<`` becomes ``&lt;``, so it displays as literal text); images become links
  (``![alt](url)`` -> ``[alt](url)``, reference-style too); links and link
  definitions to schemes other than http, https and mailto are shown as text;
  ```` ```mermaid ```` fences are shown as code (Gradio renders their body as
  HTML). Fenced code blocks and code spans stay byte-for-byte as they were.
* `neutralise_continuation`: the same, for text appended to an already neutral answer.
* `markdown_text` (titles, captions, error blocks): plain text that renders as itself.
* `markdown_code`: a model name as inline code (or plain text if it is unusual).
* `markdown_link` / `http_url`: a source as a link, only to http(s) URLs.
* `html_text` (toasts): plain text for a place that renders HTML.

Gradio's pipeline is mirrored where it matters: the Chatbot runs
`inspect.cleandoc` on message text, cuts ``$$…$$`` LaTeX out before Markdown
parsing (so fences inside it do not count), and renders with ``marked``, whose
fences close slightly differently from CommonMark. Code is left raw only where
every plausible reading agrees it is code; anything doubtful is escaped (it may
then show ``&lt;`` inside a code block, never live HTML).
"""

from __future__ import annotations

import html
import inspect
import re
from functools import lru_cache
from urllib.parse import quote, urlsplit

from markdown_it import MarkdownIt

#: The Chatbot's LaTeX delimiters (Gradio's default); text between them is not Markdown.
LATEX_DELIMITERS: tuple[tuple[str, str], ...] = (("$$", "$$"),)
#: Link schemes that may stay clickable in model output; relative links stay too.
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
#: More passes than this means a pathological input: everything gets escaped instead.
_MAX_PASSES = 12
_MAX_LABEL = 2000  # characters searched for a link label's closing bracket

# Only the block structure is needed (where fenced code is); inline parsing is skipped.
_MD = MarkdownIt("commonmark", {"html": True}).enable(["table"])
_MD.core.ruler.disable(["inline", "text_join"])

_PLACEHOLDER = "\ue000{}\ue001"  # stands in for a LaTeX block while parsing (inert plain text)
_BACKTICK = re.compile(r"`")
# What marked (Gradio's Markdown renderer) may read as a bare URL, a link's destination and
# title, or a reference label: each is taken whole, backticks included (group 1).
_TITLE = r""""(?:\\"?|[^"\\])*"|'(?:\\'?|[^'\\])*'|\((?:\\\)?|[^)\\])*\)"""
_SWALLOWERS = (
    re.compile(r"((?:(?:ftp|https?)://|www\.)(?:[a-zA-Z0-9\-]+\.?)+[^\s<]*)", re.IGNORECASE),
    re.compile(r"\]\((\s*(?:<(?:\\.|[^\n<>\\])+>|[^\s\x00-\x1f]*)(?:\s+(?:" + _TITLE + r"))?)"),
    re.compile(r"\]\(([^()]*?)\)"),
    re.compile(r"\]\[((?:\\.|[^\[\]\\])*)\]"),
)
# Link text and reference labels, which marked parses on their own (group 1).
_LABELS = (
    re.compile(r"!?\[((?:\[(?:\\.|[^\[\]\\])*\]|\\.|`[^`]*`|[^\[\]\\`])*?)\]\("),
    re.compile(r"\[((?!\s*\])(?:\\.|[^\[\]\\])+)\]"),
)
_SPECIAL = re.compile(r"[<!\[\\]|```mermaid")
_LABEL_SPECIAL = re.compile(r"[\[\]\\\n]")
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
_MD_ESCAPABLE = re.compile(r"\\([!-/:-@\[-`{-~])")
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")
_DEFINITION_PREFIX = re.compile(r"(?:[ \t]*(?:>|[-+*](?=[ \t])|\d{1,9}[.)](?=[ \t])))*[ \t]*$")
_PLAIN_SPECIAL = re.compile(r"([\\`*_~$])")
_PLAIN_LEADING = re.compile(r"^(?:([#+=-])|(\d+)([.)]))")
_CODE_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+=-]*")


# -- Markdown from a model ---------------------------------------------------------------------
@lru_cache(maxsize=64)
def neutralise_markdown(text: str) -> str:
    """Model Markdown made inert, as Gradio's Chatbot will receive it.

    The result is already normalised the way the Chatbot normalises message text
    (``inspect.cleandoc``, ``\\n`` line ends), and applying this again changes nothing.
    Work is cached per top-level block, so a streamed answer costs little per frame.
    """
    return _with_latex_set_aside(_normalise(text), _neutralise_pieces)


def neutralise_continuation(previous: str, addition: str) -> str:
    """What to append to `previous` (an answer already neutral) so that the whole stays inert.

    Appending can change what the earlier text means (an unclosed fence, a ``!``
    before a ``[``), so the whole is neutralised and the new part cut off it. If
    the earlier part would have to change, the addition is escaped completely.
    """
    if not addition:
        return ""
    whole = neutralise_markdown(previous + addition)
    if whole.startswith(previous):
        return whole[len(previous):]
    return _escape_everything(_normalise_newlines(addition), brackets=True)


# -- plain text into Markdown or HTML ----------------------------------------------------------
def markdown_text(text: object) -> str:
    """Plain text as one line of Markdown that renders as exactly that text (no markup, no HTML)."""
    line = " ".join(str(text).split())
    line = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # Brackets as entities: marked unescapes \\[ and \\] inside link text (a source's title).
    line = line.replace("[", "&#91;").replace("]", "&#93;")
    line = _PLAIN_SPECIAL.sub(r"\\\1", line)
    match = _PLAIN_LEADING.match(line)
    if match and match.group(1):  # a heading, list item or rule at the start of the line
        line = "\\" + line
    elif match:  # "1." or "1)": an ordered list
        line = f"{match.group(2)}\\{match.group(3)}{line[match.end():]}"
    return line


def markdown_code(text: object) -> str:
    """A name (a model id) as inline code; anything unusual as plain `markdown_text` instead."""
    name = str(text).strip()
    return f"`{name}`" if _CODE_SAFE.fullmatch(name) else markdown_text(name)


def html_text(text: object) -> str:
    """Plain text for a place that renders HTML (Gradio's toasts): ``<`` and ``&`` are escaped."""
    return html.escape(str(text), quote=False)


def http_url(url: object) -> str | None:
    """The URL if it is an absolute http(s) URL (percent-encoded for a Markdown link), else None."""
    raw = str(url or "").strip()
    try:
        parts = urlsplit(raw)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return quote(raw, safe="-._~:/?#[]@!$&+,;=%")


def markdown_link(label: object, url: object) -> str:
    """``[label](url)`` for an http(s) URL; otherwise the label alone, as plain text."""
    target = http_url(url)
    text = markdown_text(label or url)
    return f"[{text}]({target})" if target else text


# -- the passes --------------------------------------------------------------------------------
def _normalise_newlines(text: str) -> str:
    return str(text).replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")


def _normalise(text: str) -> str:
    """Line ends as Markdown parsers see them, then what `gr.Chatbot` does to message text."""
    return inspect.cleandoc(_normalise_newlines(text))


def _with_latex_set_aside(text: str, transform) -> str:
    """Run `transform` on `text` with its LaTeX blocks replaced by placeholders, as Gradio does.

    Gradio cuts LaTeX out with a regular expression *before* parsing Markdown and
    inserts it back HTML-escaped, so LaTeX is inert, but it hides whatever it
    spans (a fence opener, say) from the Markdown parser: the parse must too.
    """
    if "\ue000" in text:
        text = text.replace("\ue000", "\ufffd")
    blocks: list[str] = []

    def keep(match: re.Match) -> str:
        blocks.append(match.group(0))
        return _PLACEHOLDER.format(len(blocks) - 1)

    for left, right in LATEX_DELIMITERS:
        text = re.sub(re.escape(left) + r"[\s\S]+?" + re.escape(right), keep, text)
    result = transform(text)
    if blocks:
        result = re.sub("\ue000(\\d+)\ue001", lambda m: blocks[int(m.group(1))], result)
    return result


def _neutralise_pieces(text: str) -> str:
    """Neutralise the top-level blocks one by one (cached); see `_pieces`."""
    out: list[str] = []
    pending = ""
    pieces = _pieces(text)
    for k, piece in enumerate(pieces):
        pending += piece
        last = k == len(pieces) - 1  # still growing while a stream runs: not worth caching
        result, carries_on = _neutral_piece(pending) if last else _neutral_piece_cached(pending)
        if carries_on and not last:
            continue  # a fence (or a doubtful one) runs on into what follows: take them together
        out.append(result)
        pending = ""
    return "".join(out)


def _pieces(text: str) -> list[str]:
    """`text` cut before every line that starts in column 0 after a blank line.

    Nothing of the Markdown before such a line can reach into it, apart from an
    unclosed fence (the caller joins those pieces) and HTML blocks (there are none
    once neutral); LaTeX was set aside beforehand.
    """
    cuts = [m.start(1) for m in re.finditer(r"\n[ \t]*\n(?:[ \t]*\n)*(\S)", text)]
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


def _neutral_piece(text: str) -> tuple[str, bool]:
    """One piece made inert (escaping until nothing changes) and whether a fence runs on past it."""
    for _ in range(_MAX_PASSES):
        code, carries_on = _code_mask(text)
        result = _edit(text, code)
        if result == text:
            return result, carries_on
        text = result
    text = _escape_everything(text)
    return text, _code_mask(text)[1]


_neutral_piece_cached = lru_cache(maxsize=1024)(_neutral_piece)


def _code_mask(text: str) -> tuple[bytearray, bool]:
    """1 for every character that is code (left raw), 0 for text that gets neutralised.

    Also says whether a fence may run on past the end of `text`: one is left open,
    or ``marked`` reads some fence differently, which shifts every fence after it
    (from there on no fence counts as code).
    """
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    code = bytearray(len(text))
    fence_lines: set[int] = set()
    doubtful = carries_on = False
    for token in _MD.parse(text) if ("```" in text or "~~~" in text) else ():
        if token.type != "fence" or not token.map:
            continue
        first, last = token.map
        fence_lines.update(range(first, last))
        doubtful = doubtful or not _marked_agrees(token)
        closed = last - 1 > first and _closes(lines[last - 1], token.markup)
        carries_on = carries_on or doubtful or (not closed and token.level == 0)
        if doubtful:
            continue  # read differently by marked: all of it is treated as text
        body_end = last - 1 if closed else last
        if body_end > first + 1:
            start, end = starts[first + 1], starts[body_end - 1] + len(lines[body_end - 1])
            code[start:end] = b"\x01" * (end - start)
    for first, last in _chunks([i for i in range(len(lines)) if i not in fence_lines], lines):
        start, end = starts[first], starts[last - 1] + len(lines[last - 1])
        for span_start, span_end in _code_spans(text[start:end]):
            code[start + span_start:start + span_end] = b"\x01" * (span_end - span_start)
    return code, carries_on


def _marked_agrees(token) -> bool:
    """False if ``marked`` would end this fence early (it accepts ```` ```~ ```` and the like)."""
    closer = re.compile(r" {0,3}" + re.escape(token.markup) + r"[~`]* *")
    return not any(closer.fullmatch(line) for line in token.content.split("\n"))


def _closes(line: str, markup: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and set(stripped) == {markup[0]} and len(stripped) >= len(markup)


def _chunks(text_lines: list[int], lines: list[str]) -> list[tuple[int, int]]:
    """Runs of consecutive non-blank lines (outside fences): no paragraph can be larger."""
    chunks: list[tuple[int, int]] = []
    first = previous = -2
    for i in text_lines:
        if not lines[i].strip():
            continue
        if i != previous + 1:
            if first >= 0:
                chunks.append((first, previous + 1))
            first = i
        previous = i
    if first >= 0:
        chunks.append((first, previous + 1))
    return chunks


def _code_spans(chunk: str) -> list[tuple[int, int]]:
    """The inline code spans of a chunk of lines, if they are unambiguous; else none at all.

    CommonMark and ``marked`` pair backticks differently in corner cases (``marked``
    lets strikethrough, bare URLs and link destinations swallow a backtick, and
    masks only single-backtick spans when it looks for emphasis). Spans are kept
    only in the plain case every reading agrees on: on every line, single
    backticks in pairs, none escaped, and nothing that could swallow one.
    """
    if "`" not in chunk:
        return []
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in chunk.split("\n"):
        ticks = [m.start() for m in _BACKTICK.finditer(line)]
        if any(line[i:i + 2] == "``" for i in ticks) or len(ticks) % 2 or "\\`" in line:
            return []
        spans += [(offset + a, offset + b + 1) for a, b in zip(ticks[::2], ticks[1::2])]
        offset += len(line) + 1
    if any("|" in chunk[a:b] for a, b in spans):
        return []  # a table would cut the span at the pipe
    # Read left to right, a span is code once marked reaches its opening backtick; what
    # starts inside a span cannot take it apart, what starts before it might.
    def outside(position: int) -> bool:
        return not any(a < position < b for a, b in spans)

    ticks = [a for a, _ in spans] + [b - 1 for _, b in spans]
    tildes = [m.start() for m in re.finditer("~", chunk)]
    starts = [t for t in tildes if outside(t)]
    if starts and any(starts[0] < t < tildes[-1] for t in ticks):
        return []  # marked's ~strikethrough~ does not respect code spans
    for pattern in _SWALLOWERS:
        if any("`" in m.group(1) and outside(m.start()) for m in pattern.finditer(chunk)):
            return []  # a URL, link destination/title or reference label would swallow a backtick
    for pattern in _LABELS:
        for m in pattern.finditer(chunk):
            if outside(m.start()) and any(_straddles(span, m.start(1) - 1, m.end(1) + 1) for span in spans):
                return []  # link text is parsed on its own: a span must not straddle it
    return spans


def _straddles(span: tuple[int, int], left: int, right: int) -> bool:
    """True if the span and the bracketed text [left, right) overlap without one holding the other."""
    a, b = span
    overlap = a < right and left < b
    return overlap and not (left < a and b < right) and not (a <= left and right <= b)


def _edit(text: str, code: bytearray) -> str:
    """Escape HTML, turn images into links and drop unsafe links, outside code."""
    out: list[str] = []
    escape_at: set[int] = set()  # the "(" or ":" after the label of a link to an unsafe scheme
    i = 0
    n = len(text)
    while i < n:
        if code[i]:
            j = code.find(0, i)
            j = n if j < 0 else j
            out.append(text[i:j])
            i = j
            continue
        match = _SPECIAL.search(text, i)
        stop = match.start() if match else n
        if escape_at:
            stop = min([stop, *(p for p in escape_at if p >= i)])
        free = code.find(1, i, stop)
        if free >= 0:
            stop = free
        if stop > i:
            out.append(text[i:stop])
            i = stop
            continue
        char = text[i]
        if char == "\\":
            if i + 1 < n and not code[i + 1]:
                out.append(text[i:i + 2])
                i += 2
            else:
                out.append(char)
                i += 1
        elif char == "<":
            out.append("&lt;")
            i += 1
        elif char == "!":
            bracket = i + 1
            while bracket < n and text[bracket] == "\\":
                bracket += 1
            if bracket < n and text[bracket] == "[" and not code[bracket]:
                after = _label_end(text, code, i + 1) if bracket == i + 1 else None
                if after is not None and after < n and text[after] in "([":
                    i += 1  # ![alt](url) -> [alt](url): a link the visitor may follow
                    continue
                # A bare "![", or "!\\[": marked unescapes \\[ in link text, which makes an image.
                out.append("\\!")
            else:
                out.append(char)
            i += 1
        elif char == "[":
            destination = _unsafe_link(text, code, i)
            if destination is not None:
                out.append("\\[")  # shown as text; the "(" too, in case marked unescapes the bracket
                escape_at.add(destination)
            else:
                out.append("[")
            i += 1
        elif i in escape_at:
            out.append("\\" + char)
            i += 1
        elif text.startswith("```mermaid", i):
            out.append("``` mermaid")  # Gradio renders a mermaid fence's body as HTML
            i += len("```mermaid")
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _label_end(text: str, code: bytearray, start: int) -> int | None:
    """The index just after the ``]`` closing the label that opens at `start`, if any."""
    depth = 0
    i = start
    limit = min(len(text), start + _MAX_LABEL)
    while True:
        match = _LABEL_SPECIAL.search(text, i, limit)
        if match is None:
            return None
        i = match.start()
        if code[i]:
            after = code.find(0, i)
            i = limit if after < 0 else after
            continue
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "\n":
            end = text.find("\n", i + 1)
            if not text[i + 1:end if end >= 0 else len(text)].strip():
                return None  # a blank line ends the paragraph
        elif char == "[":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1


def _unsafe_link(text: str, code: bytearray, start: int) -> int | None:
    """If the ``[`` at `start` opens a link (or link definition) to an unsafe scheme, the index of
    the ``(`` (or ``:``) after its label; else None."""
    after = _label_end(text, code, start)
    if after is None or after >= len(text) or code[after]:
        return None
    if text[after] == "(":
        unsafe = not all(_safe_destination(d) for d in _destinations(text, after + 1))
        return after if unsafe else None
    if text[after] == ":":
        line_start = text.rfind("\n", 0, start) + 1
        if _DEFINITION_PREFIX.match(text, line_start, start):
            unsafe = not all(_safe_destination(d) for d in _destinations(text, after + 1))
            return after if unsafe else None
    return None


def _destinations(text: str, start: int) -> list[str]:
    """The link destination starting at `start`, read both as <pointy> and as a bare run."""
    i = start
    newlines = 0
    while i < len(text) and text[i] in " \t\n":
        newlines += text[i] == "\n"
        if newlines > 1:
            return []
        i += 1
    found = []
    if text.startswith("<", i):
        end = text.find(">", i)
        found.append(text[i + 1:end if end >= 0 else len(text)])
    j = i
    depth = 0
    while j < len(text) and not text[j].isspace():
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == "(":
            depth += 1
        elif text[j] == ")":
            if depth == 0:
                break
            depth -= 1
        j += 1
    found.append(text[i:j])
    return found


def _safe_destination(destination: str) -> bool:
    """A relative URL or one with a safe scheme, after unescaping as a browser would see it."""
    url = html.unescape(_MD_ESCAPABLE.sub(r"\1", destination))
    url = _CONTROL.sub("", url)
    match = _SCHEME.match(url)
    return match is None or match.group(1).lower() in SAFE_SCHEMES


def _escape_everything(text: str, *, brackets: bool = False) -> str:
    """The blunt fallback: no raw HTML, images, mermaid (or links) anywhere, code included."""
    text = text.replace("<", "&lt;").replace("```mermaid", "``` mermaid")
    if brackets:
        return text.replace("[", "\\[")
    return re.sub(r"(?<!\\)!\[", r"\\![", text)
