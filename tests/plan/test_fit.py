"""The curve fit (rung.planning.fit): known power laws are recovered; short trials borrow the
population's shape."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rung.core.rng import derive_rng
from rung.planning.fit import ALPHA_PRIOR, CurveFit, fit_curves


def _curve(c: float, a: float, alpha: float, steps: np.ndarray, noise: float, key: int
           ) -> np.ndarray:
    rng = derive_rng(0, "test-fit", key)
    return np.asarray(c + a * steps ** (-alpha) + rng.normal(0.0, noise, len(steps)))


def test_recovers_known_parameters_of_full_curves() -> None:
    steps = np.arange(1, 28)
    truth = {k: (0.1 + 0.02 * k, 0.3 + 0.05 * k, 0.4 + 0.1 * k) for k in range(6)}
    curves = {k: (steps, _curve(*p, steps, 1e-4, k)) for k, p in truth.items()}
    fits, prior = fit_curves(curves)
    assert prior.n_trials == 6
    assert prior.sigma == pytest.approx(1e-4, rel=0.5)
    for k, (c, a, alpha) in truth.items():
        f = fits[k]
        assert f.n_points == 27
        assert f.c == pytest.approx(c, abs=0.01)
        assert f.a == pytest.approx(a, rel=0.05)
        assert f.alpha == pytest.approx(alpha, rel=0.05)


def test_short_trials_take_the_pooled_shape() -> None:
    steps = np.arange(1, 28)
    curves: dict[int, tuple[np.ndarray, np.ndarray]] = {
        k: (steps, _curve(0.2, 0.5, 0.8, steps, 1e-3, k)) for k in range(5)
    }
    # stopped at step 1 and at step 3: one and three points, same law with another asymptote
    curves[10] = (np.array([1]), np.array([0.4 + 0.5]))
    curves[11] = (np.array([1, 2, 3]), 0.3 + 0.5 * np.array([1, 2, 3]) ** -0.8)
    fits, prior = fit_curves(curves)
    assert math.exp(prior.log_alpha) == pytest.approx(0.8, rel=0.05)
    one, three = fits[10], fits[11]
    assert one.n_points == 1 and three.n_points == 3
    assert one.alpha == pytest.approx(0.8, rel=0.1)
    assert one.a == pytest.approx(0.5, rel=0.1)
    assert float(one(1)) == pytest.approx(0.9, abs=0.005)  # its one point is honoured
    assert one.c == pytest.approx(0.4, abs=0.05)
    assert three.c == pytest.approx(0.3, abs=0.03)
    assert float(three(27)) == pytest.approx(0.3 + 0.5 * 27**-0.8, abs=0.02)


def test_without_a_well_observed_trial_short_curves_stay_flat() -> None:
    fits, prior = fit_curves({0: ([1], [0.7]), 1: ([1], [0.5])})
    assert prior.n_trials == 0
    assert fits[0] == CurveFit(0.7, 0.0, ALPHA_PRIOR, 1)
    assert float(fits[1](100)) == 0.5


def test_noise_comes_from_consecutive_residuals_not_from_misfit() -> None:
    steps = np.arange(1, 28)
    # flat at 0.5 for 5 steps, then dropping: a power law misfits it, but nothing is noisy
    plateau = np.where(steps <= 5, 0.5, 0.5 - 0.3 * (1 - 5.0 / steps))
    curves = {k: (steps, plateau + 0.01 * k) for k in range(4)}
    _, prior = fit_curves(curves)
    assert prior.sigma > 0.005  # the misfit
    assert prior.noise < 0.2 * prior.sigma
    noisy = {k: (steps, _curve(0.2, 0.5, 0.8, steps, 0.02, k)) for k in range(6)}
    assert fit_curves(noisy)[1].noise == pytest.approx(0.02, rel=0.3)
