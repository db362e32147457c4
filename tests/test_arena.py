"""The arena below the UI: the votes file, the Elo/win-rate leaderboard and picking pairs."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from providers import Capability, InputError, Provider, Registry, Visitor
from tests.support.fake_provider import FakeProvider
from tests.support.servers import ROOT
from ui.arena import (
    INITIAL_ELO,
    Contender,
    Vote,
    VoteStore,
    arena_pool,
    leaderboard,
    leaderboard_rows,
    pick_pair,
    record_vote,
    votes_path,
)

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
        "import sys\nfrom ui.arena import Contender, VoteStore, record_vote\n"
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
    id, label = "auto", "Auto"

    def attach_registry(self, registry):
        pass


def test_pool_has_only_usable_text_models():
    registry = Registry([
        _provider("good"),
        _provider("gone", working=False),
        _provider("unset", is_configured=lambda self: False),
        _provider("private", needs_auth=True),
        _provider("images", capabilities=frozenset({Capability.IMAGE})),
        _Fallback(),
    ])
    assert arena_pool(registry) == [Contender("good", "m1"), Contender("good", "m2")]
    signed_in = Visitor("s1", hf_token="hf_x")
    assert [c.provider for c in arena_pool(registry, signed_in)] == ["good", "good", "private", "private"]


def test_pick_pair_gives_two_different_models():
    pool = arena_pool(Registry([FakeProvider()]))
    rng = random.Random(7)
    pairs = [pick_pair(pool, rng) for _ in range(200)]
    assert all(a.key != b.key and a in pool and b in pool for a, b in pairs)
    assert len({a for a, _ in pairs}) == len(pool)  # every model gets a turn, on either side
    with pytest.raises(InputError, match="at least two"):
        pick_pair([A, A])
