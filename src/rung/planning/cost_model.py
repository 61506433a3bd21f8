"""A configuration's cost from its parameters: ridge regression of log cost, log-normal residual.

What a trial costs depends on its hyperparameters (the number and size of trees, a network's
width and batch size), so the planner does not give a new configuration the cost of the pilot
trials near it: it predicts the *level* (mean seconds per step) of a configuration ``u`` (its
unit encoding, ``SearchSpace.to_unit``) as

    log level(u) = b0 + b . u + e,        e ~ Normal(0, s^2),

fitted on the pilot's trials (``fit_cost_model``): ``b`` by ridge regression (Hoerl and Kennard
1970, "Ridge Regression: Biased Estimation for Nonorthogonal Problems") with the penalty chosen
by leave-one-out error over a grid, computed in closed form from the hat matrix (Allen 1974, "The
Relationship Between Variable Selection and Data Augmentation and a Method for Prediction", the
PRESS statistic); when no penalty beats the intercept alone, ``b = 0``. ``s^2`` is the
leave-one-out mean squared error of the chosen model, so it counts both the configurations'
own scatter around the fit and the error of the fit itself at a configuration it has not seen.

The residual is log-normal, the usual model of a positive, right-skewed cost, and is drawn per
configuration: a planned study then meets costly configurations as often as the pilot did, and
its costliest ones (what the wall-clock of many workers waits for) can exceed the costliest pilot
trial, which averaging pilot trials, or resampling them, cannot do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: ridge penalties tried (the unit encoding puts every parameter in [0, 1])
PENALTIES = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
#: fewer trials than this: the intercept alone (a slope needs a few points to be tested)
MIN_TRIALS_FOR_SLOPE = 5


@dataclass(frozen=True)
class CostModel:
    """The fitted model of the module docstring.

    Attributes:
        intercept: ``b0``.
        coef: ``b`` (one per unit coordinate; zeros when the intercept alone was chosen).
        center: the mean unit encoding of the trials it was fitted on (``b0`` is the mean
            log level there).
        sd: ``s``, the standard deviation of the log-normal residual.
        penalty: the chosen ridge penalty (``math.inf`` for the intercept alone).
        residuals: each fitted trial's log level minus the fit's (in-sample), in fit order.
        rho: how much of a trial's residual its neighbours share: the correlation, clipped to
            ``[0, 1]``, between each trial's leave-one-out residual and that of the trial
            nearest to it (0 with fewer than ``MIN_TRIALS_FOR_SLOPE`` trials).
    """

    intercept: float
    coef: np.ndarray
    center: np.ndarray
    sd: float
    penalty: float
    residuals: np.ndarray
    rho: float

    def draw(self, unit: np.ndarray, near: int, z: float) -> float:
        """The log level of a configuration at ``unit`` whose nearest fitted trial is ``near``,
        for a standard normal ``z``: the fit, plus the residual drawn from its distribution
        given the neighbour's (joint normal with correlation ``rho``): mean ``rho *
        residuals[near]``, standard deviation ``sd * sqrt(1 - rho^2)``."""
        r = self.residuals[near] if len(self.residuals) else 0.0
        return float(self.log_level(unit)) + self.rho * float(r) + (
            self.sd * math.sqrt(1.0 - self.rho**2) * z)

    def log_level(self, units: np.ndarray) -> np.ndarray:
        """``b0 + b . (u - center)`` for each row of ``units`` (or one ``u``)."""
        u = np.asarray(units, dtype=float)
        return np.asarray(self.intercept + (u - self.center) @ self.coef)


def fit_cost_model(units: np.ndarray, levels: np.ndarray) -> CostModel:
    """Fit ``CostModel`` on trials with unit encodings ``units`` ``(K, d)`` (no NaN) and mean
    step costs ``levels`` ``(K,)`` (positive).

    With one trial: its level and ``sd = 0``; with fewer than ``MIN_TRIALS_FOR_SLOPE``: the
    intercept alone and the leave-one-out error of the mean.
    """
    x = np.asarray(units, dtype=float).reshape(len(levels), -1)
    y = np.log(np.maximum(np.asarray(levels, dtype=float), 1e-12))
    n, d = x.shape
    center = x.mean(axis=0) if n else np.zeros(d)
    if n <= 1:
        y0 = float(y[0]) if n else 0.0
        return CostModel(y0, np.zeros(d), center, 0.0, math.inf, np.zeros(n), 0.0)
    xc, yc = x - center, y - y.mean()
    # intercept alone: the leave-one-out residual of the mean is r / (1 - 1/n)
    loo = yc / (1.0 - 1.0 / n)
    best: tuple[float, float, np.ndarray] = (float(np.mean(loo**2)), math.inf, np.zeros(d))
    best_loo = loo
    if n >= MIN_TRIALS_FOR_SLOPE and d:
        for lam in PENALTIES:
            a = xc.T @ xc + lam * np.eye(d)
            coef = np.linalg.solve(a, xc.T @ yc)
            hat = 1.0 / n + np.einsum("ij,ji->i", xc, np.linalg.solve(a, xc.T))
            loo = (yc - xc @ coef) / np.maximum(1.0 - hat, 1e-9)
            press = float(np.mean(loo**2))
            if press < best[0]:
                best, best_loo = (press, lam, coef), loo
    press, lam, coef = best
    return CostModel(float(y.mean()), coef, center, math.sqrt(press), lam, yc - xc @ coef,
                     _neighbour_correlation(x, best_loo))


def _neighbour_correlation(x: np.ndarray, loo: np.ndarray) -> float:
    """``CostModel.rho``: correlation of each trial's leave-one-out residual with its nearest
    other trial's (Euclidean in the unit encoding, first on a tie), clipped to ``[0, 1]``."""
    n = len(loo)
    if n < MIN_TRIALS_FOR_SLOPE:
        return 0.0
    dist = ((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=-1)
    np.fill_diagonal(dist, np.inf)
    other = loo[np.argmin(dist, axis=1)]
    if np.std(loo) == 0 or np.std(other) == 0:
        return 0.0
    return float(np.clip(np.corrcoef(loo, other)[0, 1], 0.0, 1.0))
