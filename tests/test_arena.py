"""The arena below the UI: the votes file, the Elo/win-rate leaderboard and picking pairs."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import playground.arena
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
    VoteStore,
    arena_pool,
    leaderboard,
    leaderboard_rows,
    pick_pair,
    record_vote,
    votes_path,
)
from playground.limits import VisitorLimitError
from providers import Capability, InputError, Provider, Registry, Visitor
from providers.credentials import HF_TOKEN, HUGGINGCHAT_COOKIE
from tests.support.fake_provider import FakeProvider
from tests.support.servers import ROOT, stop_process

A, B, C = Contender("p", "alpha"), Contender("p", "beta"), Contender("q", "gamma")


def test_store_creates_the_file_on_demand_and_survives_a_restart(tmp_path):
    path = tmp_path / "nested" / "votes.jsonl"
    store = VoteStore(path)
    assert store.read() == [] and not path.exists()
    record_vote(store, A, B, "a")
    record_vote(store, B, C, "tie")
    reopened = VoteStore(path)  # a new app instance reads the same file
    votes = reopened.read()
    assert [(v.a, v.b, v.outcome) for v in votes] == [(A, B, "a"), (B, C, "tie")]
    assert all(v.time > 0 for v in votes)
    lines = path.read_text().splitlines()
    assert json.loads(lines[0]) == {"time": votes[0].time, "a": {"provider": "p", "model": "alpha"},
                                    "b": {"provider": "p", "model": "beta"}, "outcome": "a"}


def test_path_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("ARENA_VOTES_PATH", raising=False)
    assert votes_path() == Path("./data/arena_votes.jsonl")
    monkeypatch.setenv("ARENA_VOTES_PATH", str(tmp_path / "v.jsonl"))
    assert VoteStore().path == tmp_path / "v.jsonl"


def test_unknown_outcome_is_refused(tmp_path):
    with pytest.raises(InputError, match="Unknown vote"):
        VoteStore(tmp_path / "v.jsonl").append(Vote(A, B, "a-ish"))
    assert not (tmp_path / "v.jsonl").exists()


def test_damaged_lines_are_skipped(tmp_path):
    path = tmp_path / "v.jsonl"
    store = VoteStore(path)
    record_vote(store, A, B, "b")
    with path.open("a") as f:
        f.write('{"truncated": \n\n{"a": {"provider": "p", "model": "x"}, "b": {}, "outcome": "a"}\n'
                '{"a": {"provider": "p", "model": "x"}, "b": {"provider": "p", "model": "y"}, "outcome": "win"}\n')
    record_vote(store, A, B, "both_bad")
    assert [v.outcome for v in store.read()] == ["b", "both_bad"]


def test_concurrent_appends_from_threads_and_processes_stay_whole(tmp_path):
    path = tmp_path / "v.jsonl"
    long_model = Contender("p", "m" * 5000)  # lines far longer than a pipe buffer
    writer = (
        "import sys\nfrom playground.arena import Contender, VoteStore, record_vote\n"
        "store = VoteStore(sys.argv[1])\n"
        "for _ in range(40):\n    record_vote(store, Contender('p', 'm' * 5000), Contender('q', 'x'), 'tie')\n"
    )
    processes = [subprocess.Popen([sys.executable, "-c", writer, str(path)], cwd=ROOT) for _ in range(2)]
    store = VoteStore(path)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: record_vote(store, long_model, C, "a"), range(80)))
    for process in processes:
        assert process.wait(timeout=60) == 0
    lines = path.read_text().splitlines()
    assert len(lines) == 160
    assert len(store.read()) == 160  # every line parses: none interleaved


def test_elo_and_win_rate():
    standings = leaderboard([Vote(A, B, "a")])
    assert [(s.contender, round(s.elo), s.wins, s.losses, s.votes) for s in standings] == [
        (A, 1016, 1, 0, 1), (B, 984, 0, 1, 1)]
    # Equal ratings: a tie and "both bad" are draws and move nothing.
    for outcome in ("tie", "both_bad"):
        assert [s.elo for s in leaderboard([Vote(A, B, outcome)])] == [INITIAL_ELO, INITIAL_ELO]
    votes = [Vote(A, B, "a"), Vote(A, C, "a"), Vote(B, C, "b"), Vote(C, A, "tie"), Vote(A, A, "a")]
    table = {s.contender: s for s in leaderboard(votes)}
    assert (table[A].wins, table[A].ties, table[A].votes) == (2, 1, 3)  # the self-battle is ignored
    assert table[A].win_rate == pytest.approx(2 / 3)
    assert (table[C].wins, table[C].losses, table[C].ties) == (1, 1, 1)
    assert table[B].win_rate == 0.0
    ranked = leaderboard(votes)
    assert ranked[0].contender == A and ranked[-1].contender == B
    rows = leaderboard_rows(ranked)
    assert rows[0] == [1, "alpha", "p", round(table[A].elo), "67%", 3, 2, 0, 1]


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


# -- one vote per battle, limits, the incremental leaderboard ------------------------------------
class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _battle(battle_id: str = "b1", a: Contender = A, b: Contender = B, started: float | None = None) -> Battle:
    return Battle(battle_id, a, b, time.time() if started is None else started)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_vote_names_its_battle_and_old_lines_still_read(tmp_path):
    path = tmp_path / "v.jsonl"
    record_vote(VoteStore(path), A, C, "b")  # a line from before battles had ids
    arena = Arena(VoteLedger(path))
    vote = arena.vote(_battle("battle-1"), "a", Visitor("s1"))
    assert vote.battle == "battle-1"
    old, new = _lines(path)
    assert "battle" not in old and new["battle"] == "battle-1"
    assert [(v.a, v.b, v.outcome, v.battle) for v in VoteStore(path).read()] == [
        (A, C, "b", ""), (A, B, "a", "battle-1")]
    assert arena.standings() == leaderboard(VoteStore(path).read())


def test_a_battle_takes_one_vote(tmp_path):
    path = tmp_path / "v.jsonl"
    arena = Arena(VoteLedger(path))
    arena.vote(_battle(), "a", Visitor("s1"))
    for outcome in ("b", "a", "tie"):  # the same visitor changing their mind, or replaying the request
        with pytest.raises(BattleAlreadyVoted, match="This battle already has a vote"):
            arena.vote(_battle(), outcome, Visitor("s1"))
    # Another app instance in this process (its own ledger) is refused too, under the file lock.
    with pytest.raises(BattleAlreadyVoted):
        Arena(VoteLedger(path)).vote(_battle(), "b", Visitor("s2"))
    assert [line["outcome"] for line in _lines(path)] == ["a"]
    assert ALREADY_VOTED.startswith("This battle already has a vote")


def test_40_concurrent_votes_for_one_battle_record_exactly_one(tmp_path):
    path = tmp_path / "v.jsonl"
    ledgers = [VoteLedger(path), VoteLedger(path)]  # two instances: the in-memory check and the file lock
    arenas = [Arena(ledger, votes_per_hour=0) for ledger in ledgers]
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
    lines = _lines(path)
    assert len(lines) == 1 and lines[0]["battle"] == "contested"
    for ledger in ledgers:  # both know the one vote, and count it once
        assert sum(s.votes for s in ledger.standings()) == 2 and ledger.has_vote("contested")


_VOTER = """
import sys, threading
from concurrent.futures import ThreadPoolExecutor
from providers import Visitor
from playground.arena import Arena, Battle, BattleAlreadyVoted, Contender, VoteLedger

path, name = sys.argv[1], sys.argv[2]
arena = Arena(VoteLedger(path), votes_per_hour=0)
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


def test_concurrent_votes_from_two_processes_record_exactly_one(tmp_path):
    path = tmp_path / "v.jsonl"
    record_vote(VoteStore(path), A, C, "tie")  # an earlier vote: each process reads the file first
    started = str(time.time())
    processes = [subprocess.Popen([sys.executable, "-c", _VOTER, str(path), f"p{n}", started], cwd=ROOT,
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
    assert [line.get("battle") for line in _lines(path)] == [None, "contested"]
    # This process learns of the other processes' vote from the file and refuses a third.
    with pytest.raises(BattleAlreadyVoted):
        Arena(VoteLedger(path)).vote(_battle("contested"), "a", Visitor("late"))


_FOREIGN = """
import sys, time
from playground.arena import Contender, Vote, VoteLedger, VoteStore
ledger = VoteLedger(sys.argv[1])
for i in range(int(sys.argv[2])):
    ledger.record(Vote(Contender("q", "gamma"), Contender("p", "alpha"), "ab"[i % 2], time.time(),
                       f"{sys.argv[3]}-{i}"))
VoteStore(sys.argv[1]).append(Vote(Contender("p", "beta"), Contender("q", "gamma"), "a", time.time()))
"""


def test_incremental_leaderboard_equals_a_full_recompute_after_own_and_foreign_appends(tmp_path):
    path = tmp_path / "v.jsonl"
    ledger = VoteLedger(path)
    arena = Arena(ledger, votes_per_hour=0)
    assert ledger.standings() == []  # no file yet
    other = VoteLedger(path)  # another instance, as a second process would have
    rng = random.Random(3)
    models = [A, B, C, Contender("q", "delta")]

    def full() -> list:
        return leaderboard(VoteStore(path).read())

    steps = 30
    for step in range(steps):
        a, b = rng.sample(models, 2)
        outcome = rng.choice(["a", "b", "tie", "both_bad"])
        kind = step % 5
        if kind == 0:
            arena.vote(_battle(f"own-{step}", a, b), outcome, Visitor("s"))
        elif kind == 1:
            other.record(Vote(a, b, outcome, time.time(), f"other-{step}"))
        elif kind == 2:
            record_vote(VoteStore(path), a, b, outcome)  # a writer without battle ids
        elif kind == 3:
            with path.open("a") as f:  # damaged and blank lines, and a duplicate that must not count
                f.write('{"outcome": "a"}\n\n')
                f.write(Vote(b, a, "a", time.time(), f"own-{step - 3}").as_json() + "\n")
        else:
            subprocess.run([sys.executable, "-c", _FOREIGN, str(path), "2", f"sub-{step}"], cwd=ROOT, check=True,
                           timeout=60)
        if step % 7 == 0:
            assert ledger.standings() == full()  # refreshed in the middle, too
    # A writer crashed mid-line: the fragment is skipped, the next vote starts on a line of its own.
    with path.open("a") as f:
        f.write('{"time": 1, "a": {"provider": "p", "mod')
    assert ledger.standings() == full()
    arena.vote(_battle("after-crash"), "b", Visitor("s"))
    other.record(Vote(C, A, "a", time.time(), "other-after-crash"))
    expected = full()
    assert ledger.standings() == expected  # exact: the same floats, votes applied in file order
    assert other.standings() == expected
    assert VoteLedger(path).standings() == expected  # a restart reads the same
    duplicates = len(range(3, steps, 5))  # ignored
    assert sum(s.votes for s in expected) == 2 * (len(VoteStore(path).read()) - duplicates)


def test_the_refresh_after_200k_votes_reads_only_the_new_tail(tmp_path, monkeypatch):
    path = tmp_path / "v.jsonl"
    rng = random.Random(5)
    models = [Contender(f"p{i % 3}", f"model-{i}") for i in range(24)]
    now = time.time()
    pairs = [(a, b) for a in models for b in models if a != b]
    lines = [Vote(*rng.choice(pairs), "ab"[i % 2] if i % 3 else "tie", now - 20_000 + i / 10, f"old-{i}").as_json()
             for i in range(200_000)]
    path.write_text("\n".join(lines) + "\n")
    parsed = []
    real_parse = playground.arena._parse
    monkeypatch.setattr(playground.arena, "_parse", lambda line: parsed.append(1) or real_parse(line))
    ledger = VoteLedger(path)
    arena = Arena(ledger, votes_per_hour=0)

    first = arena.standings()  # the one full read
    assert len(parsed) == 200_000 and ledger.lines_read == 200_000
    assert ledger.remembered() == 200_000  # all voted within the last day
    assert arena.standings() == first and len(parsed) == 200_000  # nothing new: nothing parsed

    record_vote(VoteStore(path), models[0], models[1], "a", battle="foreign-1")  # another process
    arena.vote(_battle("own-1", models[2], models[3]), "b", Visitor("s"))  # reads the tail, then its own line
    second = arena.standings()
    assert len(parsed) == 200_002 and ledger.lines_read == 200_002  # O(new votes), not O(all votes)
    assert sum(s.votes for s in second) == sum(s.votes for s in first) + 4
    assert ledger.has_vote("foreign-1") and ledger.has_vote("own-1")


def test_battles_and_votes_are_limited_per_visitor(tmp_path):
    path = tmp_path / "v.jsonl"
    clock = Clock()
    arena = Arena(VoteLedger(path), battles_per_hour=3, votes_per_hour=2, monotonic=clock)
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
    assert len(_lines(path)) == 2  # the refused vote wrote nothing
    arena.vote(battles[2], "tie", Visitor("session-5", limit_key="ip:198.51.100.7"))  # another visitor votes

    clock.now += 3000
    with pytest.raises(VisitorLimitError, match=r"Try again in 10 min\."):
        arena.start_battle(pool, flooder)
    clock.now += 600  # an hour after the first battles and votes
    arena.vote(arena.start_battle(pool, flooder), "a", flooder)


def test_limits_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ARENA_VOTES_PATH", str(tmp_path / "v.jsonl"))
    monkeypatch.delenv("ARENA_BATTLES_PER_HOUR", raising=False)
    monkeypatch.delenv("ARENA_VOTES_PER_HOUR", raising=False)
    arena = Arena.from_env()
    assert (arena.battles.per_hour, arena.votes.per_hour) == (60, 60)
    assert arena.ledger is VoteLedger.shared(tmp_path / "v.jsonl")  # one ledger per file in a process
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


def test_old_battles_are_refused_and_their_ids_forgotten(tmp_path):
    clock = Clock(time.time())
    ledger = VoteLedger(tmp_path / "v.jsonl", clock=clock)
    arena = Arena(ledger, clock=clock)
    arena.vote(_battle("early", started=clock.now), "a", Visitor("s"))
    assert ledger.remembered() == 1
    stale = _battle("stale", started=clock.now - BATTLE_TTL - 1)
    with pytest.raises(InputError, match="too old"):
        arena.vote(stale, "a", Visitor("s"))
    clock.now += BATTLE_TTL + 3 * 3600  # long after "early" could take another vote
    arena.vote(_battle("later", started=clock.now), "b", Visitor("s"))
    assert ledger.remembered() == 1 and ledger.has_vote("later") and not ledger.has_vote("early")
    assert ledger.standings() == leaderboard(VoteStore(ledger.path).read())


def test_a_replaced_votes_file_is_read_again(tmp_path):
    path = tmp_path / "v.jsonl"
    ledger = VoteLedger(path)
    ledger.record(Vote(A, B, "a", time.time(), "one"))
    assert sum(s.votes for s in ledger.standings()) == 2
    replacement = tmp_path / "new.jsonl"
    replacement.write_text(Vote(B, C, "b", time.time(), "two").as_json() + "\n")
    replacement.replace(path)  # an operator restores or rotates the file
    assert ledger.standings() == leaderboard(VoteStore(path).read())
    assert not ledger.has_vote("one")
    path.unlink()
    assert ledger.standings() == []
