"""gp batches asked in a row (several pending trials) are spread: no suggestion lies within
``_batch.separation`` of a pending one (``MIN_SEPARATION`` while the best observations are not
refined more finely; before gp version 9, three of six suggestions after 12 results of a smooth
2-D function were one point)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from searcher_helpers import make_study, pending_batch, run_sequential

import rung
from rung.searchers._batch import LOCAL_SHARE, MIN_SEPARATION, N_BEST, separation

#: the spread every batch below keeps: the guard's radius in the unit cube
MIN_PAIR = MIN_SEPARATION

UNIT_2D = {"x": rung.Float(0.0, 1.0), "y": rung.Float(0.0, 1.0)}


def pair_distances(B: np.ndarray) -> np.ndarray:
    i, j = np.triu_indices(B.shape[0], 1)
    return np.asarray(np.linalg.norm(B[i] - B[j], axis=1))


def test_the_audits_batch_after_twelve_results_is_spread() -> None:
    """The audit's case (deterministic): 12 results of ``sin(7x) + (y - 0.2)^2``, then 6
    suggestions without results. gp 8 proposed x = 0.64874, 0.64870, 0.64877 (y = 0) among
    them: pairs 4e-5 apart."""
    study = make_study("gp", UNIT_2D, seed=1, n_trials=100)
    run_sequential(study, lambda p: math.sin(7 * p["x"]) + (p["y"] - 0.2) ** 2, 12)
    B = pending_batch(study, 6)
    assert pair_distances(B).min() > MIN_PAIR


def test_separation_is_the_guard_or_a_tenth_of_the_best_observations_spacing() -> None:
    """``1e-3`` while the best observations are far apart; once they are refined more finely,
    a tenth of their spacing, so a batch may still refine at the search's resolution."""
    rng = np.random.default_rng(0)
    X = rng.random((20, 2))
    y = rng.random(20)
    assert separation(X, y) == MIN_SEPARATION
    best = np.argsort(y)[:N_BEST]
    X[best] = 0.5 + 1e-4 * np.arange(N_BEST)[:, None]  # spaced sqrt(2) 1e-4 apart
    assert separation(X, y) == pytest.approx(np.sqrt(2) * 1e-4 / LOCAL_SHARE)
    assert separation(X[:1], y[:1]) == MIN_SEPARATION  # one observation: no spacing yet


def _smooth(a: list[float], c: list[float], b: float, w: float) -> Any:
    def f(p: dict[str, Any]) -> float:
        x = [float(p[f"x{i}"]) for i in range(len(a))]
        return sum(ai * (xi - ci) ** 2 for ai, xi, ci in zip(a, x, c, strict=True)) \
            + b * math.sin(w * x[0])
    return f


unit = st.floats(0.0, 1.0, allow_nan=False)
#: coordinates of the histories' points: distinct points are at least 1/64 apart, so the best
#: observations are not yet refined below ten times ``MIN_SEPARATION`` (past that,
#: ``separation`` lets a batch refine at the search's own resolution)
grid = st.integers(0, 64).map(lambda i: i / 64)


@st.composite
def histories(draw: st.DrawFn) -> tuple[int, list[list[float]], list[float], int, int]:
    d = draw(st.integers(1, 3))
    n = draw(st.integers(4, 14))
    X = draw(st.lists(st.lists(grid, min_size=d, max_size=d), min_size=n, max_size=n,
                      unique_by=tuple))
    if draw(st.booleans()):  # a smooth objective (a confident model) ...
        a = draw(st.lists(st.floats(0.0, 3.0), min_size=d, max_size=d))
        c = draw(st.lists(unit, min_size=d, max_size=d))
        f = _smooth(a, c, draw(st.floats(0.0, 2.0)), draw(st.floats(1.0, 9.0)))
        y = [f({f"x{i}": v for i, v in enumerate(x)}) for x in X]
    else:  # ... or arbitrary values (a noisy one)
        y = draw(st.lists(st.floats(-10.0, 10.0), min_size=n, max_size=n))
    return d, X, y, draw(st.integers(2, 8)), draw(st.integers(0, 3))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_no_two_pending_suggestions_coincide(
    case: tuple[int, list[list[float]], list[float], int, int],
) -> None:
    """Over small histories (1-3 parameters, 4-14 distinct results, smooth or arbitrary
    values) and batches of 2-8 asked without results, every pair of the batch is farther apart
    than ``MIN_PAIR`` in the unit cube."""
    d, X, y, size, seed = case
    space = {f"x{i}": rung.Float(0.0, 1.0) for i in range(d)}
    study = make_study({"name": "gp", "params": {"n_initial": 3, "n_candidates": 128}},
                       space, seed=seed, n_trials=100)
    for x, v in zip(X, y, strict=True):
        study.enqueue({f"x{i}": xi for i, xi in enumerate(x)})
        t = study.ask()
        assert t is not None
        study.tell(t.id, "completed", {"loss": v})
    B = pending_batch(study, size)
    assert pair_distances(B).min() > MIN_PAIR
