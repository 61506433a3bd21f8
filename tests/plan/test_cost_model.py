"""A configuration's cost from its parameters (rung.planning.cost_model): ridge regression of
log level with a leave-one-out penalty, log-normal residual, neighbour correlation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rung.core.rng import derive_rng
from rung.planning.cost_model import fit_cost_model


def _grid(n: int, d: int, key: str) -> np.ndarray:
    return derive_rng(0, "test-cost-model", key).random((n, d))


def test_recovers_a_log_linear_cost() -> None:
    x = _grid(30, 3, "linear")
    levels = np.exp(-2.0 + 2.0 * x[:, 0] - 1.0 * x[:, 2])
    m = fit_cost_model(x, levels)
    assert m.penalty == 1e-3  # the smallest penalty: the data are exactly linear
    assert m.coef == pytest.approx([2.0, 0.0, -1.0], abs=0.01)
    assert m.sd < 0.01
    u = np.array([0.9, 0.5, 0.1])
    assert float(m.log_level(u)) == pytest.approx(-2.0 + 1.8 - 0.1, abs=0.01)


def test_few_trials_take_the_mean_and_its_leave_one_out_error() -> None:
    x = np.array([[0.1], [0.5], [0.9]])
    levels = np.array([1.0, math.e, math.e**2])  # log levels 0, 1, 2
    m = fit_cost_model(x, levels)
    assert m.penalty == math.inf and m.coef.tolist() == [0.0]
    assert m.intercept == pytest.approx(1.0)
    # leaving one out of three, the mean of the other two misses by 1.5, 0, 1.5
    assert m.sd == pytest.approx(math.sqrt((1.5**2 + 0 + 1.5**2) / 3))
    assert m.rho == 0.0
    one = fit_cost_model(np.array([[0.3]]), np.array([2.0]))
    assert one.intercept == pytest.approx(math.log(2.0)) and one.sd == 0.0


def test_costs_unrelated_to_the_parameters_keep_the_intercept() -> None:
    x = _grid(40, 2, "flat")
    z = derive_rng(0, "test-cost-model", "z").standard_normal(40)
    m = fit_cost_model(x, np.exp(0.5 * z))
    assert np.abs(m.coef).max() < 0.3
    assert m.sd == pytest.approx(0.5, rel=0.3)


def test_neighbour_correlation_of_the_residual() -> None:
    # a bump the linear fit cannot follow: neighbours share their residual
    x = np.linspace(0.0, 1.0, 40)[:, None]
    smooth = fit_cost_model(x, np.exp(np.sin(8.0 * x[:, 0])))
    assert smooth.rho > 0.8
    z = derive_rng(0, "test-cost-model", "iid").standard_normal(40)
    rough = fit_cost_model(x, np.exp(z))
    assert rough.rho < 0.3
    # the draw: the fit plus rho times the neighbour's residual plus the rest of the spread
    u = x[7]
    want = (float(smooth.log_level(u)) + smooth.rho * smooth.residuals[7]
            + smooth.sd * math.sqrt(1 - smooth.rho**2) * 0.5)
    assert smooth.draw(u, 7, 0.5) == pytest.approx(want)
