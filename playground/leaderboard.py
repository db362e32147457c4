"""The arena leaderboard: Bradley–Terry ratings with 95% intervals, Elo, wins, losses and ties per model.

`VoteLedger` is the votes database as one process knows it. A background thread reads the votes
written since the last id it saw (by any process) every `refresh_seconds`, folds them into the
running Elo table and the per-pair counts, and refits the Bradley–Terry ratings with their bootstrap
intervals when votes arrived. A page load reads the last snapshot from memory: no database access,
no recomputation. `leaderboard(votes)` is the same table computed from scratch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from sqlalchemy.exc import SQLAlchemyError

from providers import InputError

from .ratings import DEFAULT_PRIOR, DEFAULT_ROUNDS, Cell, Rating, ranks, ratings_with_intervals
from .votes import BattleAlreadyVoted, Vote, check_outcome
from .votes_db import VoteDatabase

logger = logging.getLogger(__name__)

INITIAL_ELO = 1000.0
ELO_K = 32.0
#: A battle takes its vote within this long of starting; voted battle ids are remembered
#: this long after their vote (plus an hour of slack for clocks), which bounds that memory.
BATTLE_TTL = 24 * 3600.0
_TTL_SLACK = 3600.0
DEFAULT_REFRESH_SECONDS = 2.0


@dataclass
class Standing:
    contender: object  # a votes.Contender
    elo: float = INITIAL_ELO
    wins: int = 0
    losses: int = 0
    ties: int = 0
    #: Bradley–Terry rating and its 95% interval (None until the first fit that includes this model).
    rating: float | None = None
    lower: float | None = None
    upper: float | None = None
    #: LMArena's rank: 1 + models whose interval lies wholly above this one's (0 while unrated).
    rank: int = 0

    @property
    def votes(self) -> int:
        return self.wins + self.losses + self.ties

    @property
    def win_rate(self) -> float:
        """Share of this model's battles it won outright (ties and "both bad" count as not won)."""
        return self.wins / self.votes if self.votes else 0.0


class Tally:
    """Running Elo, wins, losses and ties, and vote counts per (A, B, score), folded one vote at a time.

    Elo depends on order: votes must be added in id (file) order. A model against itself does not count.
    """

    def __init__(self, *, k: float = ELO_K) -> None:
        self.k = k
        self.votes = 0
        self.cells: dict[Cell, int] = {}
        self._table: dict[str, Standing] = {}

    def add(self, vote: Vote) -> None:
        if vote.a.key == vote.b.key:
            return  # a model cannot beat itself
        a = self._table.setdefault(vote.a.key, Standing(vote.a))
        b = self._table.setdefault(vote.b.key, Standing(vote.b))
        score = vote.score
        expected = 1.0 / (1.0 + 10 ** ((b.elo - a.elo) / 400.0))
        a.elo += self.k * (score - expected)
        b.elo -= self.k * (score - expected)
        if score == 1.0:
            a.wins, b.losses = a.wins + 1, b.losses + 1
        elif score == 0.0:
            b.wins, a.losses = b.wins + 1, a.losses + 1
        else:
            a.ties, b.ties = a.ties + 1, b.ties + 1
        cell = (vote.a.key, vote.b.key, score)
        self.cells[cell] = self.cells.get(cell, 0) + 1
        self.votes += 1

    def standings(self, ratings: dict[str, Rating]) -> list[Standing]:
        """Copies of the standings with `ratings`, best first: by rating, then Elo, win rate and votes."""
        rank = ranks({key: r for key, r in ratings.items() if key in self._table})
        rows = []
        for key, standing in self._table.items():
            rated = ratings.get(key)
            rows.append(replace(standing, rank=rank.get(key, 0)) if rated is None else
                        replace(standing, rating=rated.rating, lower=rated.lower, upper=rated.upper, rank=rank[key]))
        return sorted(rows, key=lambda s: (s.rating is None, -(s.rating or 0.0), -s.elo, -s.win_rate, -s.votes,
                                           s.contender.key))

    def ratings(self, *, rounds: int = DEFAULT_ROUNDS, prior: float = DEFAULT_PRIOR) -> dict[str, Rating]:
        """Bradley–Terry fit of the votes so far (seeded by the vote count: every process agrees)."""
        return ratings_with_intervals(self.cells, rounds=rounds, prior=prior, seed=self.votes)


def leaderboard(votes: Iterable[Vote], *, rounds: int = DEFAULT_ROUNDS, prior: float = DEFAULT_PRIOR,
                k: float = ELO_K) -> list[Standing]:
    """The leaderboard computed from scratch; only the first vote for a battle counts."""
    tally = Tally(k=k)
    battles: set[str] = set()
    for vote in votes:
        if vote.battle:
            if vote.battle in battles:
                continue
            battles.add(vote.battle)
        tally.add(vote)
    return tally.standings(tally.ratings(rounds=rounds, prior=prior))


class VoteLedger:
    """The votes database as this process knows it: the leaderboard in memory and the voted battles.

    `record` writes a vote (the database refuses a second one for a battle), then folds in every vote
    written since the last read, its own included. `start` runs the background reader and fitter;
    `standings` is the last snapshot. Battle ids are remembered `battle_ttl` (plus an hour) after their
    vote, for a quick refusal without the database. One ledger per database per process:
    `VoteLedger.shared(url)`.
    """

    _shared: dict[str, VoteLedger] = {}
    _shared_lock = threading.Lock()

    def __init__(self, db: VoteDatabase, *, battle_ttl: float = BATTLE_TTL, clock: Callable[[], float] = time.time,
                 refresh_seconds: float = DEFAULT_REFRESH_SECONDS, rounds: int = DEFAULT_ROUNDS,
                 prior: float = DEFAULT_PRIOR) -> None:
        self.db = db
        self.battle_ttl = battle_ttl
        self.refresh_seconds = refresh_seconds
        self.rounds = rounds
        self.prior = prior
        self._clock = clock
        self._lock = threading.Lock()  # the state below
        self._reading = threading.Lock()  # one reader of new rows at a time
        self._rated = threading.Condition(self._lock)
        self._tally = Tally()
        self._last_id = 0
        self._ratings: dict[str, Rating] = {}
        self._rated_votes = 0
        self._voted: set[str] = set()
        self._voted_order: deque[tuple[float, str]] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Rows read from the database so far (for tests and benchmarks: growth means re-reading).
        self.rows_read = 0

    @classmethod
    def shared(cls, url: str, *, votes_file: str | None = None, **options) -> VoteLedger:
        """This process's ledger of the database at `url` (created, migrated and started on first use)."""
        with cls._shared_lock:
            ledger = cls._shared.get(url)
            if ledger is None:
                ledger = cls._shared[url] = cls(VoteDatabase(url, votes_file=votes_file), **options)
                ledger.start()
            return ledger

    # -- background ---------------------------------------------------------------------------
    def start(self) -> None:
        """Read the votes so far, then keep reading new ones and refitting in a background thread."""
        if self._thread is None:
            self.sync()
            self._thread = threading.Thread(target=self._run, name="arena-leaderboard", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.db.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync()
            except SQLAlchemyError:
                logger.exception("Could not read new arena votes; trying again in %.0f s", self.refresh_seconds)
            self._wake.wait(self.refresh_seconds)
            self._wake.clear()

    def sync(self) -> None:
        """Fold in the new votes, then refit the ratings if votes arrived."""
        self.refresh()
        self.update_ratings()

    # -- reading ------------------------------------------------------------------------------
    def refresh(self) -> int:
        """Fold in the votes written since the last read (by any process); returns how many."""
        with self._reading:
            rows = list(self.db.votes_after(self._last_id))
            if not rows:
                return 0
            with self._lock:
                cutoff = self._clock() - self.battle_ttl - _TTL_SLACK
                for row_id, vote in rows:
                    if vote.battle and vote.time >= cutoff and vote.battle not in self._voted:
                        self._voted.add(vote.battle)
                        self._voted_order.append((vote.time, vote.battle))
                    self._tally.add(vote)
                    self._last_id = row_id
                self.rows_read += len(rows)
                self._forget(cutoff)
            return len(rows)

    def update_ratings(self) -> bool:
        """Refit the ratings if votes arrived since the last fit (outside the lock); True if refitted."""
        with self._lock:
            if self._tally.votes == self._rated_votes:
                return False
            cells, votes = dict(self._tally.cells), self._tally.votes
        fitted = ratings_with_intervals(cells, rounds=self.rounds, prior=self.prior, seed=votes)
        with self._lock:
            if votes > self._rated_votes:
                self._ratings, self._rated_votes = fitted, votes
                self._rated.notify_all()
        return True

    def wait_for_ratings(self, timeout: float = 10.0) -> bool:
        """Wait until the ratings include every vote folded in so far (refits here without a background
        thread); False after `timeout`."""
        if self._thread is None or not self._thread.is_alive():
            self.update_ratings()
            return True
        self._wake.set()
        with self._rated:
            return self._rated.wait_for(lambda: self._rated_votes >= self._tally.votes, timeout)

    def standings(self) -> list[Standing]:
        """The last snapshot: Elo and counts of every vote read so far, ratings of the last fit."""
        with self._lock:
            return self._tally.standings(self._ratings)

    def has_vote(self, battle: str) -> bool:
        """Whether this process already knows of a vote for the battle (no database access)."""
        with self._lock:
            return battle in self._voted

    def remembered(self) -> int:
        """How many voted battle ids are kept in memory."""
        return len(self._voted)

    def _forget(self, cutoff: float) -> None:
        """Drop battle ids voted on before `cutoff`: those battles are past taking votes."""
        order = self._voted_order
        while order and order[0][0] < cutoff:
            self._voted.discard(order.popleft()[1])

    # -- writing ------------------------------------------------------------------------------
    def record(self, vote: Vote) -> Vote:
        """Write the vote unless its battle already has one (BattleAlreadyVoted), then read what is new."""
        check_outcome(vote.outcome)
        if not vote.battle:
            raise InputError("A vote needs the battle it is for.")
        if self.has_vote(vote.battle):
            raise BattleAlreadyVoted()
        written = self.db.add(vote)
        self.refresh()
        self._wake.set()  # refit soon
        if not written:
            raise BattleAlreadyVoted()
        return vote
