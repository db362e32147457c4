"""Logging set-up with a filter that keeps tokens and cookies out of every log line."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from itertools import groupby
from operator import itemgetter

from .settings import LogSettings

REDACTED = "[REDACTED]"
_PATTERNS = [
    re.compile(r"hf_[A-Za-z0-9]{8,}"),
    re.compile(r"(?i)(bearer\s+)[^\s'\",]+"),
    re.compile(r"(?i)((?:authorization|cookie|set-cookie|x-ip-token|api[_-]?key|token|hf-chat)[\"']?\s*[:=]\s*[\"']?)[^\s'\",;}]+"),
]

MAX_SECRETS = 1024
"""How many registered secrets are kept: the most recently registered (or used) ones; older ones
are forgotten. Bounds the memory and the size of the pattern that finds them."""

MIN_SECRET_CHARS = 16
"""Shorter values are never registered, so a visitor cannot make a common word ("Fetching") or an
address ("127.0.0.1") vanish from every log line by passing it as a token. Real tokens and cookies
are longer; the patterns above still catch `hf_…` tokens, `Bearer …`, `cookie=…` and the like."""

MATCH_CHARS = 64
"""Secrets are matched by at most this many leading characters; when a longer one matches, the rest
of its run (see SecretRegistry.redact) is redacted with it. Bounds the work per position of a line."""

REBUILD_AFTER = 32
"""When this many secrets were registered since the full pattern was built, it is rebuilt in a
background thread; meanwhile a small pattern of just those (compiled when next needed) covers them."""

_WHITESPACE = re.compile(r"\s")

try:  # compile without re's module cache, which would keep up to 512 stale patterns alive
    from re import _compiler as _sre_compiler  # Python 3.11+
except ImportError:  # pragma: no cover - older Pythons
    import sre_compile as _sre_compiler


def looks_like_credential(value: object) -> bool:
    """Whether a value could be a token or cookie worth redacting everywhere: a string of at least
    MIN_SECRET_CHARS characters without whitespace."""
    return isinstance(value, str) and len(value) >= MIN_SECRET_CHARS and not _WHITESPACE.search(value)


def _runs_of(chars: Iterable[str]) -> re.Pattern[str]:
    """Runs of at least MIN_SECRET_CHARS of `chars`: where secrets made of those characters can be."""
    return _sre_compiler.compile(f"[{''.join(map(re.escape, sorted(chars)))}]{{{MIN_SECRET_CHARS},}}", 0)


def _pattern_for(keys: Iterable[str]) -> re.Pattern[str] | None:
    """One regex matching any of `keys`, shaped as their trie so that matching at a position costs
    at most MATCH_CHARS steps however many keys there are (keys of MATCH_CHARS characters also take
    the rest of their run)."""
    ordered = sorted(set(keys))
    if not ordered:
        return None
    return _sre_compiler.compile(_trie_regex(ordered, 0), 0)


def _trie_regex(keys: list[str], depth: int) -> str:
    """The regex for `keys[...][depth:]`: `keys` sorted, distinct, sharing their first `depth` characters."""
    first, last = keys[0], keys[-1]
    if len(keys) == 1:
        return re.escape(first[depth:]) + (r"\S*" if len(first) >= MATCH_CHARS else "")
    end = depth  # the characters all keys share (the first and last differ first, being sorted)
    while end < len(first) and first[end] == last[end]:
        end += 1
    shared = re.escape(first[depth:end])
    ends_here = len(first) == end  # a key that is the start of longer ones sorts first
    rest = keys[1:] if ends_here else keys
    branches = [_trie_regex(list(group), end) for _, group in groupby(rest, key=itemgetter(end))]
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    # The longer match wins: the optional part is greedy.
    return shared + (f"(?:{body})?" if ends_here else body)


def _redact_spans(text: str, patterns: list[re.Pattern[str]]) -> str:
    """`text` with what any of `patterns` matches redacted; overlapping matches (one secret the start
    of another, found by different patterns) are redacted as one."""
    spans = sorted(match.span() for pattern in patterns for match in pattern.finditer(text))
    if not spans:
        return text
    parts, done = [], 0
    start, end = spans[0]
    for next_start, next_end in spans[1:]:
        if next_start < end:
            end = max(end, next_end)
            continue
        parts += [text[done:start], REDACTED]
        done, start, end = end, next_start, next_end
    parts += [text[done:start], REDACTED, text[end:]]
    return "".join(parts)


class SecretRegistry:
    """A bounded set of secrets (most recent kept) and the patterns that redact them; thread-safe.

    Redacting costs time in proportion to the text, not to the number of secrets. A character class
    of every character the secrets use finds the runs of text a secret could be in (ordinary log
    text, split by spaces, quotes, slashes and the like, has few long ones); in those runs, two
    compiled tries do the matching: a full one rebuilt in the background every REBUILD_AFTER new
    secrets and a small one (compiled when first needed) for the secrets registered since.
    """

    def __init__(self, limit: int = MAX_SECRETS, rebuild_after: int = REBUILD_AFTER) -> None:
        self._limit = limit
        self._rebuild_after = rebuild_after
        self._lock = threading.Lock()
        self._compile_lock = threading.Lock()
        self._keys: OrderedDict[str, frozenset[str]] = OrderedDict()  # key: the characters of its secret
        self._version = 0  # bumped whenever the keys or the built pattern change
        self._built: re.Pattern[str] | None = None
        self._built_keys: frozenset[str] = frozenset()
        self._built_chars: frozenset[str] = frozenset()
        # As of _fresh_version: the runs to search, and the pattern for the keys not in _built_keys.
        self._matchers: tuple[re.Pattern[str], list[re.Pattern[str]]] | None = None
        self._fresh_version = 0
        self._pending = 0  # keys not in _built_keys
        self._builder: threading.Thread | None = None

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, value: object) -> bool:
        return looks_like_credential(value) and value[:MATCH_CHARS] in self._keys

    def register(self, value: str | None) -> bool:
        """Remember a secret (if it looks like a credential; see looks_like_credential). True if kept."""
        if not looks_like_credential(value):
            return False
        key, chars = value[:MATCH_CHARS], frozenset(value)
        with self._lock:
            if key in self._keys:
                self._keys.move_to_end(key)
                if not chars <= self._keys[key]:  # a longer secret with the same start
                    self._keys[key] |= chars
                    self._version += 1
                return True
            self._keys[key] = chars
            if key not in self._built_keys:
                self._pending += 1
            while len(self._keys) > self._limit:
                oldest, _ = self._keys.popitem(last=False)
                if oldest not in self._built_keys:
                    self._pending -= 1
            self._version += 1
            if self._pending >= self._rebuild_after and self._builder is None:
                self._builder = threading.Thread(target=self._rebuild, name="secret-redaction", daemon=True)
                try:
                    self._builder.start()
                except RuntimeError:  # no new threads (interpreter shutdown): the small pattern still covers all
                    self._builder = None
        return True

    def redact(self, text: str) -> str:
        """`text` with every registered secret replaced by REDACTED."""
        if len(text) < MIN_SECRET_CHARS:
            return text
        matchers = self._current_matchers()
        if matchers is None:
            return text
        runs, patterns = matchers
        if len(patterns) == 1:
            (pattern,) = patterns
            return runs.sub(lambda run: pattern.sub(REDACTED, run.group()), text)
        return runs.sub(lambda run: _redact_spans(run.group(), patterns), text)

    def wait_until_built(self, timeout: float | None = None) -> None:
        """Wait for a background rebuild to finish (for tests and benchmarks; redaction never needs to)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (builder := self._builder) is not None:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            builder.join(remaining)

    def _current_matchers(self) -> tuple[re.Pattern[str], list[re.Pattern[str]]] | None:
        """The runs to search and the patterns to apply in them (None: no secrets)."""
        with self._lock:
            if self._fresh_version == self._version:
                return self._matchers
        with self._compile_lock:  # one thread compiles; the others then use its patterns
            with self._lock:
                version = self._version
                if self._fresh_version == version:
                    return self._matchers
                built = self._built
                keys = [key for key in self._keys if key not in self._built_keys]
                chars = self._built_chars.union(*self._keys.values())
            patterns = [p for p in (built, _pattern_for(keys)) if p is not None]
            matchers = (_runs_of(chars), patterns) if patterns else None
            with self._lock:
                if self._version == version:
                    self._matchers, self._fresh_version = matchers, version
            return matchers

    def _rebuild(self) -> None:
        """Background thread: compile the full pattern until few secrets are left outside it."""
        try:
            while True:
                with self._lock:
                    keys = list(self._keys)
                    chars = frozenset().union(*self._keys.values())
                built = _pattern_for(keys)
                with self._lock:
                    self._built, self._built_keys, self._built_chars = built, frozenset(keys), chars
                    self._pending = sum(key not in self._built_keys for key in self._keys)
                    self._version += 1
                    if self._pending < self._rebuild_after:
                        self._builder = None
                        return
        except BaseException:  # never log from here (it would go through the filter); retry later
            with self._lock:
                self._builder = None


_secrets = SecretRegistry()


def register_secret(value: str | None) -> bool:
    """Remember a credential so it is redacted from logs even when no pattern matches it.

    Only values that look like credentials are kept (see looks_like_credential); returns whether
    this one was. Call it when a credential is accepted (not for every keystroke)."""
    return _secrets.register(value)


def redact(text: str) -> str:
    """Text with known secrets and token/cookie-looking values replaced."""
    text = _secrets.redact(text)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message with secrets removed."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what we can
            message = str(record.msg)
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.msg, record.args = cleaned, None
        return True


_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: str | None = None) -> None:
    """Configure root logging once (level from LOG_LEVEL, default INFO) with redaction on every handler."""
    root = logging.getLogger()
    level_name = (level or LogSettings.current().level).upper()
    root.setLevel(getattr(logging, level_name, logging.INFO))
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(handler)
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    for noisy in ("httpx", "httpcore", "httpx2", "urllib3"):
        logging.getLogger(noisy).setLevel(max(root.level, logging.WARNING))
