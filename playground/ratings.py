"""Bradley–Terry ratings with bootstrap confidence intervals, as LMArena computes its leaderboard.

Each model i has a strength p_i; it beats j with probability p_i / (p_i + p_j). A tie (or "both bad")
counts half a win to each side, as LMArena counts a tie as one win each at half weight. Strengths are
fitted by maximum likelihood (Newton's method, all bootstrap rounds at once), then shown on the Elo-like scale
`1000 + 400·log10(p_i)`, centred so the models' mean rating is 1000: 400 points apart means 10:1 odds.

The MLE does not exist while a model has only wins or only losses (its rating runs to ±∞), which a
young arena always has. `prior` adds that many virtual games, drawn, between each model and a
fixed 1000-rated reference, which keeps every rating finite; with hundreds of votes per model it
moves ratings by about a point. `prior=0` is the plain MLE.

The 95% interval of each rating is the 2.5th-97.5th percentile over `rounds` bootstrap fits, each on
as many votes as there are, drawn with replacement (LMArena's procedure). Votes are held as counts
per (A, B, score) cell, so a fit costs O(models²) per iteration however many votes there are.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

SCALE = 400.0 / math.log(10.0)
ANCHOR = 1000.0
DEFAULT_PRIOR = 1.0
DEFAULT_ROUNDS = 200
_TOLERANCE = 1e-10
_MAX_ITERATIONS = 200
_MAX_STEP = 4.0
#: Bootstrap fits run in chunks of at most this many rounds × models² numbers (bounds memory).
_CHUNK_CELLS = 4_000_000


@dataclass(frozen=True)
class Rating:
    """One model's Bradley–Terry rating and its 95% interval (both bounds equal without a bootstrap)."""

    rating: float
    lower: float
    upper: float


Cell = tuple[str, str, float]  # (model A, model B, A's score: 1, 0.5 or 0)


def fit(cells: dict[Cell, int], *, prior: float = DEFAULT_PRIOR) -> dict[str, float]:
    """The ratings of the models in `cells` (counts of votes per (A, B, score)); {} without votes."""
    models, index, counts = _arrays(cells)
    if not models:
        return {}
    wins, games = _totals(counts[None, :], index, len(models))
    return dict(zip(models, _ratings(wins, games, prior)[0].tolist()))


def ratings_with_intervals(cells: dict[Cell, int], *, prior: float = DEFAULT_PRIOR, rounds: int = DEFAULT_ROUNDS,
                           seed: int = 0) -> dict[str, Rating]:
    """`fit` plus bootstrap 95% intervals from `rounds` resamples (seeded: the same votes give the same
    intervals in every process)."""
    models, index, counts = _arrays(cells)
    if not models:
        return {}
    wins, games = _totals(counts[None, :], index, len(models))
    point = _ratings(wins, games, prior)[0]
    if rounds <= 0:
        return {m: Rating(r, r, r) for m, r in zip(models, point.tolist())}
    total = int(counts.sum())
    rng = np.random.default_rng(seed)
    samples = rng.multinomial(total, counts / total, size=rounds).astype(float)
    chunk = max(1, _CHUNK_CELLS // (len(models) ** 2))
    boot = np.concatenate([_ratings(*_totals(samples[i:i + chunk], index, len(models)), prior)
                           for i in range(0, rounds, chunk)])
    lower, upper = np.percentile(boot, [2.5, 97.5], axis=0)
    return {m: Rating(r, lo, hi) for m, r, lo, hi in zip(models, point.tolist(), lower.tolist(), upper.tolist())}


def ranks(ratings: dict[str, Rating]) -> dict[str, int]:
    """LMArena's rank: 1 + the number of models whose lower bound is above this model's upper bound."""
    lowers = sorted(r.lower for r in ratings.values())
    return {m: 1 + sum(1 for low in lowers if low > r.upper) for m, r in ratings.items()}


def _arrays(cells: dict[Cell, int]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The models (sorted), each cell's (A index, B index, score) and the cells' vote counts."""
    kept = {cell: n for cell, n in sorted(cells.items()) if n > 0 and cell[0] != cell[1]}  # order: same draws
    models = sorted({m for a, b, _ in kept for m in (a, b)})
    position = {m: i for i, m in enumerate(models)}
    index = np.array([(position[a], position[b], s) for a, b, s in kept], dtype=float).reshape(-1, 3)
    return models, index, np.array(list(kept.values()), dtype=float)


def _totals(counts: np.ndarray, index: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per round: each model's score (wins, ties as ½) and the games between each pair (symmetric)."""
    a, b, score = index[:, 0].astype(int), index[:, 1].astype(int), index[:, 2]
    onehot_a, onehot_b = np.eye(n)[a], np.eye(n)[b]  # cells × models
    wins = counts @ (onehot_a * score[:, None] + onehot_b * (1.0 - score[:, None]))
    games = np.zeros((counts.shape[0], n * n))
    np.add.at(games, (slice(None), a * n + b), counts)
    games = games.reshape(-1, n, n)
    return wins, games + games.transpose(0, 2, 1)


def _ratings(wins: np.ndarray, games: np.ndarray, prior: float) -> np.ndarray:
    """The maximum-likelihood log-strengths of every round at once (Newton's method on the concave
    log-likelihood, steps capped for safety), as ratings centred on ANCHOR per round.

    With θ = log p: ∂L/∂θ_i = W_i + prior/2 − Σ_j n_ij σ(θ_i − θ_j) − prior·σ(θ_i), the reference's θ being 0.
    """
    rounds, n = wins.shape
    theta = np.zeros_like(wins)
    target = wins + prior / 2.0
    ridge = np.eye(n) * 1e-9 + (np.ones((n, n)) / n if prior == 0 else 0.0)  # prior 0: fix the free shift
    for _ in range(_MAX_ITERATIONS):
        beats = _sigmoid(theta[:, :, None] - theta[:, None, :])
        versus_reference = _sigmoid(theta)
        gradient = target - (games * beats).sum(axis=2) - prior * versus_reference
        weight = games * beats * (1.0 - beats)
        curvature = -weight
        diagonal = weight.sum(axis=2) + prior * versus_reference * (1.0 - versus_reference)
        curvature[:, np.arange(n), np.arange(n)] += diagonal
        step = np.clip(np.linalg.solve(curvature + ridge, gradient[:, :, None])[:, :, 0], -_MAX_STEP, _MAX_STEP)
        theta = np.clip(theta + step, -50.0, 50.0)  # a model without wins under prior=0 heads for -inf
        if np.max(np.abs(step)) < _TOLERANCE:
            break
    return ANCHOR + SCALE * (theta - theta.mean(axis=1, keepdims=True))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def cells_of(votes: Iterable[tuple[str, str, float]]) -> dict[Cell, int]:
    """Vote counts per (A, B, score) cell from (A, B, score) triples."""
    cells: dict[Cell, int] = {}
    for cell in votes:
        cells[cell] = cells.get(cell, 0) + 1
    return cells
