"""What the ``gp`` searcher's GPs are fitted on: scores standardized, dropped trials as the
worst score, several objectives scalarized (ParEGO), and the points kept under a cap."""

from __future__ import annotations

import math

import numpy as np

from rung.searchers._common import Observations


def standardize(y: np.ndarray) -> np.ndarray:
    """``(y - mean) / std`` (``/ 1`` for a constant ``y``); finite values near the float
    limits (1e308) are divided by their largest magnitude first, where the mean and the
    standard deviation would overflow to inf and give NaN."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean, sd = float(y.mean()), float(y.std())
    if not (math.isfinite(mean) and math.isfinite(sd)) and np.all(np.isfinite(y)):
        y = y / float(np.max(np.abs(y)))
        mean, sd = float(y.mean()), float(y.std())
    return np.asarray((y - mean) / (sd if sd > 0 else 1.0))


def with_dropped(obs: Observations) -> Observations:
    """``obs`` with its dropped trials as observations of an infinite score (the worst finite
    one once ``_select`` has replaced it; the worst normalized value in ``parego``)."""
    if not obs.dropped:
        return obs
    ids = obs.ids + obs.dropped
    y = np.concatenate([obs.y, np.full(len(obs.dropped), np.inf)])
    return Observations(obs.step, ids, y, obs.pending, obs.dropped)


def parego(Y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """ParEGO's scalarization (Knowles, IEEE TEVC 2006) of lower-is-better objectives: each
    normalized to [0, 1], then the augmented Chebyshev norm with random simplex weights."""
    Y = np.where(np.isfinite(Y), Y, np.nan)
    lo, hi = np.nanmin(Y, axis=0), np.nanmax(Y, axis=0)
    N = (Y - lo) / np.where(hi > lo, hi - lo, 1.0)
    N = np.where(np.isnan(N), 1.0, N)
    w = rng.dirichlet(np.ones(Y.shape[1]))
    return np.asarray(np.max(w * N, axis=1) + 0.05 * np.sum(w * N, axis=1))
def subset(y: np.ndarray, ids: np.ndarray, cap: int) -> np.ndarray:
    """Indices of at most ``cap`` points, ascending: all of them if they fit, else the best half
    of ``cap`` and an evenly spaced (by rank) selection of the others."""
    if y.shape[0] <= cap:
        return np.arange(y.shape[0])
    order = np.lexsort((ids, y))
    k = cap // 2
    rest = order[k:]
    pick = np.unique(np.linspace(0, len(rest) - 1, cap - k).round().astype(int))
    return np.sort(np.concatenate([order[:k], rest[pick]]))

