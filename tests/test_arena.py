"""The arena below the UI: votes in a database (SQLite and a real PostgreSQL server), the imported
JSON-lines file of earlier versions, the leaderboard kept in memory, limits and picking pairs."""

from __future__ import annotations

import itertools
import os
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from playground.arena import (
    ALREADY_VOTED,
    BATTLE_TTL,
    INITIAL_ELO,
    Arena,
    Battle,
    BattleAlreadyVoted,
    Contender,
    HourlyLimit,
    Vote,
    VoteLedger,
    arena_pool,
    database_url,
    leaderboard,
    leaderboard_rows,
    pick_pair,
    read_votes_file,
    votes_path,
)
from playground.limits import VisitorLimitError
from playground.votes_db import SCHEMA_VERSION, VoteDatabase, default_database_url, normalise_url
from providers import Capability, InputError, Provider, Registry, Visitor
from providers.credentials import HF_TOKEN, HUGGINGCHAT_COOKIE
from tests.support.clock import Clock
from tests.support.fake_provider import FakeProvider
from tests.support.postgres import find_binaries, fresh_database, postgres_server
from tests.support.servers import ROOT, stop_process

A, B, C = Contender("p", "alpha"), Contender("p", "beta"), Contender("q", "gamma")
_NAMES = itertools.count()


# -- databases ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def postgres():
    """A real PostgreSQL server for this module (skipped where its binaries are missing, except in CI)."""
    binaries = find_binaries()
    if binaries is None:
        reason = ("PostgreSQL's binaries (initdb, pg_ctl, postgres) were not found on PATH, in /usr/local/bin "
                  "or /usr/lib/postgresql/*/bin: apt-get install -y postgresql")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with postgres_server(binaries) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """An empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'arena.db'}"
    return fresh_database(request.getfixturevalue("postgres"), f"arena_{os.getpid()}_{next(_NAMES)}")


@pytest.fixture
def ledgers():
    """Makes ledgers on a database URL and closes them (and their connections) after the test."""
    made: list[VoteLedger] = []

    def make(url: str, **options) -> VoteLedger:
        made.append(VoteLedger(VoteDatabase(url), **options))
        return made[-1]

    yield make
    for ledger in made:
        ledger.close()


def _all_votes(url: str) -> list[Vote]:
    db = VoteDatabase(url)
    try:
        return [vote for _, vote in db.votes_after(0)]
    finally:
        db.close()


def _settled(ledger: VoteLedger) -> list:
    ledger.sync()
    return ledger.standings()


def _battle(battle_id: str = "b1", a: Contender = A, b: Contender = B, started: float | None = None) -> Battle:
    return Battle(battle_id, a, b, time.time() if started is None else started)


def test_the_database_is_sqlite_under_persistent_storage_else_data(monkeypatch, tmp_path):
    space_storage = tmp_path / "data"
    assert default_database_url(space_storage) == f"sqlite:///{Path('data').absolute() / 'arena.db'}"  # none
    space_storage.mkdir()
    assert default_database_url(space_storage) == f"sqlite:///{space_storage / 'arena.db'}"
    monkeypatch.delenv("ARENA_DATABASE_URL", raising=False)
    assert database_url() == default_database_url()
    monkeypatch.setenv("ARENA_DATABASE_URL", "postgresql://u:secret@db.example:5432/arena")
    assert database_url() == "postgresql://u:secret@db.example:5432/arena"
    assert normalise_url(database_url()) == "postgresql+psycopg://u:secret@db.example:5432/arena"
    assert normalise_url("postgres://h/db") == "postgresql+psycopg://h/db"
    monkeypatch.delenv("ARENA_VOTES_PATH", raising=False)
    assert votes_path() == Path("./data/arena_votes.jsonl")


def _legacy_file(path: Path) -> list[str]:
    """A votes file as earlier versions wrote it: old lines without battles, a duplicate battle,
    damaged and blank lines and a line cut short by a crash."""
    lines = [Vote(A, C, "b", 1.0).as_json(), Vote(A, B, "a", 2.0, "one").as_json(), '{"truncated": ', "",
             '{"a": {"provider": "p", "model": "x"}, "b": {}, "outcome": "a"}',
             Vote(B, C, "tie", 3.0, "two").as_json(), Vote(B, A, "a", 4.0, "one").as_json(),  # "one" again
             Vote(C, B, "both_bad", 5.0).as_json(), '{"time": 1, "a": {"provider": "p", "mod']
    path.write_text("\n".join(lines))
    return lines


def test_the_votes_file_of_earlier_versions_is_imported_once(db_url, tmp_path, ledgers):
    path = tmp_path / "arena_votes.jsonl"
    _legacy_file(path)
    read = read_votes_file(path)
    assert [(v.outcome, v.battle) for v in read] == [("b", ""), ("a", "one"), ("tie", "two"), ("a", "one"),
                                                    ("both_bad", "")]
    VoteDatabase(db_url, votes_file=path).close()
    imported = _all_votes(db_url)
    assert imported == [read[0], read[1], read[2], read[4]]  # in file order; a battle's first vote stands
    assert _settled(ledgers(db_url)) == leaderboard(read)
    with path.open("a") as f:
        f.write("\n" + Vote(A, B, "a", 6.0, "three").as_json() + "\n")
    VoteDatabase(db_url, votes_file=path).close()  # a restart: already imported
    assert _all_votes(db_url) == imported


_STARTER = """
import sys
from playground.votes_db import VoteDatabase
VoteDatabase(sys.argv[1], votes_file=sys.argv[2]).close()
"""


def test_the_schema_is_created_and_upgraded_on_start_once_by_concurrent_processes(db_url, tmp_path):
    old = VoteDatabase(db_url, migrate=False)
    assert old.migrate(target=1) == 0 and old.schema_version() == 1  # the first version: votes only
    assert old.add(Vote(A, B, "a", time.time(), "before-upgrade"))
    old.close()
    path = tmp_path / "arena_votes.jsonl"
    path.write_text("\n".join(Vote(B, C, "ab"[i % 2], float(i), f"file-{i}").as_json() for i in range(50)) + "\n")
    starters = [subprocess.Popen([sys.executable, "-c", _STARTER, db_url, str(path)], cwd=ROOT,
                                 stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for starter in starters:
        _, errors = starter.communicate(timeout=120)
        assert starter.returncode == 0, errors
    db = VoteDatabase(db_url)
    try:
        assert db.schema_version() == SCHEMA_VERSION == 2
        assert db.count() == 51  # the vote from before the upgrade, and the file imported once
        assert db.migrate() == SCHEMA_VERSION  # nothing left to do
    finally:
        db.close()


# -- the leaderboard -----------------------------------------------------------------------------
def test_elo_and_win_rate():
    standings = leaderboard([Vote(A, B, "a")])
    assert [(s.contender, round(s.elo), s.wins, s.losses, s.votes) for s in standings] == [
        (A, 1016, 1, 0, 1), (B, 984, 0, 1, 1)]
    # Equal ratings: a tie and "both bad" are draws and move nothing.
    for outcome in ("tie", "both_bad"):
        assert [s.elo for s in leaderboard([Vote(A, B, outcome)])] == [INITIAL_ELO, INITIAL_ELO]
        assert [round(s.rating, 6) for s in leaderboard([Vote(A, B, outcome)])] == [1000.0, 1000.0]
    votes = [Vote(A, B, "a"), Vote(A, C, "a"), Vote(B, C, "b"), Vote(C, A, "tie"), Vote(A, A, "a")]
    table = {s.contender: s for s in leaderboard(votes)}
    assert (table[A].wins, table[A].ties, table[A].votes) == (2, 1, 3)  # the self-battle is ignored
    assert table[A].win_rate == pytest.approx(2 / 3)
    assert (table[C].wins, table[C].losses, table[C].ties) == (1, 1, 1)
    assert table[B].win_rate == 0.0
    ranked = leaderboard(votes)
    assert [s.contender for s in ranked] == [A, C, B]  # by Bradley–Terry rating
    assert all(s.lower <= s.rating <= s.upper for s in ranked)
    rows = leaderboard_rows(ranked)
    a = table[A]
    interval = f"+{round(a.upper - a.rating)} / −{round(a.rating - a.lower)}"
    assert rows[0] == [a.rank, "alpha", "p", round(a.rating), interval, round(a.elo), "67%", 3, 2, 0, 1]


def test_rows_use_provider_labels():
    rows = leaderboard_rows(leaderboard([Vote(Contender("fake", "echo"), Contender("gone", "x"), "b")]),
                            Registry([FakeProvider()]))
    assert [(r[1], r[2]) for r in rows] == [("x", "gone"), ("echo", "Fake Provider")]


class _Text(Provider):
    capabilities = frozenset({Capability.TEXT})
    models = {Capability.TEXT: ["m1", "m2"]}


def _provider(pid: str, **attrs) -> Provider:
    return type(pid.title(), (_Text,), {"id": pid, "label": pid.title(), **attrs})()


class _Fallback(_Text):
    id, label, delegating = "auto", "Auto", True


def test_pool_has_only_usable_text_models(monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    registry = Registry([
        _provider("good"),
        _provider("gone", working=False),
        _provider("unset", is_configured=lambda self: False),
        _provider("private", credential=HF_TOKEN),
        _provider("cookie", credential=HUGGINGCHAT_COOKIE),  # a Hugging Face token is no HuggingChat sign-in
        _provider("images", capabilities=frozenset({Capability.IMAGE})),
        _Fallback(),
    ])
    assert arena_pool(registry) == [Contender("good", "m1"), Contender("good", "m2")]
    signed_in = Visitor("s1", hf_token="hf_x")  # ready for "private" only
    assert [c.provider for c in arena_pool(registry, signed_in)] == ["good", "good", "private", "private"]


def test_pick_pair_gives_two_different_models():
    pool = arena_pool(Registry([FakeProvider()]))
    rng = random.Random(7)
    pairs = [pick_pair(pool, rng) for _ in range(200)]
    assert all(a.key != b.key and a in pool and b in pool for a, b in pairs)
    assert len({a for a, _ in pairs}) == len(pool)  # every model gets a turn, on either side
    with pytest.raises(InputError, match="at least two"):
        pick_pair([A, A])


# -- one vote per battle, the incremental leaderboard ------------------------------------------------
def test_a_battle_takes_one_vote(db_url, ledgers):
    arena = Arena(ledgers(db_url))
    arena.vote(_battle(), "a", Visitor("s1"))
    for outcome in ("b", "a", "tie"):  # the same visitor changing their mind, or replaying the request
        with pytest.raises(BattleAlreadyVoted, match="This battle already has a vote"):
            arena.vote(_battle(), outcome, Visitor("s1"))
    # Another app instance (its own ledger, knowing nothing yet) is refused by the database.
    with pytest.raises(BattleAlreadyVoted):
        Arena(ledgers(db_url)).vote(_battle(), "b", Visitor("s2"))
    assert [(v.outcome, v.battle) for v in _all_votes(db_url)] == [("a", "b1")]
    assert ALREADY_VOTED.startswith("This battle already has a vote")


def test_40_concurrent_votes_for_one_battle_record_exactly_one(db_url, ledgers):
    pair = [ledgers(db_url), ledgers(db_url)]  # two instances: the in-memory check and the database
    arenas = [Arena(ledger, votes_per_hour=0) for ledger in pair]
    barrier = threading.Barrier(40)
    outcomes = ["a", "b", "tie", "both_bad"]

    def vote(i: int) -> str:
        barrier.wait()
        try:
            arenas[i % 2].vote(_battle("contested"), outcomes[i % 4], Visitor(f"s{i}"))
            return "recorded"
        except BattleAlreadyVoted as exc:
            assert str(exc) == ALREADY_VOTED
            return "refused"

    with ThreadPoolExecutor(40) as pool:
        results = list(pool.map(vote, range(40)))
    assert results.count("recorded") == 1 and results.count("refused") == 39
    assert [v.battle for v in _all_votes(db_url)] == ["contested"]
    for ledger in pair:  # both know the one vote, and count it once
        assert sum(s.votes for s in _settled(ledger)) == 2 and ledger.has_vote("contested")


_VOTER = """
import sys, threading
from concurrent.futures import ThreadPoolExecutor
from providers import Visitor
from playground.arena import Arena, Battle, BattleAlreadyVoted, Contender, VoteLedger
from playground.votes_db import VoteDatabase

url, name = sys.argv[1], sys.argv[2]
arena = Arena(VoteLedger(VoteDatabase(url)), votes_per_hour=0)
arena.ledger.refresh()
battle = Battle("contested", Contender("p", "alpha"), Contender("p", "beta"), float(sys.argv[3]))
barrier = threading.Barrier(20)

def vote(i):
    barrier.wait()
    try:
        arena.vote(battle, "ab"[i % 2], Visitor(f"{name}-{i}"))
        return 1
    except BattleAlreadyVoted:
        return 0

print("ready", flush=True)
sys.stdin.readline()  # go
with ThreadPoolExecutor(20) as pool:
    print("recorded", sum(pool.map(vote, range(20))), flush=True)
"""


def test_concurrent_votes_from_two_processes_record_exactly_one(db_url, ledgers):
    first = ledgers(db_url)
    first.record(Vote(A, C, "tie", time.time(), "earlier"))
    started = str(time.time())
    processes = [subprocess.Popen([sys.executable, "-c", _VOTER, db_url, f"p{n}", started], cwd=ROOT,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for n in range(2)]
    try:
        for process in processes:
            assert process.stdout.readline().strip() == "ready"
        for process in processes:  # both released together, 20 threads each
            process.stdin.write("go\n")
            process.stdin.flush()
        recorded = [int(process.stdout.readline().split()[1]) for process in processes]
        for process in processes:
            assert process.wait(timeout=60) == 0
    finally:
        for process in processes:
            if process.poll() is None:
                stop_process(process)
    assert sum(recorded) == 1
    assert [v.battle for v in _all_votes(db_url)] == ["earlier", "contested"]
    # This process learns of the other processes' vote from the database and refuses a third.
    with pytest.raises(BattleAlreadyVoted):
        Arena(first).vote(_battle("contested"), "a", Visitor("late"))
    assert sum(s.votes for s in _settled(first)) == 4


_FOREIGN = """
import sys, time
from playground.arena import Contender, Vote, VoteLedger
from playground.votes_db import VoteDatabase
ledger = VoteLedger(VoteDatabase(sys.argv[1]))
for i in range(int(sys.argv[2])):
    ledger.record(Vote(Contender("q", "gamma"), Contender("p", "alpha"), "ab"[i % 2], time.time(),
                       f"{sys.argv[3]}-{i}"))
"""


def test_incremental_leaderboard_equals_a_full_recompute_after_own_and_foreign_votes(db_url, ledgers):
    ledger = ledgers(db_url)
    arena = Arena(ledger, votes_per_hour=0)
    assert _settled(ledger) == []
    other = ledgers(db_url)  # another instance, as a second process would have
    rng = random.Random(3)
    models = [A, B, C, Contender("q", "delta")]
    for step in range(24):
        a, b = rng.sample(models, 2)
        outcome = rng.choice(["a", "b", "tie", "both_bad"])
        kind = step % 4
        if kind == 0:
            arena.vote(_battle(f"own-{step}", a, b), outcome, Visitor("s"))
        elif kind == 1:
            other.record(Vote(a, b, outcome, time.time(), f"other-{step}"))
        elif kind == 2:
            with pytest.raises(BattleAlreadyVoted):  # a duplicate that must not count
                other.record(Vote(b, a, "a", time.time(), f"own-{step - 2}"))
        else:
            subprocess.run([sys.executable, "-c", _FOREIGN, db_url, "2", f"sub-{step}"], cwd=ROOT, check=True,
                           timeout=60)
        if step % 7 == 0:
            assert _settled(ledger) == leaderboard(_all_votes(db_url))  # refreshed in the middle, too
    expected = leaderboard(_all_votes(db_url))
    assert _settled(ledger) == expected  # exact: the same floats, votes applied in id order
    assert _settled(other) == expected
    assert _settled(ledgers(db_url)) == expected  # a restart reads the same
    assert sum(s.votes for s in expected) == 2 * (6 + 6 + 6 * 2)
    assert all(s.rating is not None and s.lower <= s.rating <= s.upper for s in expected)


def test_the_background_reader_shows_other_processes_votes_without_page_loads_reading(db_url, ledgers):
    watcher = ledgers(db_url, refresh_seconds=0.1)
    watcher.start()
    writer = ledgers(db_url)
    for i in range(5):
        writer.record(Vote(A, B, "a" if i < 4 else "b", time.time(), f"w-{i}"))
    expected = leaderboard(_all_votes(db_url))
    deadline = time.monotonic() + 30
    while watcher.standings() != expected:
        assert time.monotonic() < deadline, watcher.standings()
        time.sleep(0.05)
    reads = watcher.rows_read
    for _ in range(100):  # page loads read the snapshot: no rows read again
        assert watcher.standings() == expected
    time.sleep(0.5)  # five more background polls with nothing new
    assert watcher.rows_read == reads == 5


def test_the_refresh_after_100k_votes_reads_only_the_new_rows(tmp_path, ledgers):
    path = tmp_path / "arena_votes.jsonl"
    rng = random.Random(5)
    models = [Contender(f"p{i % 3}", f"model-{i}") for i in range(24)]
    now = time.time()
    pairs = [(a, b) for a in models for b in models if a != b]
    path.write_text("\n".join(Vote(*rng.choice(pairs), "ab"[i % 2] if i % 3 else "tie", now - 20_000 + i / 10,
                                   f"old-{i}").as_json() for i in range(100_000)) + "\n")
    url = f"sqlite:///{tmp_path / 'arena.db'}"
    VoteDatabase(url, votes_file=path).close()
    ledger = ledgers(url)
    arena = Arena(ledger, votes_per_hour=0)
    started = time.perf_counter()
    first = _settled(ledger)  # the one full read, and a fit with its bootstrap
    assert ledger.rows_read == 100_000 and ledger.remembered() == 100_000
    assert time.perf_counter() - started < 60
    assert _settled(ledger) == first and ledger.rows_read == 100_000  # nothing new: nothing read
    ledgers(url).record(Vote(models[0], models[1], "a", time.time(), "foreign-1"))  # another process
    arena.vote(_battle("own-1", models[2], models[3]), "b", Visitor("s"))  # reads the new rows, its own too
    second = _settled(ledger)
    assert ledger.rows_read == 100_002  # O(new votes), not O(all votes)
    assert sum(s.votes for s in second) == sum(s.votes for s in first) + 4
    assert ledger.has_vote("foreign-1") and ledger.has_vote("own-1")


# -- limits --------------------------------------------------------------------------------------
def test_battles_and_votes_are_limited_per_visitor(tmp_path, ledgers):
    url = f"sqlite:///{tmp_path / 'arena.db'}"
    clock = Clock()
    arena = Arena(ledgers(url), battles_per_hour=3, votes_per_hour=2, monotonic=clock)
    pool = [A, B, C]
    flooder = Visitor("session-1", limit_key="ip:203.0.113.9")
    same_address = Visitor("session-2", limit_key="ip:203.0.113.9")  # a new tab does not reset the count
    battles = [arena.start_battle(pool, flooder) for _ in range(3)]
    assert len({b.id for b in battles}) == 3 and all(b.a != b.b for b in battles)
    started = time.perf_counter()
    with pytest.raises(VisitorLimitError, match=r"Too many battles: 3 an hour at most\. Try again in 60 min\."):
        arena.start_battle(pool, same_address)
    assert time.perf_counter() - started < 1  # refused at once, never queued
    arena.start_battle(pool, Visitor("session-3", limit_key="ip:198.51.100.7"))  # another visitor is not affected
    arena.start_battle(pool, Visitor("session-4"))  # no limit key: the session counts

    arena.vote(battles[0], "a", flooder)
    with pytest.raises(BattleAlreadyVoted):
        arena.vote(battles[0], "b", flooder)  # a refused duplicate uses none of the allowance
    arena.vote(battles[1], "b", flooder)
    with pytest.raises(VisitorLimitError, match=r"Too many votes: 2 an hour at most\. Try again in 60 min\.") as info:
        arena.vote(battles[2], "tie", same_address)
    assert info.value.retry_after == 3600
    assert len(_all_votes(url)) == 2  # the refused vote wrote nothing
    arena.vote(battles[2], "tie", Visitor("session-5", limit_key="ip:198.51.100.7"))  # another visitor votes

    clock.now += 3000
    with pytest.raises(VisitorLimitError, match=r"Try again in 10 min\."):
        arena.start_battle(pool, flooder)
    clock.now += 600  # an hour after the first battles and votes
    arena.vote(arena.start_battle(pool, flooder), "a", flooder)


def test_limits_from_the_environment(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'arena.db'}"
    monkeypatch.setenv("ARENA_DATABASE_URL", url)
    monkeypatch.delenv("ARENA_BATTLES_PER_HOUR", raising=False)
    monkeypatch.delenv("ARENA_VOTES_PER_HOUR", raising=False)
    arena = Arena.from_env()
    assert (arena.battles.per_hour, arena.votes.per_hour) == (60, 60)
    assert not (tmp_path / "arena.db").exists()  # building the app opens no database: first use does
    assert arena.ledger is VoteLedger.shared(url)  # one ledger per database in a process
    assert (tmp_path / "arena.db").exists()
    monkeypatch.setenv("ARENA_BATTLES_PER_HOUR", "0")
    monkeypatch.setenv("ARENA_VOTES_PER_HOUR", "5")
    arena = Arena.from_env()
    assert (arena.battles.per_hour, arena.votes.per_hour) == (0, 5)
    for _ in range(100):  # 0 = unlimited
        arena.start_battle([A, B], Visitor("s"))


def test_limit_bookkeeping_is_bounded():
    clock = Clock()
    limit = HourlyLimit(60, "votes", clock=clock)
    for i in range(1000):
        limit.take(f"ip:{i}")
    for _ in range(60):
        limit.take("busy")
    with pytest.raises(VisitorLimitError):
        limit.take("busy")
    assert len(limit) == 1001 and len(limit._times["busy"]) == 60  # never more than the limit per visitor
    clock.now += 3601
    for i in range(256):  # a periodic sweep forgets visitors with nothing in the last hour
        limit.take(f"new-{i}")
    assert len(limit) <= 256


def test_old_battles_are_refused_and_their_ids_forgotten(tmp_path, ledgers):
    clock = Clock(time.time())
    url = f"sqlite:///{tmp_path / 'arena.db'}"
    ledger = ledgers(url, clock=clock)
    arena = Arena(ledger, clock=clock)
    arena.vote(_battle("early", started=clock.now), "a", Visitor("s"))
    assert ledger.remembered() == 1
    stale = _battle("stale", started=clock.now - BATTLE_TTL - 1)
    with pytest.raises(InputError, match="too old"):
        arena.vote(stale, "a", Visitor("s"))
    clock.now += BATTLE_TTL + 3 * 3600  # long after "early" could take another vote
    arena.vote(_battle("later", started=clock.now), "b", Visitor("s"))
    assert ledger.remembered() == 1 and ledger.has_vote("later") and not ledger.has_vote("early")
    assert _settled(ledger) == leaderboard(_all_votes(url))
    with pytest.raises(BattleAlreadyVoted):  # forgotten here, still refused by the database
        ledger.record(Vote(A, B, "b", clock.now, "early"))
