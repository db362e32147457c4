"""The blind arena below the UI: picking two anonymous models, storing votes, ranking models (no gradio here).

Votes are appended to a JSON-lines file (`ARENA_VOTES_PATH`, default
`./data/arena_votes.jsonl`), one object per line:
`{"time": ..., "a": {"provider", "model"}, "b": {"provider", "model"}, "outcome": "a"|"b"|"tie"|"both_bad"}`.
The leaderboard is recomputed from the file, so votes survive restarts.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from providers import Capability, InputError, Provider, Registry, Visitor
from providers.config import env_str

try:  # advisory locks keep appends from several processes whole; not available on Windows
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

DEFAULT_VOTES_PATH = "./data/arena_votes.jsonl"
OUTCOMES = ("a", "b", "tie", "both_bad")
INITIAL_ELO = 1000.0
ELO_K = 32.0


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

    def as_json(self) -> str:
        return json.dumps({"time": self.time, "a": self.a.as_dict(), "b": self.b.as_dict(),
                           "outcome": self.outcome}, ensure_ascii=False)


def votes_path() -> Path:
    """Where votes go, read from `ARENA_VOTES_PATH` when needed."""
    return Path(env_str("ARENA_VOTES_PATH") or DEFAULT_VOTES_PATH)


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
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                os.write(fd, line)
            finally:
                os.close(fd)  # closing releases the lock

    def read(self) -> list[Vote]:
        """Every readable vote in file order; damaged lines are skipped with a warning."""
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        votes: list[Vote] = []
        for number, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                votes.append(_parse(line))
            except (ValueError, KeyError, TypeError):
                logger.warning("Skipping damaged line %d of %s", number, self.path)
        return votes


def _parse(line: str) -> Vote:
    data = json.loads(line)
    outcome = data["outcome"]
    if outcome not in OUTCOMES:
        raise ValueError(outcome)
    a, b = (Contender(str(data[s]["provider"]), str(data[s]["model"])) for s in ("a", "b"))
    return Vote(a, b, outcome, float(data.get("time") or 0.0))


def record_vote(store: VoteStore, a: Contender, b: Contender, outcome: str) -> Vote:
    vote = Vote(a, b, outcome, time.time())
    store.append(vote)
    return vote


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


def leaderboard(votes: Iterable[Vote], *, k: float = ELO_K) -> list[Standing]:
    """Elo (votes replayed in order; a tie or "both bad" is a draw) with wins, losses and ties.

    Sorted best first: by Elo, then win rate, then vote count.
    """
    table: dict[str, Standing] = {}
    for vote in votes:
        if vote.a.key == vote.b.key:
            continue  # a model cannot beat itself
        a = table.setdefault(vote.a.key, Standing(vote.a))
        b = table.setdefault(vote.b.key, Standing(vote.b))
        score = {"a": 1.0, "b": 0.0}.get(vote.outcome, 0.5)
        expected = 1.0 / (1.0 + 10 ** ((b.elo - a.elo) / 400.0))
        a.elo += k * (score - expected)
        b.elo -= k * (score - expected)
        if score == 1.0:
            a.wins, b.losses = a.wins + 1, b.losses + 1
        elif score == 0.0:
            b.wins, a.losses = b.wins + 1, a.losses + 1
        else:
            a.ties, b.ties = a.ties + 1, b.ties + 1
    return sorted(table.values(), key=lambda s: (-s.elo, -s.win_rate, -s.votes, s.contender.key))


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
    """Every text model of the working, configured providers the visitor can use.

    Providers that need sign-in count only when the visitor brought credentials;
    fallback providers built on others (such as Auto) never take part.
    """
    signed_in = bool(visitor and (visitor.hf_token or visitor.huggingchat_cookie))
    pool: list[Contender] = []
    for provider in registry.for_capability(Capability.TEXT):
        if _eligible(provider, signed_in):
            pool.extend(Contender(provider.id, m) for m in dict.fromkeys(provider.model_list(Capability.TEXT)))
    return pool


def _eligible(provider: Provider, signed_in: bool) -> bool:
    if hasattr(provider, "attach_registry"):
        return False
    try:
        status = provider.status()
    except Exception:
        return False
    return status.working and status.configured and (signed_in or not status.needs_auth)


def pick_pair(pool: list[Contender], rng: random.Random | None = None) -> tuple[Contender, Contender]:
    """Two different models at random, in random order. Raises InputError with fewer than two."""
    if len({c.key for c in pool}) < 2:
        raise InputError("The arena needs at least two working text models; "
                         "configure or sign in to more providers.")
    rng = rng or random.SystemRandom()
    a = rng.choice(pool)
    b = rng.choice([c for c in pool if c.key != a.key])
    return a, b
