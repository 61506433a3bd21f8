"""Multi-objective asynchronous successive halving (stopping variant).

Schmucker, Donini, Zafar, Salinas and Archambeau, "Multi-objective asynchronous successive
halving", arXiv:2106.12639, 2021. ASHA's rungs (``min_step * eta**k`` below ``max_step``), with
ASHA's scalar ``top_k`` selection at a rung replaced by a multi-objective one, and nothing else
changed: when a trial reports at a rung, every result recorded there so far is ordered by

1. feasibility (with constraints: feasible first, then by total violation; a constraint's
   metric not reported by the rung's step is unknown there and counts as holding, so a
   latency measured only at the end ranks nobody down before it: ``rung.core.constraints``),
2. non-dominated front (NSGA-II sorting of the lower-is-better objective values,
   ``History.values``),
3. inside a front, the order of a greedy epsilon-net (the paper's "EpsNet" selection): start
   from the point best in the first objective, then repeatedly take the point farthest (in
   objectives normalized to the rung's range) from those already taken, so the survivors
   spread along the front instead of crowding one end;

and the trial continues iff it passed this rung before (it re-reports after a restart: the
decision stands, as in ASHA), or its position ``r`` (0-based) among the ``n`` results at the
rung satisfies ``r * eta < n`` (the top ``ceil(n / eta)``, the paper's quota; ASHA's is
``max(1, floor(n / eta))``), or it ties: results with identical objective values and
violation are interchangeable, so they share the positions any of them holds inside
``r * eta < n``, and a tied result continues while fewer of them have passed than they hold.
After ``n`` identical results exactly ``ceil(n / eta)`` have passed (without the tie rule only
the first would). As in ASHA (and in the paper, whose selection is ASHA's with ``top_k``
replaced, and in Syne Tune's ``MOASHA``, which stops a result iff its rank fraction exceeds
``1 / eta``), each decision is made on the rung as it is when the result arrives: no count of
the results that passed earlier caps it, so a result that dominates the ones that went on
before it goes on too (positions inside a front shift as results arrive, so more than
``ceil(n / eta)`` may have passed a rung of ``n``: ASHA's "mispromotions").

A result with an objective that is not finite (NaN, infinite or missing, under
``Objective(nan="worst")``) is stopped at a rung, as in ASHA.

Reasons name the position and the rule that decided it: ``"position 2/4 at rung 0 (step 1)"``
(inside the top ``ceil(n / eta)``), ``"position 3/4 at rung 0 (step 1): not in the top 1/3 by
non-dominated sorting"`` (positions 1 to ``ceil(n / eta)`` go on; ``by feasibility and
non-dominated sorting`` with constraints), a tied result's ``"tied with results inside the top
1/3, takes one of their places"`` or ``"tied, and the places of its tied values are taken"``,
an infeasible one's ``"tied on violation with results inside the top 1/3, which rank first
(earlier trials)"``; an infeasible result's stop names the constraints it violates, with their
values: ``"... : infeasible (latency=140 violates latency <= 100), ranked after every feasible
result: not in the top 1/3 ..."``. Results tied in the ranking share the best position of their
group: identical results, infeasible ones of equal violation (not ordered by their values) and
the non-finite ones; their order, by trial id, still decides.

A trial that skips a rung's step (it reports every few steps) is judged at its first result
past it, with that result's values, as in ASHA ("Results between rungs" in
``rung.schedulers._ladder``).

Cost: a decision does not sort the rung (``mo_rank``, the whole order, is ``O(n^2 m)`` for
``n`` results of ``m`` objectives): each rung's ``RungRanking`` (``rung.schedulers._mo_rank``)
keeps its non-dominated fronts as results arrive and orders only the deciding result's front,
``O(n m)`` array work plus that front's epsilon-net, against the O(log n) of scalar ASHA.
Measured on a simulated study (2 objectives, random search, eta 3, max_step 27, 8 workers,
trials costing nothing; median of 3 runs): 990 trials/s up to 100 trials, 1,270 from 100 to
1,000, 800 from 1,000 to 2,000 and 600 from 2,000 to 3,000.
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np

from rung._validate import check_int
from rung.core.components import BindContext, EndRequest, ResultRequest, Scheduler
from rung.core.events import Decision
from rung.core.history import History
from rung.core.registry import register
from rung.errors import ConfigError
from rung.schedulers._ladder import NOT_FINITE, rung_steps
from rung.schedulers._mo_rank import RungRanking, eps_net_order, mo_rank
from rung.schedulers._reasons import infeasible


@register("scheduler", "mo_asha")
class MOASHA(Scheduler):
    """Asynchronous successive halving for several objectives (and constraints): a rung
    ranks its results by feasibility, non-dominated front and an epsilon-net spread along
    the front (module docstring), and a result goes on iff it is in the top ``ceil(n / eta)``
    of the ``n`` there when it arrives.

    Args:
        reduction_factor: ``eta`` (>= 2): a result goes on iff its position is in the top
            ``ceil(n / eta)`` of its rung.
        min_step: the first rung (no trial stops before it): an integer, not ASHA's
            ``"auto"``.
    """

    version = 6
    changes = {2: "results with identical values at a rung fill the ceil(n/eta) quota "
                  "(before: only the first of them continued)",
               3: "a trial that passed a rung and re-reports there after a restart goes on, "
                  "as in ASHA (before: it was judged again and could be stopped once others "
                  "had filled the quota)",
               4: "a trial that skips a rung's step (it reports every few steps) is judged "
                  "at its first result past it (before: it was never judged and ran to "
                  "max_step)",
               5: "a result with an objective that is not finite (NaN, infinite or missing "
                  "under nan='worst') is stopped (before: it passed as the first result at a "
                  "rung, or when the quota had room)",
               6: "a result goes on iff its position is in the top ceil(n/eta) of its rung, "
                  "as in ASHA and the paper (before: also only while fewer than ceil(n/eta) "
                  "had passed the rung, so a result dominating the ones that went on was "
                  "stopped, with a reason naming a position inside the top); with "
                  "constraints, a constraint's metric not reported by the rung's step counts "
                  "as holding (before: infeasible, so a metric reported only at the end "
                  "ranked every result by trial id), and an infeasible result's stop names "
                  "the constraints it violates"}

    def __init__(self, reduction_factor: int = 3, min_step: int = 1) -> None:
        self.reduction_factor = reduction_factor
        self.min_step = min_step

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        eta = check_int("scheduler.params.reduction_factor", self.reduction_factor, 2)
        given: object = self.min_step  # a spec's value, whatever the annotation says
        if given == "auto":  # ASHA's: it chooses the first rung by one objective
            raise ConfigError(key="scheduler.params.min_step", message=(
                "'auto' (the first rung chosen from complete curves) is only for asha and "
                "async_hyperband: give mo_asha an integer >= 1"))
        r = check_int("scheduler.params.min_step", self.min_step, 1)
        self.rungs = rung_steps(r, eta, ctx.max_step)
        self._rung_index = {s: k for k, s in enumerate(self.rungs)}
        # trial -> the step of its result at rung k (the rung's step, or its first report past
        # it when it skipped the rung's step)
        self._members: list[dict[int, int]] = [{} for _ in self.rungs]
        self._passed: list[set[int]] = [set() for _ in self.rungs]
        # each rung's results as ranked, and the trials whose result there may have changed
        # since it was read from the history (every result of theirs, every end of a run)
        self._ranked = [RungRanking() for _ in self.rungs]
        self._stale: list[set[int]] = [set() for _ in self.rungs]
        self._history: History | None = None
        self._results_seen = 0  # History.n_results after the last result this scheduler saw

    def fidelity_steps(self) -> list[int]:
        """The rung steps and ``max_step``: where it compares trials (the contract of the
        schedulers with rungs, read by ``rung.analysis``, the plots and the dashboard; no
        decision reads it)."""
        return [*self.rungs, self.max_step]

    def lease(self, start_step: int) -> int:
        i = bisect.bisect_left(self.rungs, start_step)
        return self.rungs[i] if i < len(self.rungs) else self.max_step

    def on_result(self, request: ResultRequest) -> Decision:
        step = request.result.step
        tid = request.trial_id
        h = request.history
        self._note(tid)
        if h is not self._history or h.n_results != self._results_seen + 1:
            # results this scheduler did not see (a run's results after its decision, an
            # invalid metric's): any result at any rung may have changed
            self._history = h
            for members, stale in zip(self._members, self._stale, strict=True):
                stale.update(members)
        self._results_seen = h.n_results
        k = self._rung_of(tid, step)
        if k is None:
            return Decision.proceed(self.lease(step + 1))
        members = self._members[k]
        members[tid] = step
        ranked = self._ranked[k]
        stale = self._stale[k]
        stale.discard(tid)
        for t in sorted(stale):
            ranked.put(t, h.values(t, members[t]), h.violation(t, members[t], ranking=True))
        stale.clear()
        values = h.values(tid, step)
        viol = h.violation(tid, step, ranking=True)
        ranked.put(tid, values, viol)
        st = ranked.standing(tid)
        n, eta, shown = st.n, self.reduction_factor, st.shown
        # ties: results identical to this one are interchangeable, so they share the places
        # any of them holds inside the top; the position a reason names is the best of its
        # ranking group (st.shown: an infeasible result ranks by its violation alone, not its
        # values, a non-finite one after every other); their order still decides
        tied = len(st.tied_ids) > 1
        r = self.rungs[k]
        at = f"step {r}" if step == r else f"step {r}, reported at step {step}"
        where = f"position {shown + 1}/{n} at rung {k} ({at})"
        if tid in self._passed[k]:  # re-reported after a restart: the decision stands
            return Decision.proceed(self.lease(step + 1), f"{where}: already promoted")
        if not np.all(np.isfinite(values)):
            return Decision.stop(f"{where}: {NOT_FINITE}")
        if not tied and st.position * eta < n:
            self._passed[k].add(tid)
            return Decision.proceed(self.lease(step + 1), where)
        if tied:
            places = sum(1 for pos in st.tied_positions if pos * eta < n)
            taken = sum(1 for t in st.tied_ids if t in self._passed[k])
            if taken < places:
                self._passed[k].add(tid)
                return Decision.proceed(self.lease(step + 1), f"{where}: tied with results "
                                        f"inside the top 1/{eta}, takes one of their places")
        note = ""
        if viol > 0:
            note = f"{infeasible(h, tid, step) or 'infeasible'}, ranked after every feasible " \
                   "result: "
        by = "feasibility and non-dominated sorting" if h.constraints else "non-dominated sorting"
        why = f"not in the top 1/{eta} by {by}"
        if tied and shown * eta < n:
            why = f"tied, and the places of its tied values in the top 1/{eta} are taken"
        elif shown * eta < n:  # an infeasible result tied on violation, ordered by trial id
            why = f"tied on violation with results inside the top 1/{eta}, which rank first " \
                  "(earlier trials)"
        return Decision.stop(f"{where}: {note}{why}")

    def on_trial_end(self, request: EndRequest) -> None:
        """A run ended: its trial's results may rank differently now (a completed trial's
        result is final, so a constraint's unknown metric counts as violated)."""
        self._note(request.trial_id)

    def _note(self, trial_id: int) -> None:
        """The trial's results at the rungs are to be read from the history again."""
        for members, stale in zip(self._members, self._stale, strict=True):
            if trial_id in members:
                stale.add(trial_id)

    def _rung_of(self, trial_id: int, step: int) -> int | None:
        """The rung a result counts at: its step's rung, or the highest rung at or below
        ``step`` for the trial's first result past that rung's step (as ``Ladder.rung_of``)."""
        k = self._rung_index.get(step)
        if k is not None:
            return k
        k = bisect.bisect_right(self.rungs, step) - 1
        if k < 0:
            return None
        at = self._members[k].get(trial_id)
        return k if at is None or step <= at else None

    def state(self) -> dict[str, Any]:
        return {
            "rungs": [
                {"step": s, "results": len(m), "continued": len(p)}
                for s, m, p in zip(self.rungs, self._members, self._passed, strict=True)
            ]
        }


__all__ = ["MOASHA", "eps_net_order", "mo_rank"]
