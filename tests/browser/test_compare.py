"""The Compare tab in a real browser: a side-by-side run with a follow-up and Stop, a blind vote that
survives an app restart, and the per-visitor battle limit."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from playground.votes_db import VoteDatabase
from tests.browser.conftest import APP_ENV
from tests.browser.helpers import open_app, shot
from tests.support.servers import app_subprocess


@pytest.fixture(scope="module")
def votes_db(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('arena') / 'arena.db'}"


@pytest.fixture(scope="module")
def app_url(browser, votes_db):
    """This module's own app, voting into a temporary database (overrides the shared fixture),
    with one arena battle an hour per visitor."""
    env = {**APP_ENV, "ARENA_DATABASE_URL": votes_db, "ARENA_BATTLES_PER_HOUR": "1"}
    with app_subprocess(env=env, offline=True) as (url, _):
        yield url


def open_compare(page: Page, sub_tab: str, panel_id: str):
    page.get_by_role("tab", name="Compare", exact=True).click()
    page.get_by_role("tab", name=sub_tab, exact=True).click()
    panel = page.locator(f"#{panel_id}")
    expect(panel).to_be_visible()
    return panel


def column_bot(page: Page, n: int):
    return page.locator(f"#compare-chat-{n}").get_by_test_id("bot")


def _settled(page: Page, locator, quiet_ms: int = 1000, timeout_ms: int = 8000) -> str:
    """The locator's text once it has not changed for `quiet_ms` (fails after `timeout_ms`)."""
    text, waited, still = locator.inner_text(), 0, 0
    while still < quiet_ms:
        assert waited < timeout_ms, f"still changing after {timeout_ms} ms: {text[-40:]!r}"
        page.wait_for_timeout(200)
        waited += 200
        current = locator.inner_text()
        still = still + 200 if current == text else 0
        text = current
    return text


def test_side_by_side_run_follow_up_and_stop(page, screenshots):
    open_app(page)
    panel = open_compare(page, "Side by side", "compare-side")
    expect(page.locator("#compare-col-3")).to_be_hidden()
    panel.locator("#compare-count").get_by_text("3", exact=True).click()
    expect(page.locator("#compare-col-3")).to_be_visible()
    # The columns start on different models: echo, slow, count.
    prompt = page.locator("#compare-prompt textarea")
    prompt.fill("hello there")
    page.locator("#compare-send").click()
    expect(column_bot(page, 1).first).to_contain_text("Echo: hello there", timeout=20_000)  # first run: slow start
    expect(column_bot(page, 2).first).to_contain_text("Echo: hello there", timeout=20_000)
    expect(column_bot(page, 3).first).to_contain_text("w0 w1 w2")
    for n in (1, 2, 3):
        expect(page.locator(f"#compare-stats-{n}")).to_contain_text(re.compile(r"s to first token · [\d.]+ s total"))
    expect(page.locator("#compare-stop")).to_be_hidden()
    expect(prompt).to_have_value("")

    prompt.fill("turns?")  # each column sends its own history: 2 earlier messages + this one
    prompt.press("Enter")
    for n in (1, 2, 3):
        expect(page.locator(f"#compare-chat-{n}").get_by_test_id("bot").filter(has_text="3 turns")).to_have_count(1)
    expect(page.locator("#compare-chat-4")).to_be_hidden()
    shot(page, screenshots, "compare-side-by-side")

    prompt.fill("count 400")  # the slow column needs 20 s for this; Stop ends every column at once
    page.locator("#compare-send").click()
    expect(column_bot(page, 2).last).to_contain_text("w5")
    page.locator("#compare-stop").click()
    expect(page.locator("#compare-send")).to_be_visible()
    stopped = _settled(page, column_bot(page, 2).last)  # a frame already on its way may still land
    assert "w399" not in stopped

    prompt.fill("gather 99")  # every column waits (up to 5 s) for turns that never come: no first token yet
    page.locator("#compare-send").click()
    waiting = page.locator("#compare-col-1").get_by_text("Waiting for the first token…")
    expect(waiting).to_be_visible()
    page.locator("#compare-stop").click()
    for n in (1, 2, 3):  # no column keeps spinning after Stop
        expect(page.locator(f"#compare-chat-{n}").get_by_text("Stopped", exact=True)).to_be_visible()
    expect(page.locator("#compare-side").get_by_text("Waiting for the first token…")).to_have_count(0)


def test_blind_vote_reveals_names_and_persists_across_a_restart(page, browser, votes_db, screenshots):
    open_app(page)
    panel = open_compare(page, "Blind arena", "compare-arena")
    vote_a = page.locator("#arena-vote-a")
    expect(vote_a).to_be_disabled()
    page.locator("#arena-prompt textarea").fill("hello arena")
    page.locator("#arena-send").click()
    expect(vote_a).to_be_enabled(timeout=20_000)
    for side in ("a", "b"):
        expect(page.locator(f"#arena-{side}").get_by_test_id("bot").first).to_be_visible()
    expect(panel.get_by_text("Model A", exact=True).first).to_be_visible()
    anonymous = page.locator("#arena-a").inner_text() + page.locator("#arena-b").inner_text()
    assert "Fake Provider" not in anonymous  # no caption or provider name before the vote
    expect(page.locator("#arena-reveal")).not_to_contain_text("Model A was")

    vote_a.click()
    reveal = page.locator("#arena-reveal")
    expect(reveal).to_contain_text("Model A was Fake Provider")
    expect(reveal).to_contain_text("Your vote: A is better")
    expect(vote_a).to_be_disabled()
    winner, loser = re.search(r"Model A was Fake Provider · (\S+?); Model B was Fake Provider · (\S+?)\.",
                              reveal.inner_text()).groups()
    board = page.locator("#arena-leaderboard")
    expect(board).to_contain_text(winner)
    expect(board).to_contain_text(loser)
    shot(page, screenshots, "compare-arena-vote")
    db = VoteDatabase(votes_db)
    votes = [vote for _, vote in db.votes_after(0)]
    db.close()
    assert len(votes) == 1 and votes[0].battle  # the vote names its battle

    # The next prompt would start a second battle: over this app's limit of one an hour, refused at once.
    page.locator("#arena-prompt textarea").fill("another battle")
    page.locator("#arena-send").click()
    toast = page.get_by_test_id("toast-body").filter(has_text="Too many battles")
    expect(toast).to_contain_text("Too many battles: 1 an hour at most. Try again in 60 min.", timeout=20_000)
    expect(page.locator("#arena-send")).to_be_visible()
    expect(reveal).to_contain_text("Model A was Fake Provider")  # the finished battle stays as it was

    # A new app process reads the same database: the leaderboard still counts the vote.
    with app_subprocess(env={**APP_ENV, "ARENA_DATABASE_URL": votes_db}, offline=True) as (url, _):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=url)
        try:
            fresh = context.new_page()
            open_app(fresh)
            open_compare(fresh, "Blind arena", "compare-arena")
            board = fresh.locator("#arena-leaderboard")
            # Rank, model, provider, rating, 95% CI, Elo, win rate, votes, wins, losses, ties: the winner first.
            expect(board.get_by_role("row", name=f"1 {winner} Fake Provider 1131 +0 / −0 1016 100% 1 1 0 0",
                                     exact=True)).to_have_count(1)
            expect(board.get_by_role("row", name=f"2 {loser} Fake Provider 869 +0 / −0 984 0% 1 0 1 0",
                                     exact=True)).to_have_count(1)
            expect(fresh.locator("#arena-ratings-plot svg circle")).to_have_count(2)
        finally:
            context.close()


def test_columns_finishing_together_always_show_their_final_text(page):
    """20 runs whose two columns answer at the same moment (the fake's "gather 2" releases both at
    once): every run ends with both final answers shown, no spinner, and Send back."""
    open_app(page)
    open_compare(page, "Side by side", "compare-side")
    prompt = page.locator("#compare-prompt textarea")
    for run in range(1, 21):
        prompt.fill("gather 2")
        prompt.press("Enter")
        for n in (1, 2):
            expect(column_bot(page, n).filter(has_text="gathered 2")).to_have_count(run, timeout=20_000)
        expect(page.locator("#compare-send")).to_be_visible()
        expect(page.locator("#compare-stop")).to_be_hidden()
        expect(page.locator("#compare-side").get_by_text("Waiting for the first token…")).to_have_count(0)
        expect(page.locator("#compare-side .pending")).to_have_count(0)
        for n in (1, 2):
            expect(page.locator(f"#compare-stats-{n}")).to_contain_text("s total")
