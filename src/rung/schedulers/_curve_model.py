"""The predictor of ``CurveASHA`` (``rung.schedulers.curve``): a rung-to-rung regression chain.

One ``Transition`` per pair of adjacent decision steps ``s_j -> s_{j+1}`` holds its training
rows (``(u(config), y(s_j), slope)`` -> ``y(s_{j+1}) - y(s_j)``) and, once fitted, a Gaussian
process on them (``rung.searchers._gp``). ``CurveChain.predict`` chains the transitions from a
trial's level up to ``max_step``, each feeding the next its predicted value and slope, variances
adding. The scheduler decides when rows are added and when a transition is refitted (see its
module docstring); this module only fits and predicts, deterministically.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rung.space import SearchSpace


class Transition:
    """Model ``f_j`` of one step pair ``s_j -> s_{j+1}``: rows, and the fitted GP (or none)."""

    __slots__ = ("X", "fitted_at", "gp", "ids", "lo", "scale", "t_mean", "t_sd", "y")

    def __init__(self) -> None:
        self.X: list[np.ndarray] = []  # raw features (u(config), y_j, slope_j)
        self.y: list[float] = []  # targets y_{j+1} - y_j
        self.ids: set[int] = set()
        self.fitted_at = 0
        self.gp: Any = None
        self.lo = np.zeros(0)
        self.scale = np.ones(0)
        self.t_mean = 0.0
        self.t_sd = 1.0


class CurveChain:
    """The ``n`` transitions of a study's decision steps, and the chained prediction.

    Args:
        space: the study's space (its unit encoding gives the configuration features).
        n: number of transitions (rungs; the last one ends at ``max_step``).
        max_points: a transition is fitted on at most this many rows (the latest).
        explore: ``predict`` returns ``mean - explore * sd``.
    """

    def __init__(self, space: SearchSpace, n: int, max_points: int, explore: float) -> None:
        self.space = space
        self.max_points = max_points
        self.explore = explore
        self.transitions = [Transition() for _ in range(n)]
        self._feat: Any = None  # rung.searchers._gp.Features, built on first fit

    def __len__(self) -> int:
        return len(self.transitions)

    def __getitem__(self, j: int) -> Transition:
        return self.transitions[j]

    def fit(self, j: int) -> None:
        """Fit transition ``j`` on its last ``max_points`` rows (a constant model when every
        row changed by the same amount)."""
        from rung.searchers._common import CAT, dims_of
        from rung.searchers._gp import GP, Features

        tr = self.transitions[j]
        tr.fitted_at = len(tr.y)
        X = np.array(tr.X[-self.max_points :])
        y = np.array(tr.y[-self.max_points :])
        if self._feat is None:
            dims = dims_of(self.space)
            self._feat = Features(dims.kind, dims.size, CAT)
        d = X.shape[1] - 2
        curve = X[:, d:]
        tr.lo = curve.min(axis=0)
        span = curve.max(axis=0) - tr.lo
        tr.scale = np.where(span > 1e-12, span, 1.0)
        tr.t_mean = float(y.mean())
        sd = float(y.std())
        if sd < 1e-12:  # every row changed by the same amount: a constant model
            tr.gp, tr.t_sd = None, 0.0
            return
        tr.t_sd = sd
        Z = self._inputs(tr, X)
        group = np.concatenate([self._feat.group, [self._feat.n_groups, self._feat.n_groups + 1]])
        gp = GP(Z, (y - tr.t_mean) / sd, group, self._feat.n_groups + 2)
        gp.condition(gp.fit(max_iter=30, n_starts=1))
        tr.gp = gp

    def _inputs(self, tr: Transition, X: np.ndarray) -> np.ndarray:
        d = X.shape[1] - 2
        return np.hstack([self._feat(X[:, :d]), (X[:, d:] - tr.lo) / tr.scale])

    def predict(self, level: int, U: np.ndarray, y: np.ndarray, slope: np.ndarray) -> np.ndarray:
        """Rank values of trials at decision step ``level`` (rows of ``U``, ``y``, ``slope``):
        the chained prediction at ``max_step`` minus ``explore`` standard deviations."""
        y, slope = y.astype(float), slope.astype(float)
        var = np.zeros_like(y)
        for j in range(level, len(self.transitions)):
            tr = self.transitions[j]
            if tr.fitted_at == 0:
                slope = np.zeros_like(y)
                continue
            if tr.gp is None:
                delta = np.full_like(y, tr.t_mean)
            else:
                mu, v = tr.gp.predict(self._inputs(tr, np.column_stack([U, y, slope])))
                delta = tr.t_mean + tr.t_sd * mu
                var = var + tr.t_sd**2 * v
            y, slope = y + delta, delta
        out: np.ndarray = y - self.explore * np.sqrt(var) if self.explore else y
        return out


__all__ = ["CurveChain", "Transition"]
