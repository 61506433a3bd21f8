"""The fidelity guard: stop trusting low rungs whose ranking disagrees with the next rung's.

Every multi-fidelity scheduler bets that a trial's rank at a low step predicts its rank at a
higher one; when the bet is wrong, late bloomers (trials that start badly and end well) are
stopped early. ``FidelityGuard`` is the ``guard=True`` option of ``ASHA``, ``AsyncHyperband``,
``SuccessiveHalving`` and ``Hyperband``. It is on the decision path: it runs inside the pure
engine, reads nothing but the results it is fed, and logs nothing (a log record reads the
clock); ``rung.analysis`` reports what it did.

**Measure.** For each pair of adjacent fidelity steps (the scheduler's rung steps, then
``max_step``), the Spearman rank correlation (``spearman``: average ranks for ties; ``nan`` with
fewer than two pairs or a constant side) between the scores at the lower and at the higher step,
over the trials that reported both. Pairs come only from trials that reached the higher step,
i.e. survivors of the lower rung: a restricted range, which pulls the correlation towards zero,
so the measure errs on the side of distrusting a fidelity.

**Rule.** The guard keeps a *level* ``L``, the index of the first fidelity step at which the
scheduler may stop or pause trials; it starts at 0 and only goes up. Each time a trial reports
at step ``k + 1`` having reported at step ``k`` (one new pair for ``(k, k + 1)``) and the pair
count ``n`` is due for a check (``n >= min_pairs``, default ``MIN_PAIRS`` = 10, and ``n`` has
grown by 10% since the last check of that pair), the correlation of the pair is computed; if it
is below ``threshold`` (default ``LOW_CORRELATION`` = 0.6) and ``k >= L``, ``L`` becomes
``k + 1``. Pairs below ``L`` are no longer checked. Schedulers make no stop or pause decision
at rungs below ``L`` (ASHA from then on; synchronous brackets for brackets opened later).

**Invariants.** ``L`` is a deterministic function of the sequence of results fed to
``observe`` (no clock, no randomness), so replay reproduces every raise; it never decreases.

Cost: ``PairTracker.observe`` adds or replaces one pair in ``O(1)``; correlations are computed
lazily on the geometric check schedule, ``O(log m)`` amortized per result for ``m`` pairs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from rung.core.history import History

#: Correlation below which a fidelity pair is flagged (and the guard raises its level).
LOW_CORRELATION = 0.6
#: Pairs needed before a correlation is trusted enough to flag or to act on.
MIN_PAIRS = 10


def _ranks(a: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their average rank (what Spearman's rho needs)."""
    order = np.argsort(a, kind="mergesort")
    s = a[order]
    n = len(a)
    # boundaries of runs of equal values in the sorted array
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(s[1:], s[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n)
    avg = (starts + ends + 1) / 2.0  # mean of ranks starts+1 .. ends
    run = np.cumsum(new) - 1
    out = np.empty(n, dtype=float)
    out[order] = avg[run]
    return out


def spearman(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Spearman's rank correlation of two equally long sequences (average ranks for ties).

    Infinite scores (diverged trials) rank last and tie with each other. Returns ``nan`` with
    fewer than two pairs or when either side is constant.
    """
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"spearman needs two 1-d sequences of one length: {a.shape}, {b.shape}")
    if len(a) < 2:
        return math.nan
    ra, rb = _ranks(a), _ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    den = math.sqrt(float(ra @ ra) * float(rb @ rb))
    if den == 0.0 or not math.isfinite(den):
        return math.nan
    return float(ra @ rb) / den


class PairTracker:
    """Online pairs ``(score at steps[i], score at steps[i+1])`` for adjacent fidelity steps.

    Feed it every result with ``observe``; a result at ``steps[i+1]`` of a trial that has a score
    at ``steps[i]`` adds (or, after a restart, replaces) one pair in O(1). ``spearman(i)`` is
    computed lazily and cached until pair ``i`` changes.
    """

    def __init__(self, steps: Sequence[int]) -> None:
        self.steps = sorted(set(int(s) for s in steps))
        self._index = {s: i for i, s in enumerate(self.steps)}
        n = max(len(self.steps) - 1, 0)
        self._pairs: list[dict[int, tuple[float, float]]] = [{} for _ in range(n)]
        self._cache: list[float | None] = [None] * n

    def __len__(self) -> int:
        return len(self._pairs)

    def observe(self, trial_id: int, step: int, score: float, history: History) -> int | None:
        """Note one result; returns the index of the pair it changed, or ``None``."""
        i = self._index.get(step)
        if not i:  # not a fidelity step, or the lowest one (no pair ends there)
            return None
        low = history.scores(trial_id).get(self.steps[i - 1])
        if low is None:
            return None
        self._pairs[i - 1][trial_id] = (low, score)
        self._cache[i - 1] = None
        return i - 1

    def n_pairs(self, i: int) -> int:
        return len(self._pairs[i])

    def spearman(self, i: int) -> float:
        cached = self._cache[i]
        if cached is None:
            pairs = self._pairs[i]
            if len(pairs) < 2:
                cached = math.nan
            else:
                xy = np.array(list(pairs.values()), dtype=float)
                cached = spearman(xy[:, 0], xy[:, 1])
            self._cache[i] = cached
        return cached


class FidelityGuard:
    """The ``guard=True`` rule (see the module docstring): a monotone *level*, the index of the
    first fidelity step at which the scheduler may stop or pause trials.

    Args:
        steps: the fidelity steps, ascending (rung steps, then ``max_step``).
        threshold: raise the level when the correlation of pair ``(level, level+1)`` is below it.
        min_pairs: pairs needed before the correlation is acted on.
    """

    def __init__(
        self, steps: Sequence[int], threshold: float = LOW_CORRELATION, min_pairs: int = MIN_PAIRS
    ) -> None:
        self.tracker = PairTracker(steps)
        self.threshold = threshold
        self.min_pairs = min_pairs
        self.level = 0
        self._next_check = [min_pairs] * len(self.tracker)
        self.raises: list[dict[str, Any]] = []

    @property
    def steps(self) -> list[int]:
        return self.tracker.steps

    @property
    def min_step(self) -> int:
        """The step of the current level (``steps[-1]`` once every rung is skipped)."""
        return self.steps[min(self.level, len(self.steps) - 1)]

    def observe(self, trial_id: int, step: int, score: float, history: History) -> bool:
        """Note one result; returns True if it raised the level."""
        i = self.tracker.observe(trial_id, step, score, history)
        if i is None or i < self.level:
            return False
        n = self.tracker.n_pairs(i)
        if n < self._next_check[i]:
            return False
        self._next_check[i] = n + max(1, n // 10)
        rho = self.tracker.spearman(i)
        if not rho < self.threshold:  # nan (constant scores) never raises
            return False
        lo, hi = self.steps[i], self.steps[i + 1]
        self.level = i + 1
        # recorded in the scheduler's state, not logged: the guard runs inside the pure engine,
        # and a log record reads the clock (Study.diagnostics() reports it)
        self.raises.append({"from_step": lo, "to_step": hi, "spearman": rho, "pairs": n})
        return True

    def state(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "min_step": self.min_step,
            "raises": [dict(r) for r in self.raises],
            "pairs": [
                {
                    "steps": [self.steps[i], self.steps[i + 1]],
                    "n": self.tracker.n_pairs(i),
                    "spearman": json_float(self.tracker.spearman(i)),
                }
                for i in range(len(self.tracker))
            ],
        }


def json_float(x: float) -> float | None:
    """``x``, or ``None`` when it is not finite (JSON has no nan)."""
    return x if math.isfinite(x) else None


__all__ = [
    "LOW_CORRELATION",
    "MIN_PAIRS",
    "FidelityGuard",
    "PairTracker",
    "json_float",
    "spearman",
]
