"""Turning chat-ui's JSON-lines reply into the playground's typed events.

One JSON object per line, by `type`: `stream` (answer tokens, NUL-padded),
`reasoning` (thinking tokens or a status), `webSearch` (progress and `sources`),
`title`, `file` (a generated file to fetch), `status` (keep-alive, errors) and
`finalAnswer` (the end). A malformed or unknown line is logged and skipped; it
is an error only when no answer came at all.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import ProtocolError, UnavailableError
from ..events import ChatEvent, Finish, ImageOutput, ReasoningDelta, Source, Sources, Status, TextDelta, Title
from ..http import parse_json_line

logger = logging.getLogger(__name__)

#: Fetches the image a `file` line names (None when it is not an image or cannot be had).
FileFetcher = Callable[[dict[str, Any]], Awaitable[ImageOutput | None]]

_QUIET_STATUSES = {"started", "keepAlive", "finished", ""}


def _clean(value: Any) -> str:
    return value.replace("\x00", "") if isinstance(value, str) else ""


@dataclass
class _Progress:
    text: str = ""
    images: int = 0
    skipped: int = 0


def _sources(items: Any) -> tuple[Source, ...]:
    found: list[Source] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        link = _clean(item.get("link") or item.get("url")).strip()
        if link.startswith(("http://", "https://")):
            found.append(Source(_clean(item.get("title")).strip() or link, link))
    return tuple(found)


def _translate(label: str, line: dict[str, Any], progress: _Progress) -> Iterator[ChatEvent]:
    """Events for one line other than `file` and `finalAnswer`."""
    kind = line["type"]
    if kind == "stream":
        token = _clean(line.get("token"))
        if token:
            progress.text += token
            yield TextDelta(token)
    elif kind == "reasoning":
        if line.get("subtype") == "status":
            status = _clean(line.get("status")).strip()
            if status:
                yield Status(status)
        else:
            token = _clean(line.get("token"))
            if token:
                yield ReasoningDelta(token)
    elif kind == "webSearch":
        sources = _sources(line.get("sources"))
        if sources:
            yield Sources(sources)
        elif line.get("subtype") in ("update", "error") and _clean(line.get("message")).strip():
            yield Status(f"Web search: {_clean(line.get('message')).strip()}")
    elif kind == "title":
        title = _clean(line.get("title")).strip()
        if title:
            yield Title(title)
    elif kind == "status":
        status = _clean(line.get("status"))
        message = _clean(line.get("message")).strip()
        if status == "error":
            raise UnavailableError(label, message or "the service reported an error")
        if status not in _QUIET_STATUSES and message:
            yield Status(message)
    else:
        logger.info("%s: ignored a %r line", label, kind)


def _final(line: dict[str, Any], progress: _Progress) -> Iterator[ChatEvent]:
    """The end of the turn: any final text the stream did not carry, then Finish."""
    final = _clean(line.get("text"))
    if final.startswith(progress.text) and len(final) > len(progress.text):
        rest = final[len(progress.text):]
        progress.text += rest
        yield TextDelta(rest)
    yield Finish("cancelled" if line.get("interrupted") else "stop")


async def read_events(label: str, lines: AsyncIterator[str], fetch_file: FileFetcher) -> AsyncIterator[ChatEvent]:
    """Events of one reply; ends after `finalAnswer`, raises if the stream ends before it."""
    progress = _Progress()
    async for raw in lines:
        line = parse_json_line(label, raw)
        if not isinstance(line, dict) or not isinstance(line.get("type"), str):
            if line is not None:
                logger.warning("%s: skipped a line without a type: %.120s", label, raw)
            progress.skipped += 1
            continue
        if line["type"] == "finalAnswer":
            for event in _final(line, progress):
                yield event
            return
        if line["type"] == "file":
            image = await fetch_file(line)
            if image is not None:
                progress.images += 1
                yield image
            continue
        for event in _translate(label, line, progress):
            yield event
    if progress.text or progress.images:
        raise UnavailableError(label, "the answer stopped before it was finished")
    if progress.skipped:
        raise ProtocolError(label, f"none of the {progress.skipped} lines received was readable")
    raise UnavailableError(label, "the connection closed before an answer arrived")
