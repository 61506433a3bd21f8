"""The median stopping rule (Golovin, Solnik, Moitra, Kochanski, Karro and Sculley, "Google
Vizier: A Service for Black-Box Optimization", KDD 2017, section 3.2.2).

"A pending trial is stopped at step ``s`` if its best objective value by step ``s`` is strictly
worse than the median value of the running averages of all completed trials' objectives
reported up to step ``s``." Here the reference set is every *other* trial that has reported step
``s`` (running, paused, stopped or completed: with many workers, waiting for completed trials
would make the rule idle for most of a study), and the rule applies only

- from step ``grace_period`` on (no trial is judged on its first noisy steps), and
- when at least ``min_trials`` other trials have reported step ``s``.

In lower-is-better scores (``Objective.score``): with ``best_t(s) = min over s' <= s`` of the
trial's scores and ``avg_u(s)`` = the mean of trial ``u``'s scores at its reported steps
``<= s``, trial ``t`` stops at ``s`` iff ``best_t(s) > median{avg_u(s) : u != t}``.

Bookkeeping is incremental: each trial keeps its running sum, count and best; each step keeps
a ``SortedTable`` of the running averages reported there. A report costs an ``O(log n)`` search
and an insertion that moves at most one block (``n``: trials that reported the step), and the
median is read by index in ``O(log n)``, skipping the trial's own entry: no scan over trials. A
trial that re-reports a step (restarted without a checkpoint) has its entry replaced and its
running statistics rebuilt from ``History`` (rare).

Workers are not made to wait for decisions (their lease runs to ``max_step``): a STOP is
delivered asynchronously and honoured at the trial's next report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rung.core.components import BindContext, ResultRequest, Scheduler
from rung.core.events import CONTINUE, Decision
from rung.core.registry import register
from rung.core.sorted_table import SortedTable
from rung.schedulers.asha import check_int


class _Running:
    __slots__ = ("avg_at", "best", "count", "last", "total")

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0
        self.best = math.inf
        self.last = 0
        self.avg_at: dict[int, float] = {}


@register("scheduler", "median")
class MedianStoppingRule(Scheduler):
    """Stop a trial whose best score so far is worse than the median of the other trials'
    running averages at the same step.

    Args:
        grace_period: first step at which a trial may be stopped.
        min_trials: other trials that must have reported the step before the rule applies.
    """

    def __init__(self, grace_period: int = 1, min_trials: int = 3) -> None:
        self.grace_period = grace_period
        self.min_trials = min_trials

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        check_int("grace_period", self.grace_period, 1)
        check_int("min_trials", self.min_trials, 1)
        self._trials: dict[int, _Running] = {}
        self._tables: dict[int, SortedTable] = {}
        self._stopped = 0

    def _update(self, tid: int, step: int, score: float, scores: Mapping[int, float]) -> _Running:
        r = self._trials.get(tid)
        if r is None:
            r = self._trials[tid] = _Running()
        if step > r.last:
            r.total += score
            r.count += 1
            r.best = min(r.best, score)
            r.last = step
        else:  # a restarted trial re-reports: rebuild from its (replaced) scores
            steps = sorted(s for s in scores if s <= step)
            vals = [scores[s] for s in steps]
            r.total, r.count = math.fsum(vals), len(vals)
            r.best = min(vals)
            r.last = step
        avg = r.total / r.count if math.isfinite(r.total) else math.inf
        table = self._tables.get(step)
        if table is None:
            table = self._tables[step] = SortedTable()
        old = r.avg_at.get(step)
        if old is not None:
            table.remove((old, tid))
        r.avg_at[step] = avg
        table.add((avg, tid))
        return r

    def on_result(self, request: ResultRequest) -> Decision:
        tid, step, score = request.trial_id, request.result.step, request.score
        r = self._update(tid, step, score, request.history.scores(tid))
        if step < self.grace_period:
            return CONTINUE
        table = self._tables[step]
        m = len(table) - 1  # other trials at this step
        if m < self.min_trials:
            return CONTINUE
        own = table.bisect_left((r.avg_at[step], tid))

        def other(j: int) -> float:  # j-th smallest average among the other trials
            value: float = table[j if j < own else j + 1][0]
            return value

        median = other(m // 2) if m % 2 else (other(m // 2 - 1) + other(m // 2)) / 2.0
        if r.best > median:
            self._stopped += 1
            return Decision.stop(
                f"best score {r.best:.6g} by step {step} is worse than the median {median:.6g} "
                f"of {m} other trials' running averages at step {step}"
            )
        return CONTINUE

    def state(self) -> dict[str, Any]:
        return {
            "trials": len(self._trials),
            "stopped": self._stopped,
            "steps": len(self._tables),
        }
