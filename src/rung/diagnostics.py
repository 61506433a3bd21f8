"""Fidelity diagnostics: do low-fidelity results rank trials the way high-fidelity ones do?

Every multi-fidelity scheduler (successive halving, Hyperband, ASHA) bets that a trial's rank at
a low step predicts its rank at a higher one. When that bet is wrong, "late bloomers" (trials
that start badly and end well) are stopped early and the search does worse than plain random
search. This module measures the bet and, for schedulers created with ``guard=True``, hedges it.

**What is measured.** For each pair of adjacent *fidelity steps* (a scheduler's rung steps
followed by ``max_step``; for schedulers without rungs, ``1, 3, 9, ...`` and ``max_step``), the
Spearman rank correlation between the scores at the lower step and at the higher step, over the
trials that reported both. Ties get average ranks; fewer than 2 pairs, or a constant side, give
``nan``. Pairs come only from trials that *reached* the higher step, so under a stopping scheduler
they are the survivors of the lower rung: a restricted range, which pulls the correlation towards
zero. The measure is therefore conservative (it under-states good fidelities a little), which is
the safe side for a guard whose job is to stop trusting bad ones.

**Warning.** ``diagnose`` flags every pair with at least ``MIN_PAIRS`` (10) pairs and a
correlation below ``LOW_CORRELATION`` (0.6): the pair's ``low`` field is true, a message is added
to ``FidelityDiagnostics.warnings`` and logged (logger ``rung.diagnostics``, level WARNING).
``Study.diagnostics()`` calls it, and adds one warning per guard raise. (Nothing is logged from
inside a scheduler: schedulers run in the pure engine, and a log record reads the clock.)

**Cost.** ``diagnose`` is on demand (CLI, dashboard, end of a run): for each adjacent pair it walks
the trials that reported the higher step (History keeps per-step tables, so no scan over all
trials) and ranks them, ``O(m log m)`` for ``m`` pairs. Schedulers use the incremental
``PairTracker`` instead: a result adds or replaces one pair in O(1); the correlation is recomputed
lazily, and ``FidelityGuard`` only asks for it on a geometric schedule (at 10 pairs, then every
time the count has grown by 10%), so the amortized cost per result is ``O(log m)``.

**The guard rule** (``guard=True`` on ``ASHA``, ``SuccessiveHalving``, ``Hyperband`` and
``AsyncHyperband``). The scheduler keeps a *level* ``L``, the index of its first active rung; it
starts at 0 and only ever goes up. Each time a trial reports at fidelity step ``k + 1`` having
reported at step ``k`` (one new pair for the pair ``(k, k+1)``), and the pair count ``n`` is due
for a check (``n >= 10`` and ``n`` has reached that pair's next check point), the guard computes
the Spearman correlation of that pair; if it is below 0.6 and ``k >= L``, ``L`` becomes
``k + 1``: a rung whose ranking disagrees with the next one's must not stop trials, and neither
may any rung below it (their survivors were picked to do well at it). Pairs below ``L`` are no
longer checked. A scheduler whose level is ``L`` makes no stop / pause decision at rungs below
``L`` (ASHA: from that moment on; synchronous brackets: for brackets opened after it, whose
smallest resource becomes rung ``L``'s step), so late bloomers survive until a fidelity that
predicts the next one. When ``L`` passes the last rung, the scheduler runs every new trial to
``max_step`` (it has become random search with FIFO).

The level is a deterministic function of the sequence of results the scheduler has seen, in the
order it saw them, and nothing else: replaying the journal feeds the same results in the same
order, so it reproduces every raise exactly (no clock, no randomness). It never goes down, so a
decision once taken is never contradicted by a later, lower grace period.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rung.core.history import History

log = logging.getLogger("rung.diagnostics")

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


def default_steps(max_step: int, base: int = 3) -> list[int]:
    """``1, base, base**2, ...`` below ``max_step``, then ``max_step``: the fidelity ladder used
    for schedulers that have no rungs of their own."""
    steps: list[int] = []
    s = 1
    while s < max_step:
        steps.append(s)
        s *= base
    steps.append(max_step)
    return steps


def fidelity_steps(scheduler: Any, max_step: int) -> list[int]:
    """The fidelity steps to correlate for ``scheduler``: its ``fidelity_steps()`` if it has one
    (multi-fidelity schedulers return their rung steps and ``max_step``), else
    ``default_steps(max_step)``."""
    f = getattr(scheduler, "fidelity_steps", None)
    if callable(f):
        steps = [int(s) for s in f()]
        if steps:
            return sorted(set(steps))
    return default_steps(max_step)


# --- incremental bookkeeping (used by schedulers) ---------------------------------------------


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
                    "spearman": _json_float(self.tracker.spearman(i)),
                }
                for i in range(len(self.tracker))
            ],
        }


def _json_float(x: float) -> float | None:
    return x if math.isfinite(x) else None


# --- on-demand report (Study.diagnostics) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FidelityPair:
    """Rank agreement between two adjacent fidelity steps."""

    low_step: int
    high_step: int
    n_pairs: int
    spearman: float  # nan when undefined
    low: bool  # flagged: >= MIN_PAIRS pairs and spearman < LOW_CORRELATION

    def to_json(self) -> dict[str, Any]:
        return {
            "low_step": self.low_step,
            "high_step": self.high_step,
            "n_pairs": self.n_pairs,
            "spearman": _json_float(self.spearman),
            "low": self.low,
        }


@dataclass(frozen=True, slots=True)
class FidelityDiagnostics:
    """What ``Study.diagnostics()`` returns."""

    steps: tuple[int, ...]
    pairs: tuple[FidelityPair, ...]
    warnings: tuple[str, ...] = ()
    guard: Mapping[str, Any] | None = field(default=None)

    @property
    def low(self) -> bool:
        """True if any adjacent pair is flagged."""
        return any(p.low for p in self.pairs)

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": list(self.steps),
            "pairs": [p.to_json() for p in self.pairs],
            "warnings": list(self.warnings),
            "low": self.low,
            "guard": None if self.guard is None else dict(self.guard),
        }


def pairs_between(
    history: History, low_step: int, high_step: int
) -> tuple[list[float], list[float]]:
    """Scores at ``low_step`` and ``high_step`` of every trial that reported both."""
    xs: list[float] = []
    ys: list[float] = []
    for score, tid in history.at_step(high_step):
        low = history.scores(tid).get(low_step)
        if low is not None:
            xs.append(low)
            ys.append(score)
    return xs, ys


def diagnose(
    history: History,
    steps: Sequence[int],
    threshold: float = LOW_CORRELATION,
    min_pairs: int = MIN_PAIRS,
    guard: Mapping[str, Any] | None = None,
    emit: bool = True,
) -> FidelityDiagnostics:
    """Spearman correlation for each adjacent pair of ``steps`` over ``history``.

    Pairs with at least ``min_pairs`` trials and a correlation below ``threshold`` are flagged,
    and a warning for each is added to the result (and logged, if ``emit``).
    """
    ladder = sorted(set(int(s) for s in steps))
    out: list[FidelityPair] = []
    warnings: list[str] = []
    for lo, hi in itertools.pairwise(ladder):
        xs, ys = pairs_between(history, lo, hi)
        rho = spearman(xs, ys) if len(xs) >= 2 else math.nan
        low = len(xs) >= min_pairs and rho < threshold
        out.append(FidelityPair(lo, hi, len(xs), rho, low))
        if low:
            msg = (
                f"rank correlation between steps {lo} and {hi} is {rho:.2f} over {len(xs)} "
                f"trials (< {threshold}): results at step {lo} predict step {hi} poorly, so "
                f"stopping trials at step {lo} may lose late bloomers (try guard=True or a "
                f"larger min_step)"
            )
            warnings.append(msg)
            if emit:
                log.warning("%s", msg)
    return FidelityDiagnostics(tuple(ladder), tuple(out), tuple(warnings), guard)


def diagnose_engine(engine: Any, emit: bool = True) -> FidelityDiagnostics:
    """``diagnose`` for a live engine: its scheduler's fidelity steps and its guard state."""
    sched = engine.scheduler
    steps = fidelity_steps(sched, engine.spec.max_step)
    guard = None
    state = sched.state()
    if isinstance(state, Mapping) and isinstance(state.get("guard"), Mapping):
        guard = state["guard"]
    out = diagnose(engine.history, steps, guard=guard, emit=emit)
    if guard is None or not guard.get("raises"):
        return out
    notes = [
        f"fidelity guard: rank correlation between steps {r['from_step']} and {r['to_step']} "
        f"was {r['spearman']:.2f} over {r['pairs']} trials; no trial is stopped before step "
        f"{r['to_step']} since"
        for r in guard["raises"]
    ]
    if emit:
        for msg in notes:
            log.warning("%s", msg)
    return FidelityDiagnostics(out.steps, out.pairs, (*out.warnings, *notes), guard)


__all__ = [
    "LOW_CORRELATION",
    "MIN_PAIRS",
    "FidelityDiagnostics",
    "FidelityGuard",
    "FidelityPair",
    "PairTracker",
    "default_steps",
    "diagnose",
    "diagnose_engine",
    "fidelity_steps",
    "pairs_between",
    "spearman",
]
