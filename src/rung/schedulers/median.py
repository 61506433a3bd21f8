"""The median stopping rule (Golovin, Solnik, Moitra, Kochanski, Karro and Sculley, "Google
Vizier: A Service for Black-Box Optimization", KDD 2017, section 3.2.2).

"A pending trial is stopped at step ``s`` if its best objective value by step ``s`` is strictly
worse than the median value of the running averages of all completed trials' objectives
reported up to step ``s``." Here the reference set is every *other* trial that has reported step
``s`` (running, paused, stopped or completed: with many workers, waiting for completed trials
would make the rule idle for most of a study), and the rule applies only

- from step ``min_step`` on (the grace period: no trial is judged on its first noisy
  steps), and
- when at least ``min_trials`` other trials have reported step ``s``.

In lower-is-better scores (``Objective.score``): with ``best_t(s) = min over s' <= s`` of the
trial's scores and ``avg_u(s)`` = the mean of trial ``u``'s scores at its reported steps
``<= s``, trial ``t`` stops at ``s`` iff ``best_t(s) > median{avg_u(s) : u != t}``.

Averages and medians do not overflow (``rung.schedulers._safe_mean``): values near the float
maximum (``1.7e308``) decide as the same values at scale 1 do, and ordinary values exactly as the
plain formulas decide.

Bookkeeping is incremental: each trial keeps its running sum, count and best; each step keeps
a ``SortedTable`` of the running averages reported there. A report costs an ``O(log n)`` search
and an insertion that moves at most one block (``n``: trials that reported the step), and the
median is read by index in ``O(log n)``, skipping the trial's own entry: no scan over trials. A
trial that re-reports a step (restarted without a checkpoint) has its entry replaced and its
running statistics rebuilt from ``History`` (rare).

**Leases.** A decision takes effect at the step it is made only if the worker waits there for
it (DESIGN, "The lease"); otherwise the STOP reaches the worker while it trains the next step.
So each lease ends at the next step at which the rule *can* decide: the first step ``s`` after
the trial's last report, at or after ``min_step``, that at least ``min_trials`` other trials
have already reported (``s`` is not always the next step: an objective may report every few
steps, and the steps in between have no references). Past the last such step the trial leads
the population: no reference exists yet, but other running trials may report its next step
before it does (they started earlier in the same turn, or run faster), so a leader waits at its
next step (at or after the grace period), where the rule may then decide. A trial therefore
never trains a step past a decision that was possible when its lease was set; the only
decisions delivered asynchronously are made at a step that gained its references after the
lease skipped it (irregular reporting), and the engine applies them at the worker's next
report. The price is one round trip to the driver per decidable step, as for any rule that
may decide at every step.
Finding the next decidable step is a bisection in the sorted list of steps that have at least
``min_trials`` results (a step enters it once).

**``rule="optuna"``: Optuna's ``MedianPruner``** (Akiba, Sano, Yanase, Ohta and Koyama, "Optuna:
A Next-generation Hyperparameter Optimization Framework", KDD 2019; a compatibility switch for
studies migrated from Optuna; facts from ``optuna.pruners.PercentilePruner`` at percentile 50).
The reference set is the *completed* trials only, compared by their raw score at the same step
(not running averages):
trial ``t`` stops at step ``s`` iff

- at least one and at least ``startup_trials`` trials have completed (Optuna's
  ``n_startup_trials``),
- ``s >= min_step`` (``n_warmup_steps``; 0 is allowed here),
- ``s`` is the first step ``t`` reports in its interval: with ``w = min_step`` and
  ``i = interval_steps``, ``t``'s previous report lies below ``w + floor((s - w) / i) * i``
  (``interval_steps``),
- at least ``min_trials`` completed trials reported ``s`` (``n_min_trials``), and
- ``best_t(s)`` (the best of ``t``'s scores so far) is worse than the median of those completed
  trials' scores at ``s``, interpolated as NumPy's ``percentile`` does (for ``mode="max"`` the
  median is taken of the metric values, as Optuna does, so equal results round equally).

A completed trial enters per-step ``SortedTable``s once, when it ends (``O(steps log n)``); a
report costs ``O(log n)``. Every lease ends at the next step (``should_prune`` is synchronous in
Optuna, so the rule may decide at any report once a trial has completed).

**Objective only.** Both rules compare the objective with a median of the objective; they
ignore a study's constraints and, with several objectives, every objective but the first
(``Study.create`` warns). A median has no place for feasibility: there is no ranking to put
feasible trials first in, and stopping a trial because it is infeasible *now* would be
another rule, one that many constraints (a latency measured at the end, a size that shrinks
with pruning) would make wrong. For a constrained study use ``asha`` (feasible results rank
first at every rung) or ``mo_asha``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from typing import Any

from rung._validate import check_choice, check_int
from rung.core.components import BindContext, EndRequest, ResultRequest, Scheduler
from rung.core.events import CONTINUE, Decision
from rung.core.records import Outcome
from rung.core.registry import register
from rung.core.sorted_table import SortedTable
from rung.errors import ConfigError
from rung.schedulers._reasons import quote
from rung.schedulers._safe_mean import fsum_total, interpolate_half, mean, midpoint, scaled

RULES = ("vizier", "optuna")


class _Running:
    __slots__ = ("avg_at", "best", "count", "last", "scaled", "total")

    def __init__(self) -> None:
        self.total = 0.0
        self.scaled = 0.0  # the sum scaled down (``_safe_mean``): the mean when total overflows
        self.count = 0
        self.best = math.inf
        self.last = 0
        self.avg_at: dict[int, float] = {}


@register("scheduler", "median")
class MedianStoppingRule(Scheduler):
    """Stop a trial whose best score so far is worse than the median of the other trials'
    running averages at the same step.

    Args:
        min_step: first step at which a trial may be stopped, the grace period (Ray Tune's
            ``grace_period``; Optuna's ``n_warmup_steps`` with ``rule="optuna"``, where 0 is
            allowed). ``grace_period=`` is a deprecated alias (``rung._renamed``).
        min_trials: other trials that must have reported the step before the rule applies
            (with ``rule="optuna"``: completed trials, Optuna's ``n_min_trials``).
        rule: ``"vizier"`` (default: running averages of every other trial) or ``"optuna"``
            (Optuna's ``MedianPruner``: raw scores of completed trials; module docstring).
        startup_trials: ``rule="optuna"`` only: completed trials needed before any stop
            (Optuna's ``n_startup_trials``).
        interval_steps: ``rule="optuna"`` only: decide at the first report of every
            ``interval_steps`` steps after ``min_step`` (Optuna's ``interval_steps``).
    """

    def __init__(
        self,
        min_step: int = 1,
        min_trials: int = 3,
        rule: str = "vizier",
        startup_trials: int = 0,
        interval_steps: int = 1,
    ) -> None:
        self.min_step = min_step
        self.min_trials = min_trials
        self.rule = rule
        self.startup_trials = startup_trials
        self.interval_steps = interval_steps

    def get_params(self) -> dict[str, Any]:
        # parameters added after the first release are persisted only when set, so the specs
        # of existing studies (and their journals) stay byte-identical
        params = super().get_params()
        for key, default in (("rule", "vizier"), ("startup_trials", 0), ("interval_steps", 1)):
            if params[key] == default and type(params[key]) is type(default):
                del params[key]
        return params

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        self._optuna = check_choice("scheduler.params.rule", self.rule, RULES) == "optuna"
        check_int("scheduler.params.min_step", self.min_step, 0 if self._optuna else 1)
        check_int("scheduler.params.min_trials", self.min_trials, 1)
        check_int("scheduler.params.startup_trials", self.startup_trials, 0)
        check_int("scheduler.params.interval_steps", self.interval_steps, 1)
        if not self._optuna:
            for key, default in (("startup_trials", 0), ("interval_steps", 1)):
                if getattr(self, key) != default:
                    raise ConfigError(
                        key=f"scheduler.params.{key}", message="applies only with rule='optuna'"
                    )
        self._completed: dict[int, SortedTable] = {}  # rule="optuna": step -> (score, id)
        self._n_completed = 0
        self._trials: dict[int, _Running] = {}
        self._tables: dict[int, SortedTable] = {}
        self._decidable: list[int] = []  # steps with >= min_trials results, ascending
        self._stopped = 0

    def _next_decision(self, start: int, own: _Running | None) -> int:
        """The step at which a trial whose next report is at ``start`` or later waits: the
        first step ``>= max(start, min_step)`` that ``min_trials`` other trials have
        reported; if there is none (it leads), that first step itself."""
        first = max(start, self.min_step)
        if first >= self.max_step:
            return self.max_step
        i = bisect.bisect_left(self._decidable, first)
        while i < len(self._decidable):
            step = self._decidable[i]
            others = len(self._tables[step]) - (own is not None and step in own.avg_at)
            if others >= self.min_trials:
                return step
            i += 1  # the trial's own old entry (a restart) made the count: look further
        return first

    def lease(self, start_step: int) -> int:
        if self._optuna:
            return min(max(start_step, self.min_step, 1), self.max_step)
        # for a new or resumed trial (no trial id here): a resumed trial's own old entries may
        # make a step look decidable, so it may wait once for nothing, never too late
        return self._next_decision(start_step, None)

    def _update(self, tid: int, step: int, score: float, scores: Mapping[int, float]) -> _Running:
        r = self._trials.get(tid)
        if r is None:
            r = self._trials[tid] = _Running()
        if step > r.last:
            r.total += score
            r.scaled += scaled(score)
            r.count += 1
            r.best = min(r.best, score)
            r.last = step
        else:  # a restarted trial re-reports: rebuild from its (replaced) scores
            steps = sorted(s for s in scores if s <= step)
            vals = [scores[s] for s in steps]
            (r.total, r.scaled), r.count = fsum_total(vals), len(vals)
            r.best = min(vals)
            r.last = step
        avg = mean(r.total, r.scaled, r.count)
        table = self._tables.get(step)
        if table is None:
            table = self._tables[step] = SortedTable()
        old = r.avg_at.get(step)
        if old is not None:
            table.remove((old, tid))
        r.avg_at[step] = avg
        table.add((avg, tid))
        if len(table) == self.min_trials:
            bisect.insort(self._decidable, step)
        return r

    def on_result(self, request: ResultRequest) -> Decision:
        if self._optuna:
            return self._optuna_rule(request)
        tid, step, score = request.trial_id, request.result.step, request.score
        r = self._update(tid, step, score, request.history.scores(tid))
        table = self._tables[step]
        m = len(table) - 1  # other trials at this step
        if step < self.min_step:
            return self._carry_on(step, request.until_step, r,
                                  f"step {step} is within the grace period "
                                  f"({self.min_step} steps)")
        if m < self.min_trials:
            return self._carry_on(step, request.until_step, r,
                                  f"{m} other trial(s) at step {step}, fewer than the "
                                  f"{self.min_trials} the rule compares with")
        own = table.bisect_left((r.avg_at[step], tid))

        def other(j: int) -> float:  # j-th smallest average among the other trials
            value: float = table[j if j < own else j + 1][0]
            return value

        median = other(m // 2) if m % 2 else midpoint(other(m // 2 - 1), other(m // 2))
        if r.best > median:
            self._stopped += 1
            return Decision.stop(
                f"best {quote(self.objective, r.best)} by step {step} is worse than the median "
                f"{quote(self.objective, median)} of {m} other trials' running averages at step "
                f"{step}"
            )
        return self._carry_on(
            step, request.until_step, r,
            f"best {quote(self.objective, r.best)} by step {step} is not worse than the median "
            f"{quote(self.objective, median)} of {m} other trials' running averages at step "
            f"{step}")

    def _carry_on(self, step: int, until_step: int, r: _Running, why: str) -> Decision:
        """Not stopped at ``step`` (``why``): below the lease the lease stands (the worker
        streams on); at it, a new lease to the next step where the rule can decide, with
        ``why`` as its reason."""
        if step < until_step:
            return CONTINUE
        return Decision.proceed(self._next_decision(step + 1, r), why)

    # --- rule="optuna" ------------------------------------------------------------------------
    def on_trial_end(self, request: EndRequest) -> None:
        if not self._optuna or request.outcome is not Outcome.COMPLETED:
            return
        self._n_completed += 1
        for step, score in request.history.scores(request.trial_id).items():
            table = self._completed.get(step)
            if table is None:
                table = self._completed[step] = SortedTable()
            table.add((score, request.trial_id))

    def _optuna_rule(self, request: ResultRequest) -> Decision:
        tid, step, score = request.trial_id, request.result.step, request.score
        r = self._trials.get(tid)
        if r is None:
            r = self._trials[tid] = _Running()
        if step > r.last:  # the usual case: one more step
            previous = r.last if r.count else -1
            r.best = min(r.best, score)
            r.count += 1
            r.last = step
        else:  # a restarted trial re-reports: rebuild from its (replaced) scores
            scores = request.history.scores(tid)
            previous = max((s for s in scores if s != step), default=-1)
            r.best = min(scores.values())
            r.count = len(scores)
            r.last = max(scores)
        def go_on(why: str) -> Decision:
            if step < request.until_step:
                return CONTINUE
            return Decision.proceed(min(step + 1, self.max_step), why)

        n = self._n_completed
        if n == 0 or n < self.startup_trials:
            return go_on(f"{n} completed trial(s), fewer than startup_trials "
                         f"({max(1, self.startup_trials)})")
        if step < self.min_step:
            return go_on(f"step {step} is within the grace period ({self.min_step} steps)")
        w, i = self.min_step, self.interval_steps
        if previous >= (step - w) // i * i + w:  # not the first report in its interval
            return go_on(f"step {step} is not the first report of its interval "
                         f"(interval_steps {i})")
        table = self._completed.get(step)
        m = 0 if table is None else len(table)
        if table is None or m < self.min_trials:
            return go_on(f"{m} completed trial(s) at step {step}, fewer than the "
                         f"{self.min_trials} the rule compares with")
        lo, hi = table[(m - 1) // 2][0], table[m // 2][0]  # the middle two (one if m is odd)
        # NumPy's linear interpolation at 0.5, of the metric values as Optuna takes them
        maximize = self.objective.mode == "max"
        median = -interpolate_half(-hi, -lo) if maximize else interpolate_half(lo, hi)
        if r.best > median:
            self._stopped += 1
            return Decision.stop(
                f"best {quote(self.objective, r.best)} by step {step} is worse than the median "
                f"{quote(self.objective, median)} of {m} completed trials at step {step} "
                "(Optuna's MedianPruner)"
            )
        return go_on(f"best {quote(self.objective, r.best)} by step {step} is not worse than "
                     f"the median {quote(self.objective, median)} of {m} completed trials at "
                     f"step {step} (Optuna's MedianPruner)")

    def state(self) -> dict[str, Any]:
        if self._optuna:
            return {
                "rule": "optuna",
                "trials": len(self._trials),
                "stopped": self._stopped,
                "completed": self._n_completed,
            }
        return {
            "trials": len(self._trials),
            "stopped": self._stopped,
            "steps": len(self._tables),
        }
