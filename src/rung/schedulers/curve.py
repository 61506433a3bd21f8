"""Curve-aware asynchronous successive halving: rank trials by where their learning curve is
going, pause instead of stopping, and resume a late bloomer once the model expects it to win.

Rungs sit at ``min_step * eta**k`` below ``max_step``, as in ASHA (Li et al., "A System for
Massively Parallel Hyperparameter Tuning", MLSys 2020), and decisions follow ASHA's promotion
variant (the paper's Algorithm 2) with two changes:

1. **Rank by the predicted final value.** At rung ``k`` a trial is ranked by its *predicted
   score at* ``max_step`` (lower is better), not by its current score: its prediction comes from
   its latest rung (a trial that went on past ``k`` is ranked by what it showed higher up, and a
   completed one by its final score). Ties at equal prediction, common before any model is fitted
   (75-95% of gradient-boosting configurations share the first round's error), are broken by a
   per-trial key drawn from ``derive_rng(seed, "curve-tie", trial_id)``, so ``n`` tied results
   fill the quota ``max(1, floor(n / eta))`` instead of handing it all to the earliest trial.
2. **Pause, never stop.** Every trial reaching a rung is paused there (unless it would be
   promoted at once, which continues it in place; a result that is not finite, NaN, infinite
   or missing under ``Objective(nan="worst")``, is stopped, ranked last among the rung's).
   ``next_trial`` resumes the best paused trial of the highest rung that has one inside the
   quota -- rank ``< floor(n_k / eta)`` among the
   ``n_k`` results of rung ``k``, Algorithm 2's ``top_k(rung, |rung| / eta)``, so a rung of fewer
   than ``eta`` results promotes none -- while fewer than that quota have left the rung; otherwise
   it starts a new trial. Because predictions move when the model learns, a trial paused as a
   loser is promoted later if its prediction rises into the quota: the late bloomer is kept.

**Results between rungs.** A trial that skips a rung's step (it reports every few steps) is
placed and decided at its first result past it, as in ASHA ("Results between rungs" in
``rung.schedulers._ladder``); that result stands for its value at the rung in the model's
rows and features.

**Predictor: a rung-to-rung regression chain.** For each pair of adjacent decision steps
``s_j -> s_{j+1}`` (the rungs, then ``max_step``) a Gaussian process learns the change
``y(s_{j+1}) - y(s_j)`` from ``(u(config), y(s_j), y(s_j) - y(s_{j-1}))``: the configuration in
the space's unit encoding, the score at ``s_j`` and the last slope. Its training rows are all
trials (of every rung, stopped or not) that reported both steps. A trial at rung ``L`` is
predicted by chaining ``f_L, f_{L+1}, ...`` up to ``max_step`` (each step feeds the next its
predicted value and slope, and variances add); a transition with fewer than ``min_fit`` rows
keeps the value as it is (the last known or predicted value). This is the tabular form of the
learning-curve extrapolation that uses configuration features and partial curves of all other
trials, in the spirit of freeze-thaw Bayesian optimization (Swersky, Snoek and Adams, 2014,
"Freeze-Thaw Bayesian Optimization", arXiv:1406.3896) and of the learning-curve models of Klein,
Falkner, Springenberg and Hutter (ICLR 2017, "Learning Curve Prediction with Bayesian Neural
Networks"); Kadra, Janowski, Grabocka et al. (NeurIPS 2023, "Scaling Laws for Hyperparameter
Optimization") rank by a config-conditioned power-law extrapolation instead, which we considered
and left for later: a chain of per-rung GPs needs no curve-shape assumption (error curves of
boosting plateau, rise and fall) and a fit per rung stays small. The GP is ``rung``'s own
(``rung.searchers._gp``: ARD Matérn-5/2, MAP hyperparameters by L-BFGS-B from a fixed start).
``explore > 0`` ranks by the lower confidence bound ``mean - explore * sd`` instead of the mean,
so uncertain trials get promoted and the model sees how they end.

**Determinism.** Model ``f_j`` is refitted only when its training set has grown by the factor
``refit_growth`` since its last fit (the first fit at ``min_fit`` rows), on the last
``max_points`` rows in arrival order: the moments and the data are functions of the history's
event order, never of the clock, so replay reproduces every prediction and decision.

**Retiring paused trials.** As in ASHA's promotion variant: once no new trial can start
(``on_start_refused``) and no live trial is below rung ``k``, rung ``k``'s population is final.
Its remaining places (quota minus trials already promoted from it) go to the best-predicted
waiting trials at that moment, which stay promotable; every other paused trial of the rung is
retired (``Scheduler.retired``: the engine ends it stopped and releases its checkpoint), and one
still on its way to its pause is retired when the pause arrives. When the budget ends in time or
steps, paused trials simply stay paused. A paused trial's reason is then that decision's, at its
rank at that moment (``paused_decision``: the engine journals it): ``"rank 5/13 at rung 1 (step
3), predicted final acc=0.8: not promoted: the rung's population is final and its 4 place(s)
are taken (2 promoted, 2 kept for better-predicted trials)"``, and a paused trial
resumed reads ``"rank 2/13 at rung 1 (step 3), predicted final acc=0.9: promoted"``.

**Measured** (RESULTS.md "bench_curve: rung's schedulers on the curve tables", measured before
that script was merged into ``benchmarks/bench_allocation.py``, whose variants ``curve`` and
``curve:min_step=9`` measure it now; curve tables of 155-175 rows, 30 full-curve costs of
compute, 10 seeds): it does not beat random+FIFO on the
late-bloomer tables (hgb-german, hgb-magic), nor ASHA with the same rungs by more than seed
noise; with ``min_step=9`` it is level with random+FIFO on hgb-ring and ahead of ASHA
(stopping, ``min_step=1``) on german, magic and ring at 8 workers (p <= 0.01). The prediction at
the first rungs of those tables is no better than the current value (there is nothing to learn
from a tied first round), so the grace period matters more than the ranking there.

**Complexity.** A result at a non-rung step is O(1). A result at a rung costs O(K log n) table
updates plus one chain prediction, O(K m) kernel evaluations (``K`` rungs, ``m <= max_points``).
A refit of ``f_j`` costs a GP fit on ``m`` rows (``O(m^3)`` per L-BFGS step) and a re-prediction
and re-sort of the trials at rungs ``<= j`` (O(n K m + n log n)); refits are geometric in each
transition's row count, so there are ``O(K log n)`` of them in a run.

**Objective only.** It ranks by the predicted final *objective* and ignores a study's
constraints (and every objective but the first; ``Study.create`` warns): a constraint's value
at ``max_step`` is not predicted, and ranking a prediction against a present violation would
mix two scales. Constrained studies: ``asha`` or ``mo_asha``, which rank feasible first.

The features, training rows and rank values are ``rung.schedulers._curve_features``.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np

from rung._validate import check_float, check_int
from rung.core.components import (
    BindContext,
    EndRequest,
    NextTrial,
    ResultRequest,
    Resume,
    Scheduler,
    StartNew,
)
from rung.core.events import Decision
from rung.core.history import History
from rung.core.records import Outcome, TrialStatus
from rung.core.registry import register
from rung.core.sorted_table import SortedTable
from rung.schedulers._curve_features import CurveFeatures, Entry
from rung.schedulers._curve_model import CurveChain
from rung.schedulers._ladder import NOT_FINITE
from rung.schedulers._reasons import quote


@register("scheduler", "curve")
class CurveASHA(CurveFeatures, Scheduler):
    """ASHA's promotion variant ranked by predicted final value (see the module docstring).

    Args:
        reduction_factor: ``eta`` (>= 2): at most ``floor(n / eta)`` of a rung's ``n`` results
            are promoted from it (``max(1, floor(n / eta))`` once no trial can reach it any more).
        min_step: the first rung.
        min_fit: rows a transition needs before its model is fitted (>= 3).
        refit_growth: refit a transition's model when its rows have grown by this factor (> 1).
        max_points: a model is fitted on at most this many rows (the latest) (>= 8).
        explore: rank by ``mean - explore * sd`` of the predicted final score (>= 0).
    """

    version = 6
    changes = {6: "the reason of a decision taken on a paused trial is journaled: a Cancel of a "
                  "retired trial with its rank and quota (or its exploit), a Reply on a resumed "
                  "trial's last result saying why it was promoted (decisions unchanged; an older"
                  " rung cannot replay such a journal)",
               5: "a result that is not finite (NaN, infinite or missing under "
                  "Objective(nan='worst')) is stopped at a rung (before: it was paused and "
                  "could be promoted as any other)",
               4: "a trial that skips a rung's step (it reports every few steps) is placed "
                  "and decided at its first result past it (before: it was never paused and "
                  "ran to max_step)",
               3: "a rung promotes floor(n/eta) of its n results, as ASHA's promotion variant "
                  "(before: max(1, floor(n/eta)), so the first trial to reach each rung was "
                  "promoted at once whatever its value, and with a trial budget the top rung's "
                  "one place went to an early, often poor, trial); max(1, floor(n/eta)) once "
                  "the rung's population is final, as before",
               2: "once no trial can start, a trial reporting at the rung whose population "
               "that report makes final takes one of its places (before: the places were "
               "given out before it was counted, so the best trial was paused and retired "
               "and a small study could end with no trial at max_step); a trial that "
               "re-reports at a rung after a restart waits there once (before: twice, and "
               "the stale entry left behind could hang next_trial once the trial ended)"}

    def __init__(
        self,
        reduction_factor: int = 3,
        min_step: int = 1,
        min_fit: int = 4,
        refit_growth: float = 1.5,
        max_points: int = 64,
        explore: float = 0.0,
    ) -> None:
        self.reduction_factor = reduction_factor
        self.min_step = min_step
        self.min_fit = min_fit
        self.refit_growth = refit_growth
        self.max_points = max_points
        self.explore = explore

    # --- setup --------------------------------------------------------------------------------
    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        p = "scheduler.params."
        self._eta = check_int(p + "reduction_factor", self.reduction_factor, 2)
        r = check_int(p + "min_step", self.min_step, 1)
        check_int(p + "min_fit", self.min_fit, 3)
        check_float(p + "refit_growth", self.refit_growth, 1.0, low_open=True)
        check_int(p + "max_points", self.max_points, 8)
        check_float(p + "explore", self.explore, 0.0)
        rungs: list[int] = []
        while r < ctx.max_step:
            rungs.append(r)
            r *= self._eta
        self.rungs = rungs
        self._steps = [*rungs, ctx.max_step]  # s_0 .. s_K
        self._index = {s: k for k, s in enumerate(self._steps)}
        self._space = ctx.space
        k_top = len(rungs)
        self._chain = CurveChain(ctx.space, k_top, self.max_points, self.explore)
        self._pop = [SortedTable() for _ in range(k_top)]  # every result at rung k
        self._waiting = [SortedTable() for _ in range(k_top)]  # reported at k, not promoted
        self._promoted: list[set[int]] = [set() for _ in range(k_top)]
        self._level: dict[int, int] = {}  # trial -> highest decision step index reported
        self._members: list[dict[int, None]] = [{} for _ in range(k_top)]  # entered rung k
        self._waits: dict[int, int] = {}  # trial -> the rung it waits at (not promoted)
        self._entry: dict[int, Entry] = {}
        self._units: dict[int, np.ndarray] = {}
        self._ties: dict[int, float] = {}
        # (trial, decision step index) -> the step its result there came from: the decision
        # step, or its first report past a rung step it skipped
        self._at: dict[tuple[int, int], int] = {}
        # retiring: live trials by level (index level + 1; 0 = no rung yet); rungs below
        # ``final`` have their final population, ``reserved[k]`` their remaining places
        self._live = [0] * (k_top + 2)
        self._pos: dict[int, int] = {}
        self._seen = 0
        self._final = 0
        self._reserved: dict[int, set[int]] = {}
        self._starved = False
        self._retired: list[int] = []
        # trial -> why it was resumed or retired while paused, until the engine asks
        self._why: dict[int, Decision] = {}

    def fidelity_steps(self) -> list[int]:
        return list(self._steps)

    def lease(self, start_step: int) -> int:
        i = bisect.bisect_left(self.rungs, start_step)
        return self.rungs[i] if i < len(self.rungs) else self.max_step

    def _rung_of(self, tid: int, step: int) -> int | None:
        """The decision step index a result at ``step`` counts at: its own, or, for a trial's
        first result past a rung step it did not report (it reports every few steps), the
        highest rung at or below ``step`` (as ``Ladder.rung_of``); else ``None``."""
        k = self._index.get(step)
        if k is not None:
            return k
        k = bisect.bisect_right(self.rungs, step) - 1
        if k < 0:
            return None
        # a later result of a trial placed at rung k is not a rung result; one at or before
        # the step it was placed with is the same result again, after a restart
        return k if tid not in self._members[k] or step <= self._step_at(tid, k) else None

    def _place(self, history: History, tid: int, level: int, score: float) -> None:
        """Record that ``tid`` reported decision step ``level``: new rank value, table entries
        (replaced at the rungs it had entered, added at ``level``)."""
        old = self._entry.get(tid)
        value = score
        if level < len(self._chain) and math.isfinite(score):
            cur = self._curve(history, tid, level)
            assert cur is not None
            v = float(
                self._chain.predict(level, self._unit(history, tid)[None, :],
                                    np.array([cur[0]]), np.array([cur[1]]))[0]
            )
            value = v if math.isfinite(v) else score
        new: Entry = (value, self._tie(tid), tid)
        self._entry[tid] = new
        self._level[tid] = max(self._level.get(tid, -1), level)
        for k, members in enumerate(self._members):
            if tid in members:
                if old is not None:
                    self._pop[k].discard(old)
                self._pop[k].add(new)
            elif k == level:
                members[tid] = None
                self._pop[k].add(new)
        w = self._waits.get(tid)
        if w is not None and old is not None:
            self._waiting[w].discard(old)
            self._waiting[w].add(new)

    def _wait(self, k: int, tid: int) -> None:
        self._unwait(tid)  # re-reported after a restart: one entry, at its current value
        self._waits[tid] = k
        self._waiting[k].add(self._entry[tid])

    def _unwait(self, tid: int) -> None:
        k = self._waits.pop(tid, None)
        if k is not None:
            self._waiting[k].discard(self._entry[tid])

    # --- promotion ----------------------------------------------------------------------------
    def _quota(self, k: int) -> int:
        """Places rung ``k`` may promote: ``floor(n / eta)`` of its ``n`` results (none while
        it holds fewer than ``eta``), ``max(1, floor(n / eta))`` once its population is
        final."""
        n = len(self._pop[k]) // self._eta
        return max(1, n) if k < self._final else n

    def _candidate(self, k: int, history: History, running: int | None = None) -> int | None:
        """The best waiting trial of rung ``k`` that may be promoted now (``running``: the trial
        reporting at this moment counts as available)."""
        reserved = self._reserved.get(k)
        quota = self._quota(k)
        if reserved is None and len(self._promoted[k]) >= quota:
            return None
        waiting, pop = self._waiting[k], self._pop[k]
        i = 0
        while i < len(waiting):
            entry = waiting[i]
            tid = int(entry[2])
            if reserved is None and pop.bisect_left(entry) >= quota:
                return None
            status = history.status(tid)
            if reserved is not None and tid not in reserved:
                i += 1
                continue
            if tid == running or status is TrialStatus.PAUSED:
                return tid
            if status.final:
                self._unwait(tid)  # stopped or failed since: never promotable
                continue
            i += 1
        return None

    def _promote(self, k: int, tid: int) -> None:
        self._unwait(tid)
        self._promoted[k].add(tid)
        reserved = self._reserved.get(k)
        if reserved is not None:
            reserved.discard(tid)

    def next_trial(self, history: History) -> NextTrial | None:
        resume = self.resume_interrupted(history)
        if resume is not None:
            return resume
        for k in range(len(self._pop) - 1, -1, -1):
            tid = self._candidate(k, history)
            if tid is not None:
                self._promote(k, tid)
                self._why[tid] = Decision.proceed(None, f"{self._where(history, tid, k)}: promoted")
                return Resume(tid, self.lease(self._steps[k] + 1))
        return StartNew(self.lease(1))

    def on_result(self, request: ResultRequest) -> Decision:
        step, tid = request.result.step, request.trial_id
        k = self._rung_of(tid, step)
        if k is None:
            return Decision.proceed(self.lease(step + 1))
        history = request.history
        if step != self._steps[k]:
            self._at[(tid, k)] = step
        else:
            self._at.pop((tid, k), None)
        self._sync(history)
        refit = self._row(history, tid, k - 1) if k else False
        self._place(history, tid, k, request.score)
        if refit:
            self._chain.fit(k - 1)
            self._repredict(history, k - 1)
        self._reach(tid, k)
        top = k == len(self._pop)
        again = not top and tid in self._promoted[k]  # re-reported after a restart
        bad = request.score == math.inf  # not finite: never promoted
        if not top and not again and not bad:
            self._wait(k, tid)  # before settling: a final rung's places may go to it
        if self._starved:
            self._settle(history)
        if top:
            return Decision.proceed(self.max_step)
        nxt = self.lease(step + 1)
        rank, n = self._pop[k].bisect_left(self._entry[tid]), len(self._pop[k])
        where = self._where(history, tid, k)
        if again:  # the decision stands
            return Decision.proceed(nxt, f"{where}: already promoted")
        if bad:
            return Decision.stop(f"{where}: {NOT_FINITE}")
        higher = next(
            (j for j in range(len(self._pop) - 1, k, -1)
             if self._candidate(j, history) is not None),
            None,
        )
        if higher is None and self._candidate(k, history, running=tid) == tid:
            self._promote(k, tid)
            return Decision.proceed(nxt, f"{where}: promoted")
        quota = self._quota(k)
        why = (
            f"a trial at rung {higher} goes first" if higher is not None
            else f"fewer than {self._eta} results at the rung" if quota == 0
            else f"top {quota} of {n}, places used" if rank < quota
            else f"not in the top {quota} of {n} yet"
        )
        return Decision.pause(f"{where}: paused ({why})")

    def _where(self, history: History, tid: int, k: int) -> str:
        """``"rank 2/13 at rung 1 (step 3), predicted final acc=0.9"``: where ``tid`` stands
        at rung ``k`` now (naming the step it reported at, when past the rung)."""
        entry = self._entry[tid]
        step, r = self._step_at(tid, k), self._steps[k]
        at = f"step {step}" if step == r else f"step {r}, reported at step {step}"
        return (f"rank {self._pop[k].bisect_left(entry) + 1}/{len(self._pop[k])} at rung {k} "
                f"({at}), predicted final {quote(history.objective, entry[0])}")

    # --- retiring (see the module docstring) --------------------------------------------------
    def _sync(self, history: History) -> None:
        for tid in range(self._seen, len(history)):
            self._pos[tid] = -1
            self._live[0] += 1
        self._seen = len(history)

    def _reach(self, tid: int, k: int) -> None:
        old = self._pos.get(tid)
        if old is not None and k > old:
            self._live[old + 1] -= 1
            self._live[k + 1] += 1
            self._pos[tid] = k

    def _leave(self, tid: int) -> None:
        k = self._pos.pop(tid, None)
        if k is not None:
            self._live[k + 1] -= 1

    def _settle(self, history: History) -> None:
        """Finalize rungs whose population can no longer grow; retire their paused losers."""
        while self._final < len(self._pop) and not any(self._live[: self._final + 1]):
            k = self._final
            self._final += 1  # before the quota: a final rung promotes at least one
            places = max(0, self._quota(k) - len(self._promoted[k]))
            keep: set[int] = set()
            for entry in list(self._waiting[k]):
                tid = entry[2]
                status = history.status(tid)
                if status.final:
                    self._unwait(tid)
                elif len(keep) < places:
                    keep.add(tid)
                elif status is TrialStatus.PAUSED:
                    self._unwait(tid)
                    self._leave(tid)
                    self._retire(history, tid, k, len(keep))
                # else on its way to pausing: retired when the pause arrives
            self._reserved[k] = keep

    def _retire(self, history: History, tid: int, k: int, kept: int) -> None:
        """Name paused ``tid`` in the next ``retired()``, with the reason: rung ``k``'s
        population is final, and its places went to the trials promoted from it and the
        ``kept`` better-predicted ones still waiting."""
        promoted = len(self._promoted[k])
        taken = f"{promoted} promoted" + (
            f", {kept} kept for better-predicted trials" if kept else "")
        self._why[tid] = Decision.stop(
            f"{self._where(history, tid, k)}: not promoted: the rung's population is final and "
            f"its {promoted + kept} place(s) are taken ({taken})")
        self._retired.append(tid)

    def _is_loser(self, tid: int) -> bool:
        k = self._pos.get(tid, -1)
        reserved = self._reserved.get(k)
        return 0 <= k < len(self._pop) and reserved is not None and tid not in reserved and (
            tid not in self._promoted[k]
        )

    def on_trial_end(self, request: EndRequest) -> None:
        history, tid, outcome = request.history, request.trial_id, request.outcome
        self._sync(history)
        if outcome.status.final or (
            outcome is Outcome.INTERRUPTED and history.interruptions(tid) > self.max_interruptions
        ):
            self._leave(tid)
        elif outcome is Outcome.PAUSED and self._is_loser(tid):
            k = self._pos[tid]
            self._unwait(tid)
            self._leave(tid)
            self._retire(history, tid, k, len(self._reserved[k]))
        if self._starved:
            self._settle(history)

    def on_budget_raised(self, history: History) -> None:
        """New trials may start again: rungs are no longer final for want of them."""
        self._starved = False

    def on_start_refused(self, history: History) -> bool:
        self._sync(history)
        self._starved = True
        self._settle(history)
        return any(self._candidate(k, history) is not None for k in range(len(self._pop)))

    def retired(self) -> list[int]:
        if not self._retired:
            return []
        out, self._retired = self._retired, []
        return out

    def paused_decision(self, trial_id: int) -> Decision | None:
        """Why a paused trial was resumed (a ``CONTINUE``: promoted) or retired (a ``STOP``),
        for the engine to journal (``rung.core.engine``); forgotten once asked."""
        return self._why.pop(trial_id, None)

    def state(self) -> dict[str, Any]:
        return {
            "rungs": [
                {
                    "step": self._steps[k],
                    "results": len(self._pop[k]),
                    "promoted": len(self._promoted[k]),
                    "waiting": len(self._waiting[k]),
                    "model_rows": len(self._chain[k].y),
                    "fitted_at": self._chain[k].fitted_at,
                }
                for k in range(len(self._pop))
            ],
        }
