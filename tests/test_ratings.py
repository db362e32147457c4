"""Bradley–Terry ratings and their bootstrap intervals, checked against an independent plain MM fit."""

from __future__ import annotations

import math
import random

import pytest

from playground.ratings import Rating, cells_of, fit, ranks, ratings_with_intervals

#: A fixed set of votes: (model A, model B, A's score), ties as ½. Every model has wins and losses.
VOTES = ([("alpha", "beta", 1.0)] * 14 + [("beta", "alpha", 1.0)] * 6 + [("alpha", "beta", 0.5)] * 5
         + [("alpha", "gamma", 1.0)] * 9 + [("gamma", "alpha", 1.0)] * 3 + [("beta", "gamma", 1.0)] * 8
         + [("gamma", "beta", 1.0)] * 7 + [("gamma", "beta", 0.5)] * 4 + [("delta", "alpha", 1.0)] * 2
         + [("alpha", "delta", 1.0)] * 10 + [("delta", "gamma", 0.0)] * 5 + [("gamma", "delta", 0.0)] * 3)


def reference_fit(votes: list[tuple[str, str, float]], prior: float = 0.0, sweeps: int = 100_000) -> dict[str, float]:
    """Hunter's MM iterations, one model at a time in plain Python, from the votes themselves:
    p_i ← (W_i + prior/2) / (Σ_games 1/(p_i + p_opponent) + prior/(p_i + 1)); 400·log10 scale, mean 1000."""
    models = sorted({m for a, b, _ in votes for m in (a, b)})
    strength = dict.fromkeys(models, 1.0)
    for _ in range(sweeps):
        change = 0.0
        for model in models:
            wins = prior / 2 + sum(s if a == model else 1 - s for a, b, s in votes if model in (a, b))
            denominator = prior / (strength[model] + 1) + sum(
                1 / (strength[a] + strength[b]) for a, b, _ in votes if model in (a, b))
            new = wins / denominator
            change = max(change, abs(math.log(new / strength[model])))
            strength[model] = new
        if prior == 0:  # only ratios count: keep the geometric mean at 1
            centre = math.exp(sum(math.log(p) for p in strength.values()) / len(models))
            strength = {m: p / centre for m, p in strength.items()}
        if change < 1e-12:
            break
    logs = {m: 400 * math.log10(p) for m, p in strength.items()}
    mean = sum(logs.values()) / len(logs)
    return {m: 1000 + v - mean for m, v in logs.items()}


@pytest.mark.parametrize(("prior", "rounded"), [
    (0.0, {"alpha": 1140.5, "beta": 1010.5, "gamma": 974.9, "delta": 874.1}),  # the plain MLE
    (1.0, {"alpha": 1136.9, "beta": 1008.3, "gamma": 974.7, "delta": 880.1}),  # the app's weak prior
])
def test_ratings_match_a_reference_bradley_terry_fit(prior, rounded):
    expected = reference_fit(VOTES, prior)
    assert {m: round(v, 1) for m, v in expected.items()} == rounded
    got = fit(cells_of(VOTES), prior=prior)
    assert got.keys() == expected.keys()
    for model in expected:
        assert got[model] == pytest.approx(expected[model], abs=1e-6), model
    assert sum(got.values()) / len(got) == pytest.approx(1000.0)
    assert sorted(got, key=got.get, reverse=True) == list(rounded)


def test_two_models_have_the_closed_form_ratings():
    """A beats B 3 times in 4: odds 3:1, so 400·log10(3) ≈ 190.8 points apart, centred on 1000."""
    got = fit(cells_of([("a", "b", 1.0)] * 3 + [("b", "a", 1.0)]), prior=0.0)
    gap = 400 * math.log10(3)
    assert got["a"] == pytest.approx(1000 + gap / 2, abs=1e-6)
    assert got["b"] == pytest.approx(1000 - gap / 2, abs=1e-6)
    # Two ties are one win each: level.
    assert fit(cells_of([("a", "b", 0.5), ("b", "a", 0.5)]), prior=0.0) == pytest.approx({"a": 1000, "b": 1000})


def test_the_prior_keeps_an_unbeaten_model_finite_and_fades_with_votes():
    one = fit(cells_of([("a", "b", 1.0)]))
    assert 1000 < one["a"] < 1300 and one["b"] == pytest.approx(2000 - one["a"])
    many = VOTES * 20
    plain, weak = fit(cells_of(many), prior=0.0), fit(cells_of(many))
    assert max(abs(plain[m] - weak[m]) for m in plain) < 1.0  # ~1,900 votes: under a point


def test_bootstrap_intervals_hold_the_rating_repeat_with_the_seed_and_narrow_with_votes():
    rated = ratings_with_intervals(cells_of(VOTES), rounds=300, seed=1)
    assert rated == ratings_with_intervals(cells_of(VOTES), rounds=300, seed=1)  # every process agrees
    assert rated != ratings_with_intervals(cells_of(VOTES), rounds=300, seed=2)
    point = fit(cells_of(VOTES))
    for model, rating in rated.items():
        assert rating.rating == pytest.approx(point[model])
        assert rating.lower < rating.rating < rating.upper
    more = ratings_with_intervals(cells_of(VOTES * 16), rounds=300, seed=1)
    for model in rated:  # 16× the votes: intervals about 4× narrower
        ratio = (rated[model].upper - rated[model].lower) / (more[model].upper - more[model].lower)
        assert 2.5 < ratio < 6.5, (model, ratio)


def test_bootstrap_intervals_cover_the_true_ratings():
    rng = random.Random(11)
    true = {"m0": 1150.0, "m1": 1050.0, "m2": 1000.0, "m3": 950.0, "m4": 850.0}
    models = list(true)
    votes = []
    for _ in range(3000):
        a, b = rng.sample(models, 2)
        p_a = 1 / (1 + 10 ** ((true[b] - true[a]) / 400))
        votes.append((a, b, 1.0 if rng.random() < p_a else 0.0))
    rated = ratings_with_intervals(cells_of(votes), rounds=200)
    inside = sum(r.lower <= true[m] <= r.upper for m, r in rated.items())
    assert inside >= 4  # 95% intervals: at most one miss in five is already unlucky
    assert ranks(rated)["m0"] == 1 and ranks(rated)["m4"] == 5


def test_rank_counts_the_models_clearly_ahead():
    ratings = {"a": Rating(1100, 1080, 1120), "b": Rating(1090, 1070, 1110), "c": Rating(1000, 980, 1075)}
    assert ranks(ratings) == {"a": 1, "b": 1, "c": 2}  # b overlaps a; only a is clearly above c
    assert fit({}) == {} and ratings_with_intervals({}) == {}
