"""CurveASHA's features and rank values (the rest of the rule is ``rung.schedulers.curve``'s
docstring).

A trial's features at decision step ``s_j`` are its configuration in the space's unit encoding,
its score at ``s_j`` (the result the trial is placed with there: the step itself, or its first
report past a rung step it skipped) and the last slope; a trial that reported ``s_{j+1}`` too is
a training row of transition ``j`` of the predictor (``rung.schedulers._curve_model``). After a
refit every trial at a rung at or below the refitted transition gets a new rank value, its
predicted score at ``max_step``, and the rung tables are rebuilt. Ties at equal value are broken
by a per-trial key from ``derive_rng(seed, "curve-tie", trial_id)``.

``CurveFeatures`` is a part of ``CurveASHA``, split out to keep one idea per file: it reads and
changes CurveASHA's state (declared below, set by ``CurveASHA.bind``).
"""

from __future__ import annotations

import math

import numpy as np

from rung.core.history import History
from rung.core.rng import derive_rng
from rung.core.sorted_table import SortedTable
from rung.schedulers._curve_model import CurveChain
from rung.space import SearchSpace

Entry = tuple[float, float, int]  # (rank value, tie key, trial id): lower is better


class CurveFeatures:
    """Rows of the predictor and rank values of the trials, from their partial curves."""

    # CurveASHA's state (``CurveASHA.bind``) and parameters, as these methods use them
    seed: int
    min_fit: int
    refit_growth: float
    _eta: int
    _steps: list[int]
    _space: SearchSpace
    _chain: CurveChain
    _pop: list[SortedTable]
    _waiting: list[SortedTable]
    _level: dict[int, int]
    _members: list[dict[int, None]]
    _waits: dict[int, int]
    _entry: dict[int, Entry]
    _units: dict[int, np.ndarray]
    _ties: dict[int, float]
    _at: dict[tuple[int, int], int]

    def _tie(self, tid: int) -> float:
        t = self._ties.get(tid)
        if t is None:
            t = self._ties[tid] = float(derive_rng(self.seed, "curve-tie", tid).random())
        return t

    def _unit(self, history: History, tid: int) -> np.ndarray:
        u = self._units.get(tid)
        if u is None:
            u = self._units[tid] = np.asarray(self._space.to_unit(history.params(tid)), float)
        return u

    def _curve(self, history: History, tid: int, j: int) -> tuple[float, float] | None:
        """``(y(s_j), slope)`` of a trial, or ``None`` without a finite score at ``s_j``."""
        scores = history.scores(tid)
        y = scores.get(self._step_at(tid, j))
        if y is None or not math.isfinite(y):
            return None
        prev = self._step_at(tid, j - 1) if j else self._steps[0] // self._eta
        yp = scores.get(prev) if prev >= 1 else None
        slope = y - yp if yp is not None and math.isfinite(yp) else 0.0
        return y, slope

    def _step_at(self, tid: int, j: int) -> int:
        """The step of ``tid``'s result at decision step ``s_j``."""
        return self._at.get((tid, j), self._steps[j])

    def _row(self, history: History, tid: int, j: int) -> bool:
        """Add trial ``tid``'s row to transition ``j`` (it reported ``s_{j+1}``); True if the
        model should be refitted now."""
        tr = self._chain[j]
        if tid in tr.ids:
            return False
        cur = self._curve(history, tid, j)
        nxt = history.scores(tid).get(self._step_at(tid, j + 1))
        if cur is None or nxt is None or not math.isfinite(nxt):
            return False
        tr.ids.add(tid)
        tr.X.append(np.concatenate([self._unit(history, tid), cur]))
        tr.y.append(nxt - cur[0])
        n = len(tr.y)
        return n >= self.min_fit and n >= self.refit_growth * tr.fitted_at

    def _repredict(self, history: History, upto: int) -> None:
        """After a refit of transition ``upto``: new rank values for every trial at a rung
        ``<= upto``; rebuild the tables of rungs ``<= upto``."""
        by_level: dict[int, list[int]] = {}
        for tid, lv in self._level.items():
            if lv <= upto and math.isfinite(self._entry[tid][0]):
                by_level.setdefault(lv, []).append(tid)
        for lv, ids in sorted(by_level.items()):
            curves = [self._curve(history, t, lv) for t in ids]
            ids = [t for t, c in zip(ids, curves, strict=True) if c is not None]
            if not ids:
                continue
            U = np.array([self._unit(history, t) for t in ids])
            y = np.array([c[0] for c in curves if c is not None])
            slope = np.array([c[1] for c in curves if c is not None])
            values = self._chain.predict(lv, U, y, slope)
            for t, v, y0 in zip(ids, values, y, strict=True):
                self._entry[t] = (float(v) if math.isfinite(v) else float(y0), self._tie(t), t)
        for k in range(min(upto, len(self._pop) - 1) + 1):
            pop, waiting = SortedTable(), SortedTable()
            pop.update([self._entry[t] for t in self._members[k]])
            waiting.update([self._entry[t] for t, w in self._waits.items() if w == k])
            self._pop[k], self._waiting[k] = pop, waiting
