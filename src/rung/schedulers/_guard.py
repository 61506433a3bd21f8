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

**A first rung chosen from data** (``FirstRung``, ``min_step="auto"`` of ``ASHA`` and
``AsyncHyperband``) closes the guard's blind spot: it measures each candidate first rung on
complete, *unselected* curves, where every configuration is represented, not only survivors.
See ``FirstRung``.

Cost: ``PairTracker.observe`` adds or replaces one pair in ``O(1)``; correlations are computed
lazily on the geometric check schedule, ``O(log m)`` amortized per result for ``m`` pairs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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


#: Spearman correlation with the final value a step needs to become the first rung
#: (``min_step="auto"``).
MIN_CORRELATION = 0.7
#: Candidate steps need at least this many complete curves with a value there to be measured.
MIN_CURVES = 3
AUTO = "auto"


class FirstRung:
    """``min_step="auto"``: the first rung that makes decisions, chosen from the study's own
    complete learning curves.

    **Sources.** A grace period (Ray Tune's and Syne Tune's ``grace_period``, ASHA's minimum
    resource ``r``) is a fixed guess in every peer; Hyperband (Li et al., JMLR 2018) hedges
    over it because the right one is unknown, and BOHB (Falkner, Klein and Hutter, ICML 2018)
    assumes small budgets rank like large ones. Benchmark suites check exactly that assumption
    with the rank correlation between fidelities (Egele, Guyon, Sun and Balaprakash, "Is One
    Epoch All You Need For Multi-Fidelity Hyperparameter Optimization?", 2023: when a few
    dominant curves lead from the first epoch, one epoch suffices; when curves cross, it does
    not). ``FirstRung`` runs that check inside the study, on its own curves.

    **Probes.** The first ``probes`` trials (ids ``0 .. probes - 1``) are never stopped or
    paused: they run to ``max_step`` and give complete curves. Until the first estimate no rung
    decides for any trial (``level == len(steps)``); trials that passed a rung uncut meanwhile
    are judged there late in the stopping variant ("Overdue trials" in
    ``rung.schedulers._ladder``), and their curves then count as selected.

    **Measure.** Only *unselected* complete curves count: trials that reached ``max_step``
    without having been judged at a deciding rung (probes, and trials that passed every rung
    while no rung decided). Curves of trials that survived a cut are a restricted range
    (survivors only), which is ``FidelityGuard``'s blind spot. For each candidate step ``s``
    (the ladder's rungs from step 1, ascending), over the ``n`` curves with a value at ``s``
    (a curve that skips ``s``, reporting every few steps, has its first value past ``s`` and
    below the next candidate there, the result a rung at ``s`` would judge it by):
    ``rho(s)``, Spearman's correlation between the value at ``s`` and at ``max_step``, and the
    tie share ``t(s)``, the largest share of curves with one exact value at ``s`` (the column
    ``make_curves.py --report`` prints).

    **Rule.** The first rung is the lowest ``s`` with ``n >= MIN_CURVES``,
    ``rho(s) >= threshold`` and ``t(s) <= 1 - 1/eta`` (with more ties than that, the top
    ``1/eta`` quota must be filled from one tied group, i.e. by arrival order, not by value).
    If no candidate passes, no rung decides: every trial runs to ``max_step``.

    **When.** Estimated when the count of unselected complete curves reaches ``probes``, then
    each time it reaches ``ceil(1.5 x`` the previous count (fixed counts, in the order results
    arrive: replay reproduces every estimate). The first rung is raised freely, but lowered only
    while no rung has judged a trial yet: a lower first rung would judge new trials by a
    fidelity the earlier, already-judged ones were spared.

    **Reasons.** Each estimate's reason (``"first rung at step 27: Spearman 0.62 with the final
    value over 8 complete curves (step 1: n/a, 100% tied; step 3: 0.21; step 9: 0.34)"``) is
    kept in ``state()`` with every estimate's per-step measures, and is appended to the next
    decision made at a deciding rung (so it reaches the journal with the first reply it
    explains). Decisions at rungs below the first say ``"below the first rung (step 27, chosen
    from data)"``.

    **State.** Plain ints, floats and lists: ``state()`` is JSON.
    """

    def __init__(
        self,
        steps: Sequence[int],
        max_step: int,
        eta: int,
        probes: int,
        threshold: float = MIN_CORRELATION,
    ) -> None:
        self.steps = list(steps)
        self.max_step = max_step
        self.eta = eta
        self.probes = probes
        self.threshold = threshold
        self.level = len(self.steps)  # no rung decides before the first estimate
        self.decided = False  # a rung at or above ``level`` has judged a trial
        self._judged: set[int] = set()
        self._curves: dict[int, tuple[list[float | None], float]] = {}
        self._next = probes
        self.estimates: list[dict[str, Any]] = []
        self.reason = f"first rung not chosen yet (waiting for {probes} complete curves)"

    @property
    def min_step(self) -> int:
        """The step of the first deciding rung (``max_step`` while none decides)."""
        return self.steps[self.level] if self.level < len(self.steps) else self.max_step

    def is_probe(self, trial_id: int) -> bool:
        return trial_id < self.probes

    def judge(self, trial_id: int) -> None:
        """A deciding rung is about to judge ``trial_id`` (not a probe): its curve, if it
        completes, is a selected one."""
        self._judged.add(trial_id)
        self.decided = True

    def observe(self, trial_id: int, step: int, score: float, history: History) -> str | None:
        """Note one result; returns the reason of a new estimate, else ``None``."""
        if step != self.max_step or trial_id in self._judged or trial_id in self._curves:
            return None
        self._curves[trial_id] = (self._at_steps(history.scores(trial_id)), score)
        n = len(self._curves)
        if n < self._next:
            return None
        self._next = max(n + 1, -(-3 * n // 2))
        return self._estimate()

    def _at_steps(self, scores: Mapping[int, float]) -> list[float | None]:
        """A curve's value at each candidate step: its score there or, if it did not report
        there (it reports every few steps), at its first step past it and below the next
        candidate (or ``max_step``): the result a rung there would judge it by."""
        out: list[float | None] = []
        for i, s in enumerate(self.steps):
            v = scores.get(s)
            if v is None:
                end = self.steps[i + 1] if i + 1 < len(self.steps) else self.max_step
                v = next((scores[t] for t in range(s + 1, end) if t in scores), None)
            out.append(v)
        return out

    def _estimate(self) -> str:
        curves = list(self._curves.values())
        rows: list[dict[str, Any]] = []
        chosen: int | None = None
        max_tie = 1.0 - 1.0 / self.eta
        for i, s in enumerate(self.steps):
            pairs = [(x, f) for v, f in curves if (x := v[i]) is not None]
            n = len(pairs)
            rho, tie = math.nan, 0.0
            if n:
                xs = [x for x, _ in pairs]
                counts: dict[float, int] = {}
                for x in xs:
                    counts[x] = counts.get(x, 0) + 1
                tie = max(counts.values()) / n
                rho = spearman(xs, [f for _, f in pairs]) if n >= MIN_CURVES else math.nan
            ok = n >= MIN_CURVES and rho >= self.threshold and tie <= max_tie
            rows.append({"step": s, "curves": n, "spearman": json_float(rho),
                         "tie_share": tie, "ok": ok})
            if ok and chosen is None:
                chosen = i
        want = len(self.steps) if chosen is None else chosen
        kept = want < self.level and self.decided
        if not kept:
            self.level = want
        self.reason = self._explain(rows, len(curves), chosen, kept)
        self.estimates.append({"curves": len(curves), "min_step": self.min_step,
                               "steps": rows, "reason": self.reason})
        return self.reason

    def _explain(self, rows: list[dict[str, Any]], n: int, chosen: int | None,
                 kept: bool) -> str:
        def one(r: dict[str, Any]) -> str:
            rho = r["spearman"]
            text = f"step {r['step']}: " + ("n/a" if rho is None else f"{rho:.2f}")
            if r["tie_share"] > 1.0 - 1.0 / self.eta:
                text += f", {r['tie_share']:.0%} tied"
            return text

        over = f"over {n} complete curves"
        below = "; ".join(one(r) for r in rows[: len(rows) if chosen is None else chosen])
        if chosen is None:
            head = (f"no early stopping: no step below {self.max_step} reaches Spearman "
                    f"{self.threshold:g} with the final value {over}")
        else:
            rho = rows[chosen]["spearman"]
            head = (f"first rung at step {self.steps[chosen]}: Spearman {rho:.2f} with the "
                    f"final value {over}")
        if kept:
            head += f" (kept at step {self.min_step}: a higher rung has already judged trials)"
        return head + (f" ({below})" if below else "")

    def state(self) -> dict[str, Any]:
        return {
            "min_step": self.min_step,
            "level": self.level,
            "probes": self.probes,
            "threshold": self.threshold,
            "complete_curves": len(self._curves),
            "reason": self.reason,
            "estimates": [dict(e) for e in self.estimates],
        }


def json_float(x: float) -> float | None:
    """``x``, or ``None`` when it is not finite (JSON has no nan)."""
    return x if math.isfinite(x) else None


__all__ = [
    "AUTO",
    "LOW_CORRELATION",
    "MIN_CORRELATION",
    "MIN_CURVES",
    "MIN_PAIRS",
    "FidelityGuard",
    "FirstRung",
    "PairTracker",
    "json_float",
    "spearman",
]
