"""The best-trial rule of ``History`` (a mixin: ``History`` holds the state it reads): which
trials may be the best (``best_candidates``: feasible, not failed by themselves, with a value,
final) and the best of them (``best_trial_id``) from the running per-step bests, without
reading every trial on the hot path. ``Study.best_trial``, ``Study.pareto_front``, ``rung show``,
``rung ls`` and the dashboard all read it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rung.core.records import Constraint, Objective, Trial, TrialStatus

if TYPE_CHECKING:
    from rung.core.history import _TrialState
    from rung.core.sorted_table import SortedTable


def cut_by_max_time(error: str | None) -> bool:
    """A trial's ``error`` says the session's ``max_time`` ran out while it ran (the driver
    killed it; not its own ``trial_timeout``): it did not fail by itself."""
    return error is not None and error.startswith("timeout: still running") \
        and "after max_time" in error


class BestRule:
    """``History``'s best-trial rule; the attributes below are ``History``'s."""

    _trials: dict[int, _TrialState]
    _by_status: dict[TrialStatus, dict[int, None]]
    _best_at_step: dict[int, tuple[float, int]]
    _best_completed_early: tuple[float, int] | None
    _top_step: int
    max_step: int
    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...]

    def _table(self, step: int) -> SortedTable | None:
        raise NotImplementedError

    def violation(self, trial_id: int, step: int | None = None, ranking: bool = False) -> float:
        raise NotImplementedError

    def values(self, trial_id: int, step: int | None = None) -> tuple[float, ...]:
        raise NotImplementedError

    def trial(self, trial_id: int, cache: bool = True) -> Trial:
        raise NotImplementedError

    def is_final(self, trial_id: int) -> bool:
        """The trial's result at its highest step is its final one: it reached ``max_step``,
        or it completed by itself below it (its objective returned early, as a PBT member
        that met its goal). A trial stopped, paused, failed or still running below
        ``max_step`` has no final result. The one rule ``best_candidates`` and
        ``best_trial_id`` (so ``Study.best_trial`` and ``Study.pareto_front``) apply."""
        st = self._trials[trial_id]
        last = st.last_step
        return last >= self.max_step or (last > 0 and st.status is TrialStatus.COMPLETED)

    def best_candidates(self) -> list[int]:
        """The trials whose result counts for the best, in id order: the feasible ones
        (``violation`` 0 at their highest step: every constraint holds for the latest value
        of its metric the trial reported; without constraints, every trial with a result)
        that did not fail (``counts_for_best``), that have a value there (``has_value``: a
        NaN, infinite or missing objective metric, scored ``inf``, is no value to be the
        best with) and whose result is final (``is_final``); while none is, those at the
        highest step any of them reached (a trial stopped early with a value is the best
        when every final result is NaN; none when no trial has a value). ``best_trial_id``
        is the best of them by score; ``Study.pareto_front`` the non-dominated ones.
        O(trials)."""
        feasible = [t for t in self._trials if self._trials[t].last_step > 0
                    and self.counts_for_best(t) and self.violation(t) == 0.0
                    and self.has_value(t)]
        final = [t for t in feasible if self.is_final(t)]
        if final or not feasible:
            return final
        top = max(self._trials[t].last_step for t in feasible)
        return [t for t in feasible if self._trials[t].last_step == top]

    def has_value(self, trial_id: int) -> bool:
        """The trial's result at its highest step has a finite value of every objective (a
        single objective's: a finite score): it may be the best trial and on the Pareto
        front."""
        st = self._trials[trial_id]
        if not math.isfinite(st.scores.get(st.last_step, math.inf)):
            return False
        return len(self.objectives) == 1 or all(math.isfinite(v) for v in self.values(trial_id))

    def feasibility(self, trial_id: int) -> bool | None:
        """Whether the trial meets every constraint at its highest step, as a reader shows
        it: ``True`` / ``False``, or ``None`` where that is not known: no result yet, it
        failed by itself, or it has no final result and a constraint's metric is not
        reported yet while those reported hold (a metric reported only at the end, of a trial
        stopped early: ``violation(..., ranking=True)``). ``violation`` is the strict rule
        (an unreported metric violates) that the best trial and the front go by."""
        if not self._trials[trial_id].last_step or not self.counts_for_best(trial_id):
            return None
        if self.violation(trial_id) == 0.0:
            return True
        if not self.is_final(trial_id) and self.violation(trial_id, ranking=True) == 0.0:
            return None
        return False

    def counts_for_best(self, trial_id: int) -> bool:
        """The trial may be the best: it did not fail, or only the session's ``max_time``
        cut it (``cut_by_max_time``). A failed trial's results stay in the per-step tables
        (schedulers rank against them) but never make it ``best_trial`` or put it on the
        Pareto front: its run raised or reported something invalid, so its final checkpoint
        or model may not exist (Optuna's best trial is likewise a complete one)."""
        st = self._trials[trial_id]
        return st.status is not TrialStatus.FAILED or cut_by_max_time(st.error)

    def _top_candidate_step(self) -> int:
        """The highest step a trial that ``counts_for_best``, is feasible and ``has_value``
        there reached (``top_step`` while no trial failed, there are no constraints and the
        best result there has a value; O(trials) otherwise): an infeasible trial, or one
        without a value, further on hides no candidate."""
        if not self._by_status[TrialStatus.FAILED] and not self.constraints \
                and len(self.objectives) == 1:
            best = self._best_at_step.get(self._top_step)
            if best is None or math.isfinite(best[0]):
                return self._top_step
        return max((st.last_step for st in self._trials.values()
                    if self.counts_for_best(st.id) and self.violation(st.id) == 0.0
                    and self.has_value(st.id)),
                   default=0)

    def best_trial_id(self) -> int | None:
        """The best of ``best_candidates`` (never a trial that failed by itself) by score at
        its highest step (lower is better; ties go to the earlier trial, with several
        objectives after the next objectives' values: ``better``); ``None`` while there
        is none (no result yet, or no feasible trial). Without reading every trial: the
        running bests of each step and of the feasible trials that completed below
        ``max_step`` give the same trial as the scan (O(1) without constraints while the best
        result did not fail; otherwise the results passed over, infeasible or failed, are
        read in order of score, and while no result is final and some trial failed, the
        trials' highest steps)."""
        final = self._best_feasible_at(self.max_step)
        early = self._best_completed_early
        keys = [k for k in (final, early) if k is not None]
        if keys:
            return (keys[0] if len(keys) == 1 or self.better(keys[0], keys[1]) else keys[1])[1]
        top = self._top_candidate_step()
        if top == 0:
            return None
        best = self._best_feasible_at(top)
        return best[1] if best is not None else None

    def _best_feasible_at(self, step: int) -> tuple[float, int] | None:
        """The best ``(score, id)`` at ``step`` of a trial that ``counts_for_best``, meets
        every constraint there and has a value there (a finite score; with several
        objectives, finite values of all); O(1) while the step's best result is such a
        trial's."""
        multi = len(self.objectives) > 1
        if not self.constraints and not multi:
            best = self._best_at_step.get(step)
            if best is None or not math.isfinite(best[0]):
                return None
            if self.counts_for_best(best[1]) and self._trials[best[1]].last_step == step:
                return best
        table = self._table(step)
        found: tuple[float, int] | None = None
        for score, tid in table if table is not None else ():
            if not math.isfinite(score) or (found is not None and score != found[0]):
                return found  # sorted: no result further on has a value, or a tie
            # a trial further on is judged at its own highest step (best_candidates)
            if self._trials[tid].last_step == step and self.counts_for_best(tid) and (
                    not self.constraints or self.violation(tid, step) == 0.0) and (
                    not multi or self.has_value(tid)):
                key = float(score), int(tid)
                if not multi:
                    return key
                if found is None or self.better(key, found):
                    found = key  # (ties on the first objective: the next ones decide)
        return found

    def better(self, a: tuple[float, int], b: tuple[float, int] | None) -> bool:
        """Whether ``(score, id)`` ``a`` is a better best trial than ``b``: a lower score;
        a tie goes to the earlier trial, with several objectives after the next objectives'
        values in order (a trial the other dominates is never preferred)."""
        if b is None:
            return True
        if a[0] != b[0] or len(self.objectives) == 1:
            return a < b
        return (self.values(a[1]), a[1]) < (self.values(b[1]), b[1])

    def best_trial(self) -> Trial | None:
        tid = self.best_trial_id()
        return None if tid is None else self.trial(tid)

