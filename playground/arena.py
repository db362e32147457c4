"""The blind arena below the UI: picking two anonymous models, storing votes, ranking models (no gradio here).

Votes are appended to a JSON-lines file (`ARENA_VOTES_PATH`, default
`./data/arena_votes.jsonl`), one object per line:
`{"time": ..., "battle": "<id>", "a": {"provider", "model"}, "b": {"provider", "model"},
"outcome": "a"|"b"|"tie"|"both_bad"}` (`battle` is missing on lines written before battles had ids).
Votes survive restarts: the leaderboard is the replay of the file.

Fair use under hostile visitors (see `Arena`):
- a battle (the pair shown to one visitor) takes exactly one vote: the check and the append
  happen under one exclusive advisory lock on the file, so a second vote for the same battle
  is refused whether it comes from the same request, a concurrent one or another process
  appending to the same file;
- each visitor may start `ARENA_BATTLES_PER_HOUR` battles (default 60) and cast
  `ARENA_VOTES_PER_HOUR` votes (default 60) an hour; 0 means unlimited. Over a limit, the
  request is refused at once with a message saying when to try again;
- the leaderboard lives in memory (`VoteLedger`): the file is read once, then only its new
  tail (by byte offset, under the lock), so a page load or a vote costs O(new votes).
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from providers import Capability, InputError, Registry, Visitor
from providers.settings import ArenaSettings

from .limits import VisitorLimitError
from .status import provider_state

try:  # advisory locks keep appends from several processes whole; not available on Windows
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

DEFAULT_VOTES_PATH = "./data/arena_votes.jsonl"
OUTCOMES = ("a", "b", "tie", "both_bad")
INITIAL_ELO = 1000.0
ELO_K = 32.0
DEFAULT_BATTLES_PER_HOUR = 60
DEFAULT_VOTES_PER_HOUR = 60
#: A battle takes its vote within this long of starting; voted battle ids are remembered
#: this long after their vote (plus an hour of slack for clocks), which bounds that memory.
BATTLE_TTL = 24 * 3600.0
_TTL_SLACK = 3600.0
ALREADY_VOTED = "This battle already has a vote. Send a new prompt to start the next battle."


@dataclass(frozen=True)
class Contender:
    """One model in the arena: a provider id and a model id."""

    provider: str
    model: str

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.model}"

    def as_dict(self) -> dict[str, str]:
        return {"provider": self.provider, "model": self.model}


@dataclass(frozen=True)
class Vote:
    a: Contender
    b: Contender
    outcome: str
    time: float = 0.0
    #: The battle this vote is for ("" on votes from before battles had ids).
    battle: str = ""

    def as_json(self) -> str:
        data: dict = {"time": self.time}
        if self.battle:
            data["battle"] = self.battle
        data.update({"a": self.a.as_dict(), "b": self.b.as_dict(), "outcome": self.outcome})
        return json.dumps(data, ensure_ascii=False)


class BattleAlreadyVoted(InputError):
    """A second vote for a battle: refused, the first one stands."""

    def __init__(self) -> None:
        super().__init__(ALREADY_VOTED)


def votes_path() -> Path:
    """Where votes go, read from `ARENA_VOTES_PATH` when needed."""
    return Path(ArenaSettings.current().votes_path or DEFAULT_VOTES_PATH)


class VoteStore:
    """An append-only JSON-lines file of votes, created on demand.

    Each vote is written by one `write` on a file opened for appending, under an
    exclusive lock, so concurrent voters (threads or processes) never interleave lines.
    """

    _thread_lock = threading.Lock()

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else votes_path()

    def append(self, vote: Vote) -> None:
        if vote.outcome not in OUTCOMES:
            raise InputError(f"Unknown vote {vote.outcome!r}; expected one of {', '.join(OUTCOMES)}.")
        line = (vote.as_json() + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._thread_lock:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                _lock(fd, exclusive=True)
                _write_line(fd, line)
            finally:
                os.close(fd)  # closing releases the lock

    def read(self) -> list[Vote]:
        """Every readable vote in file order; damaged lines are skipped with a warning.

        This reads the whole file (a full recompute); the app uses `VoteLedger`, which reads it once.
        """
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        return [vote for vote in _parse_lines(raw, self.path) if vote is not None]


def _parse_lines(chunk: bytes, path: os.PathLike | str, first_line: int = 1) -> Iterator[Vote | None]:
    """The votes in whole lines of the file, in order: None for each damaged line (logged), blanks skipped.

    Lines end at "\\n" only (a model name may hold other Unicode line breaks), and each line is
    decoded on its own, so one damaged line never hides the others.
    """
    for number, line in enumerate(chunk.split(b"\n"), first_line):
        if not line.strip():
            continue
        try:
            yield _parse(line.decode("utf-8"))
        except (ValueError, KeyError, TypeError, AttributeError):  # UnicodeDecodeError is a ValueError
            logger.warning("Skipping damaged line %d of %s", number, path)
            yield None


def _parse(line: str) -> Vote:
    data = json.loads(line)
    outcome = data["outcome"]
    if outcome not in OUTCOMES:
        raise ValueError(outcome)
    a, b = (Contender(str(data[s]["provider"]), str(data[s]["model"])) for s in ("a", "b"))
    battle = data.get("battle") or ""
    return Vote(a, b, outcome, float(data.get("time") or 0.0), battle if isinstance(battle, str) else str(battle))


def record_vote(store: VoteStore, a: Contender, b: Contender, outcome: str, *, battle: str = "") -> Vote:
    """Append a vote without the one-vote-per-battle check (see `VoteLedger.record` for that)."""
    vote = Vote(a, b, outcome, time.time(), battle)
    store.append(vote)
    return vote


def _lock(fd: int, *, exclusive: bool) -> None:
    """Take the advisory lock every writer of the votes file takes (released when `fd` is closed)."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)


def _write_line(fd: int, line: bytes) -> None:
    """Append one whole line; called under the exclusive lock on a file opened for appending.

    Writers append whole lines under the lock, so a file not ending in a newline was cut short by
    a crash: the new line starts on a line of its own instead of being glued to the fragment.
    """
    end = os.fstat(fd).st_size
    if end and os.pread(fd, 1, end - 1) != b"\n":
        line = b"\n" + line
    os.write(fd, line)


# -- leaderboard ------------------------------------------------------------------------------
@dataclass
class Standing:
    contender: Contender
    elo: float = INITIAL_ELO
    wins: int = 0
    losses: int = 0
    ties: int = 0

    @property
    def votes(self) -> int:
        return self.wins + self.losses + self.ties

    @property
    def win_rate(self) -> float:
        """Share of this model's battles it won outright (ties and "both bad" count as not won)."""
        return self.wins / self.votes if self.votes else 0.0


class EloTable:
    """Running Elo, wins, losses and ties, folded in one vote at a time.

    Elo depends on order: votes must be added in file order, and then the table equals
    `leaderboard` over the same votes. A model against itself does not count.
    """

    def __init__(self, *, k: float = ELO_K) -> None:
        self.k = k
        self._table: dict[str, Standing] = {}

    def add(self, vote: Vote) -> None:
        """Count one vote."""
        if vote.a.key == vote.b.key:
            return  # a model cannot beat itself
        a = self._table.setdefault(vote.a.key, Standing(vote.a))
        b = self._table.setdefault(vote.b.key, Standing(vote.b))
        score = {"a": 1.0, "b": 0.0}.get(vote.outcome, 0.5)
        expected = 1.0 / (1.0 + 10 ** ((b.elo - a.elo) / 400.0))
        a.elo += self.k * (score - expected)
        b.elo -= self.k * (score - expected)
        if score == 1.0:
            a.wins, b.losses = a.wins + 1, b.losses + 1
        elif score == 0.0:
            b.wins, a.losses = b.wins + 1, a.losses + 1
        else:
            a.ties, b.ties = a.ties + 1, b.ties + 1

    def standings(self) -> list[Standing]:
        """Copies of the standings, best first: by Elo, then win rate, then vote count."""
        return sorted((replace(s) for s in self._table.values()),
                      key=lambda s: (-s.elo, -s.win_rate, -s.votes, s.contender.key))


def leaderboard(votes: Iterable[Vote], *, k: float = ELO_K) -> list[Standing]:
    """Elo (votes replayed in order; a tie or "both bad" is a draw) with wins, losses and ties.

    Sorted best first: by Elo, then win rate, then vote count. Only the first vote for a
    battle counts (`VoteLedger` never writes a second one). This is the full recompute;
    `VoteLedger` keeps the same table up to date as votes arrive.
    """
    table = EloTable(k=k)
    battles: set[str] = set()
    for vote in votes:
        if vote.battle:
            if vote.battle in battles:
                continue
            battles.add(vote.battle)
        table.add(vote)
    return table.standings()


class VoteLedger:
    """The votes file as this process knows it: the running leaderboard and the voted battles.

    The file is read once, then only the bytes other processes (or this one) appended since,
    from the remembered offset, under the file's advisory lock; a page load with nothing new
    costs one `stat`. `record` checks and appends under the exclusive lock, so a battle gets
    one vote across threads and processes. Battle ids are remembered `battle_ttl` (plus an hour)
    after their vote; a battle older than that no longer takes votes (see `Arena`).
    One ledger per file per process: `VoteLedger.shared(path)`.
    """

    _shared: dict[str, VoteLedger] = {}
    _shared_lock = threading.Lock()
    _CHUNK = 1 << 22  # read a long tail 4 MiB at a time

    def __init__(self, path: str | os.PathLike, *, battle_ttl: float = BATTLE_TTL,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.battle_ttl = battle_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._reset(None)
        #: Lines read from the file so far (for tests and benchmarks: growth means re-reading).
        self.lines_read = 0

    @classmethod
    def shared(cls, path: str | os.PathLike) -> VoteLedger:
        key = os.path.abspath(path)
        with cls._shared_lock:
            ledger = cls._shared.get(key)
            if ledger is None:
                ledger = cls._shared[key] = cls(key)
            return ledger

    def _reset(self, file_id: tuple[int, int] | None) -> None:
        self._file_id = file_id
        self._offset = 0
        self._line_number = 1
        self._table = EloTable()
        self._voted: set[str] = set()
        self._voted_order: deque[tuple[float, str]] = deque()

    # -- reading ----------------------------------------------------------------------------
    def standings(self) -> list[Standing]:
        """The leaderboard with every vote in the file so far (reads only what is new)."""
        with self._lock:
            self._refresh()
            return self._table.standings()

    def has_vote(self, battle: str) -> bool:
        """Whether this process already knows of a vote for the battle (no file access)."""
        with self._lock:
            return battle in self._voted

    def remembered(self) -> int:
        """How many voted battle ids are kept in memory."""
        return len(self._voted)

    def _refresh(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._file_id is not None:
                self._reset(None)  # the file was removed: no votes
            return
        if (st.st_dev, st.st_ino) == self._file_id and st.st_size == self._offset:
            return  # nothing new
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            _lock(fd, exclusive=False)
            self._read_tail(fd)
        finally:
            os.close(fd)

    def _read_tail(self, fd: int) -> None:
        """Fold in the whole lines appended since the last read; called under the file lock."""
        st = os.fstat(fd)
        file_id = (st.st_dev, st.st_ino)
        if file_id != self._file_id or st.st_size < self._offset:
            if self._file_id is not None:
                logger.warning("%s was replaced or shortened; reading it again", self.path)
            self._reset(file_id)
        while self._offset < st.st_size:
            chunk = os.pread(fd, min(self._CHUNK, st.st_size - self._offset), self._offset)
            end = chunk.rfind(b"\n") + 1
            if not end:
                if len(chunk) < self._CHUNK:
                    return  # a line cut short by a crashed writer: wait for its newline
                end = len(chunk)  # an absurdly long line: damaged anyway
            self._fold(chunk[:end])
            self._offset += end

    def _fold(self, lines: bytes) -> None:
        cutoff = self._clock() - self.battle_ttl - _TTL_SLACK
        count = lines.count(b"\n")
        for vote in _parse_lines(lines, self.path, self._line_number):
            if vote is None:
                continue
            if vote.battle:
                if vote.battle in self._voted:
                    continue  # never written by a ledger; the first vote stands, as in `leaderboard`
                if vote.time >= cutoff:
                    self._voted.add(vote.battle)
                    self._voted_order.append((vote.time, vote.battle))
            self._table.add(vote)
        self._line_number += count
        self.lines_read += count
        self._forget(cutoff)

    def _forget(self, cutoff: float) -> None:
        """Drop battle ids voted on before `cutoff`: those battles are past taking votes."""
        order = self._voted_order
        while order and order[0][0] < cutoff:
            self._voted.discard(order.popleft()[1])

    # -- writing ----------------------------------------------------------------------------
    def record(self, vote: Vote) -> Vote:
        """Append the vote unless its battle already has one (BattleAlreadyVoted).

        The check and the append happen under the exclusive lock, after reading what others
        appended, so of concurrent votes for one battle exactly one is written.
        """
        if vote.outcome not in OUTCOMES:
            raise InputError(f"Unknown vote {vote.outcome!r}; expected one of {', '.join(OUTCOMES)}.")
        if not vote.battle:
            raise InputError("A vote needs the battle it is for.")
        line = (vote.as_json() + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if vote.battle in self._voted:
                raise BattleAlreadyVoted()
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                _lock(fd, exclusive=True)
                self._read_tail(fd)
                if vote.battle in self._voted:
                    raise BattleAlreadyVoted()
                _write_line(fd, line)
                self._read_tail(fd)  # our own line (nobody else can append while we hold the lock)
            finally:
                os.close(fd)
        return vote


LEADERBOARD_HEADERS = ["Rank", "Model", "Provider", "Elo", "Win rate", "Votes", "Wins", "Losses", "Ties"]


def leaderboard_rows(standings: list[Standing], registry: Registry | None = None) -> list[list]:
    """Table rows (see LEADERBOARD_HEADERS), with provider labels when the registry knows them."""
    rows = []
    for rank, s in enumerate(standings, 1):
        rows.append([rank, s.contender.model, _label(registry, s.contender.provider), round(s.elo),
                     f"{s.win_rate:.0%}", s.votes, s.wins, s.losses, s.ties])
    return rows


def _label(registry: Registry | None, provider_id: str) -> str:
    if registry is None:
        return provider_id
    try:
        return registry.get(provider_id).label
    except Exception:
        return provider_id


# -- picking a pair ---------------------------------------------------------------------------
def arena_pool(registry: Registry, visitor: Visitor | None = None) -> list[Contender]:
    """Every text model of the providers ready for `visitor` (their own credentials, or shared ones).

    Providers that answer through others (such as Auto) never take part.
    """
    pool: list[Contender] = []
    for provider in registry.for_capability(Capability.TEXT):
        if not provider.delegating and provider_state(provider, visitor).ready:
            pool.extend(Contender(provider.id, m) for m in dict.fromkeys(provider.model_list(Capability.TEXT)))
    return pool


def pick_pair(pool: list[Contender], rng: random.Random | None = None) -> tuple[Contender, Contender]:
    """Two different models at random, in random order. Raises InputError with fewer than two."""
    if len({c.key for c in pool}) < 2:
        raise InputError("The arena needs at least two working text models; "
                         "configure or sign in to more providers.")
    rng = rng or random.SystemRandom()
    a = rng.choice(pool)
    b = rng.choice([c for c in pool if c.key != a.key])
    return a, b


# -- battles, per-visitor limits and the arena as the UI uses it -------------------------------
@dataclass(frozen=True)
class Battle:
    """The pair shown to one visitor; `id` ties its one vote to it, `started` is when (time.time())."""

    id: str
    a: Contender
    b: Contender
    started: float

    def as_dict(self) -> dict:
        return {"id": self.id, "a": self.a.as_dict(), "b": self.b.as_dict(), "started": self.started}

    @classmethod
    def from_dict(cls, data: dict) -> Battle:
        return cls(str(data["id"]), Contender(**data["a"]), Contender(**data["b"]), float(data["started"]))


class HourlyLimit:
    """At most `per_hour` events per visitor key in any sliding hour (0 = unlimited); thread-safe.

    Over the limit, `take` raises VisitorLimitError at once, saying when to try again.
    Memory is bounded: a key keeps at most `per_hour` times, and keys with nothing in the
    last hour are forgotten.
    """

    def __init__(self, per_hour: int, what: str, *, window: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_hour = per_hour
        self.what = what
        self.window = window
        self._clock = clock
        self._times: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._taken = 0

    def take(self, key: str) -> None:
        if not self.per_hour:
            return
        now = self._clock()
        with self._lock:
            times = self._times.get(key)
            if times is None:
                times = self._times[key] = deque(maxlen=self.per_hour)
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.per_hour:
                wait = max(1, math.ceil(times[0] + self.window - now))
                raise VisitorLimitError(f"Too many {self.what}: {self.per_hour} an hour at most. "
                                        f"Try again in {_duration(wait)}.", retry_after=wait)
            times.append(now)
            self._taken += 1
            if self._taken % 256 == 0:
                self._forget_idle(now)

    def refund(self, key: str) -> None:
        """Give back the latest `take` (the event did not happen after all)."""
        with self._lock:
            times = self._times.get(key)
            if times:
                times.pop()

    def __len__(self) -> int:
        """Visitor keys currently tracked."""
        return len(self._times)

    def _forget_idle(self, now: float) -> None:
        idle = [key for key, times in self._times.items() if not times or times[-1] <= now - self.window]
        for key in idle:
            del self._times[key]


def _duration(seconds: int) -> str:
    return f"{seconds} s" if seconds < 120 else f"{math.ceil(seconds / 60)} min"


def visitor_limit_key(visitor: Visitor | None) -> str:
    """Who limits count against: the app's per-request key, else the session."""
    if visitor is None:
        return ""
    return visitor.limit_key or visitor.session_id


class Arena:
    """The blind arena for the UI: battles and votes with per-visitor limits, and the leaderboard.

    `ledger` is the votes file (one vote per battle, leaderboard kept in memory); `battles_per_hour`
    and `votes_per_hour` limit each visitor (0 = unlimited). A battle takes its vote within
    `battle_ttl` seconds of starting.
    """

    def __init__(self, ledger: VoteLedger, *, battles_per_hour: int = DEFAULT_BATTLES_PER_HOUR,
                 votes_per_hour: int = DEFAULT_VOTES_PER_HOUR, battle_ttl: float = BATTLE_TTL,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ledger = ledger
        self.battle_ttl = battle_ttl
        self._clock = clock
        self.battles = HourlyLimit(battles_per_hour, "battles", clock=monotonic)
        self.votes = HourlyLimit(votes_per_hour, "votes", clock=monotonic)

    @classmethod
    def from_env(cls) -> Arena:
        """Votes in `ARENA_VOTES_PATH`; limits from `ARENA_BATTLES_PER_HOUR` and `ARENA_VOTES_PER_HOUR`."""
        return cls(VoteLedger.shared(votes_path()),
                   battles_per_hour=ArenaSettings.current().battles_per_hour,
                   votes_per_hour=ArenaSettings.current().votes_per_hour)

    def start_battle(self, pool: list[Contender], visitor: Visitor | None,
                     rng: random.Random | None = None) -> Battle:
        """A new battle between two models of `pool`, counted against the visitor's battles."""
        a, b = pick_pair(pool, rng)
        self.battles.take(visitor_limit_key(visitor))
        return Battle(uuid.uuid4().hex, a, b, self._clock())

    def vote(self, battle: Battle, outcome: str, visitor: Visitor | None) -> Vote:
        """Record the battle's one vote, or raise: BattleAlreadyVoted, VisitorLimitError, InputError."""
        if outcome not in OUTCOMES:
            raise InputError(f"Unknown vote {outcome!r}; expected one of {', '.join(OUTCOMES)}.")
        if self._clock() - battle.started > self.battle_ttl:
            raise InputError("This battle is too old to vote on. Send a new prompt to start a new battle.")
        if self.ledger.has_vote(battle.id):
            raise BattleAlreadyVoted()  # at once, without the file or the visitor's allowance
        key = visitor_limit_key(visitor)
        self.votes.take(key)
        try:
            return self.ledger.record(Vote(battle.a, battle.b, outcome, self._clock(), battle.id))
        except BaseException:
            self.votes.refund(key)
            raise

    def standings(self) -> list[Standing]:
        return self.ledger.standings()
