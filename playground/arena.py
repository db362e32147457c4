"""The blind arena below the UI: picking two anonymous models, storing votes, ranking models (no gradio here).

Votes live in a database (`playground.votes_db`): SQLite under `/data` when the host has persistent
storage there (a Space's), else under `./data`; PostgreSQL when `ARENA_DATABASE_URL` names one. The
JSON-lines votes file of earlier versions (`ARENA_VOTES_PATH`) is imported once.

Fair use under hostile visitors (see `Arena`):
- a battle (the pair shown to one visitor) takes exactly one vote: the database's unique constraint
  on the battle id refuses a second one, whether it comes from the same request, a concurrent one or
  another process;
- each visitor may start `ARENA_BATTLES_PER_HOUR` battles (default 60) and cast
  `ARENA_VOTES_PER_HOUR` votes (default 60) an hour; 0 means unlimited. Over a limit, the
  request is refused at once with a message saying when to try again;
- the leaderboard lives in memory (`playground.leaderboard.VoteLedger`): votes are read once, then
  only new ones, in a background thread that also refits the Bradley–Terry ratings; a page load
  reads the snapshot.
"""

from __future__ import annotations

import math
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from providers import Capability, InputError, Registry, Visitor
from providers.settings import ArenaSettings

from .leaderboard import BATTLE_TTL, INITIAL_ELO, Standing, VoteLedger, leaderboard
from .limits import VisitorLimitError, visitor_limit_key, wait_text
from .status import provider_state
from .votes import ALREADY_VOTED, OUTCOMES, BattleAlreadyVoted, Contender, Vote, check_outcome, read_votes_file
from .votes_db import default_database_url

__all__ = [
    "ALREADY_VOTED", "BATTLE_TTL", "INITIAL_ELO", "OUTCOMES", "Arena", "Battle", "BattleAlreadyVoted", "Contender",
    "HourlyLimit", "Standing", "Vote", "VoteLedger", "arena_pool", "database_url", "leaderboard",
    "leaderboard_rows", "pick_pair", "read_votes_file", "votes_path",
]

DEFAULT_VOTES_PATH = "./data/arena_votes.jsonl"
DEFAULT_BATTLES_PER_HOUR = 60
DEFAULT_VOTES_PER_HOUR = 60


def votes_path() -> Path:
    """The JSON-lines votes file of earlier versions (imported once), from `ARENA_VOTES_PATH`."""
    return Path(ArenaSettings.current().votes_path or DEFAULT_VOTES_PATH)


def database_url() -> str:
    """`ARENA_DATABASE_URL`, else SQLite under `/data` (persistent storage) or `./data`."""
    return ArenaSettings.current().database_url or default_database_url()


LEADERBOARD_HEADERS = ["Rank", "Model", "Provider", "Rating", "95% CI", "Elo", "Win rate", "Votes", "Wins",
                       "Losses", "Ties"]


def leaderboard_rows(standings: list[Standing], registry: Registry | None = None) -> list[list]:
    """Table rows (see LEADERBOARD_HEADERS), with provider labels when the registry knows them.

    Rating and interval read "…" until the background fit includes the model.
    """
    rows = []
    for position, s in enumerate(standings, 1):
        rated = s.rating is not None
        interval = f"+{round(s.upper - s.rating)} / −{round(s.rating - s.lower)}" if rated else "…"
        rows.append([s.rank or position, s.contender.model, _label(registry, s.contender.provider),
                     round(s.rating) if rated else "…", interval, round(s.elo), f"{s.win_rate:.0%}", s.votes,
                     s.wins, s.losses, s.ties])
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
                                        f"Try again in {wait_text(wait)}.", retry_after=wait)
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


class Arena:
    """The blind arena for the UI: battles and votes with per-visitor limits, and the leaderboard.

    `ledger` is the votes database (one vote per battle, leaderboard kept in memory), or what opens it on
    first use (so building the app touches no database); `battles_per_hour` and `votes_per_hour` limit
    each visitor (0 = unlimited). A battle takes its vote within `battle_ttl` seconds of starting.
    """

    def __init__(self, ledger: VoteLedger | Callable[[], VoteLedger], *, battles_per_hour: int = DEFAULT_BATTLES_PER_HOUR,
                 votes_per_hour: int = DEFAULT_VOTES_PER_HOUR, battle_ttl: float = BATTLE_TTL,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._ledger = ledger if isinstance(ledger, VoteLedger) else None
        self._open_ledger = ledger if self._ledger is None else None
        self._opening = threading.Lock()
        self.battle_ttl = battle_ttl
        self._clock = clock
        self.battles = HourlyLimit(battles_per_hour, "battles", clock=monotonic)
        self.votes = HourlyLimit(votes_per_hour, "votes", clock=monotonic)

    @property
    def ledger(self) -> VoteLedger:
        """The votes database, opened (created, migrated, read) on first use."""
        if self._ledger is None:
            with self._opening:
                if self._ledger is None:
                    self._ledger = self._open_ledger()
        return self._ledger

    @classmethod
    def from_env(cls) -> Arena:
        """Votes in `database_url()` (importing `ARENA_VOTES_PATH` once); limits and refresh from the settings.
        The database is opened when the arena is first used, not here."""
        settings = ArenaSettings.current()
        url, votes_file = database_url(), str(votes_path())

        def open_ledger() -> VoteLedger:
            return VoteLedger.shared(url, votes_file=votes_file, refresh_seconds=settings.refresh_seconds,
                                     rounds=settings.bootstrap_rounds)

        return cls(open_ledger, battles_per_hour=settings.battles_per_hour, votes_per_hour=settings.votes_per_hour)

    def start_battle(self, pool: list[Contender], visitor: Visitor | None,
                     rng: random.Random | None = None) -> Battle:
        """A new battle between two models of `pool`, counted against the visitor's battles."""
        a, b = pick_pair(pool, rng)
        self.battles.take(visitor_limit_key(visitor))
        return Battle(uuid.uuid4().hex, a, b, self._clock())

    def vote(self, battle: Battle, outcome: str, visitor: Visitor | None) -> Vote:
        """Record the battle's one vote, or raise: BattleAlreadyVoted, VisitorLimitError, InputError."""
        check_outcome(outcome)
        if self._clock() - battle.started > self.battle_ttl:
            raise InputError("This battle is too old to vote on. Send a new prompt to start a new battle.")
        if self.ledger.has_vote(battle.id):
            raise BattleAlreadyVoted()  # at once, without the database or the visitor's allowance
        key = visitor_limit_key(visitor)
        self.votes.take(key)
        try:
            return self.ledger.record(Vote(battle.a, battle.b, outcome, self._clock(), battle.id))
        except BaseException:
            self.votes.refund(key)
            raise

    def standings(self) -> list[Standing]:
        return self.ledger.standings()
