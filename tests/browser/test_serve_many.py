"""deploy/serve_many.sh: two app processes behind HAProxy on one address. 100 concurrent chats through
the load balancer all finish whole, spread over both processes, and votes cast through each process
show in one leaderboard (the processes share the vote database)."""

from __future__ import annotations

import asyncio
import os
from collections import Counter

import pytest
from playwright.sync_api import Page, expect

from playground.votes_db import VoteDatabase
from tests.browser.conftest import APP_ENV
from tests.reliability.light_client import call, chat_data
from tests.support.serve_many import (
    COOKIE,
    affinity_cookie,
    haproxy_missing,
    serve_many,
    visitors_client,
)

CHATS = 100


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('serve-many') / 'arena.db'}"


@pytest.fixture(scope="module")
def balanced(database):
    """Two app processes behind HAProxy, sharing one vote database."""
    reason = haproxy_missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    env = {**APP_ENV, "PLAYGROUND_PROVIDERS": "fake", "ARENA_DATABASE_URL": database,
           "ARENA_REFRESH_SECONDS": "0.5", "GRADIO_DEFAULT_CONCURRENCY_LIMIT": "200"}
    with serve_many(2, env) as (url, _process):
        yield url


async def _chats(url: str) -> tuple[list, Counter]:
    async with visitors_client(CHATS + 10) as client:
        cookies = await asyncio.gather(*(affinity_cookie(client, url) for _ in range(CHATS)))
        results = await asyncio.gather(*(
            call(client, url, "chat", chat_data(f"visitor {i} says hello", "fake", "slow"),
                 headers={"Cookie": f"{COOKIE}={cookie}"}, session_hash=f"visitor-{i}")
            for i, cookie in enumerate(cookies)))
    return results, Counter(cookies)


def test_100_concurrent_chats_through_the_load_balancer_all_finish(balanced):
    results, servers = asyncio.run(_chats(balanced))
    assert set(servers) == {"app1", "app2"} and min(servers.values()) >= 40, servers  # round robin
    lost = [(i, r.error, r.last_value) for i, r in enumerate(results)
            if not (r.completed and r.final == f"Echo: visitor {i} says hello")]
    assert not lost, lost[:5]
    assert all(len(r.updates) >= 3 for r in results)  # streamed word by word, not in one piece


def _vote_in_a_new_visitor(browser, url: str, seen: set[str]) -> tuple[str, Page]:
    """A new browser visitor on a process not yet used: battle, vote A; returns its process and page."""
    for _ in range(6):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=url)
        page = context.new_page()
        page.goto("/")
        expect(page.get_by_role("tab", name="Compare", exact=True)).to_be_visible(timeout=60_000)
        server = next(c["value"] for c in context.cookies() if c["name"] == COOKIE)
        if server not in seen:
            break
        context.close()
    else:
        raise AssertionError(f"the load balancer kept sending new visitors to {seen}")
    page.get_by_role("tab", name="Compare", exact=True).click()
    page.get_by_role("tab", name="Blind arena", exact=True).click()
    page.locator("#arena-prompt textarea").fill(f"hello from {server}")
    page.locator("#arena-send").click()
    vote_a = page.locator("#arena-vote-a")
    expect(vote_a).to_be_enabled(timeout=60_000)
    vote_a.click()
    expect(page.locator("#arena-reveal")).to_contain_text("Your vote: A is better", timeout=30_000)
    return server, page


def _votes_shown(page: Page) -> int:
    """Votes in the leaderboard table: each vote counts once for each of its two models."""
    rows = page.locator("#arena-leaderboard").get_by_role("row").filter(has_text="Fake Provider").all_inner_texts()
    return sum(int(row.split()[-4]) for row in rows) // 2  # … Votes, Wins, Losses, Ties


def test_votes_through_both_processes_show_in_one_leaderboard(browser, balanced, database):
    seen: dict[str, Page] = {}
    for _ in range(2):
        server, page = _vote_in_a_new_visitor(browser, balanced, set(seen))
        seen[server] = page
    assert set(seen) == {"app1", "app2"}
    db = VoteDatabase(database)
    try:
        assert db.count() == 2
    finally:
        db.close()
    for server, page in seen.items():  # each process's leaderboard counts the other's vote too
        refresh = page.locator("#arena-refresh")
        for _ in range(100):
            if _votes_shown(page) == 2:
                break
            refresh.click()
            page.wait_for_timeout(300)
        assert _votes_shown(page) == 2, server
        expect(page.locator("#arena-ratings-plot svg circle").first).to_be_visible()
        page.context.close()
