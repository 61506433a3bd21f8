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

Cost: a decision sorts the rung, ``O(n^2 m)`` for ``n`` results at it, not the O(log n) of
scalar ASHA: measured on a simulated study (2 objectives, random search, 8 workers, trials
costing nothing), 449 trials/s up to 100 trials and 30 per second from 100 to 1,000; fine
next to trials of seconds, a bottleneck for near-instant ones past a few thousand.
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np

from rung._validate import check_int
from rung.core.components import BindContext, ResultRequest, Scheduler
from rung.core.events import Decision
from rung.core.registry import register
from rung.errors import ConfigError
from rung.multiobjective import nondominated_sort
from rung.schedulers._ladder import NOT_FINITE, rung_steps
from rung.schedulers._reasons import infeasible


def eps_net_order(Y: np.ndarray) -> list[int]:
    """Greedy farthest-point order of the rows of ``Y`` (objectives normalized to [0, 1])."""
    n = Y.shape[0]
    if n <= 1:
        return list(range(n))
    lo, hi = Y.min(axis=0), Y.max(axis=0)
    N = (Y - lo) / np.where(hi > lo, hi - lo, 1.0)
    first = int(np.lexsort(N.T[::-1])[0])
    order = [first]
    dmin = np.linalg.norm(N - N[first], axis=1)
    dmin[first] = -1.0
    for _ in range(n - 1):
        nxt = int(np.argmax(dmin))  # ties: lowest index (the earlier trial)
        order.append(nxt)
        dmin = np.minimum(dmin, np.linalg.norm(N - N[nxt], axis=1))
        dmin[order] = -1.0
    return order


def mo_rank(values: np.ndarray, violation: np.ndarray, ids: np.ndarray) -> list[int]:
    """Row indices best first: feasibility, front, epsilon-net order inside each front."""
    n = values.shape[0]
    finite = np.all(np.isfinite(values), axis=1)
    viol = np.where(finite, violation, np.inf)
    ok = viol == 0.0
    front = np.full(n, n + 1)
    if ok.any():
        front[ok] = nondominated_sort(values[ok])
    out: list[int] = []
    for f in sorted(set(front[ok].tolist())):
        members = np.flatnonzero(ok & (front == f))
        members = members[np.argsort(ids[members], kind="stable")]
        out.extend(int(members[i]) for i in eps_net_order(values[members]))
    bad = np.flatnonzero(~ok)
    out.extend(int(i) for i in bad[np.lexsort((ids[bad], viol[bad]))])
    return out


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
        k = self._rung_of(tid, step)
        if k is None:
            return Decision.proceed(self.lease(step + 1))
        h = request.history
        members = self._members[k]
        members[tid] = step
        ids = np.array(list(members))
        values = np.array([h.values(t, at) for t, at in members.items()]).reshape(len(ids), -1)
        viol = np.array([h.violation(t, at, ranking=True) for t, at in members.items()])
        order = mo_rank(values, viol, ids)
        me = int(np.flatnonzero(ids == tid)[0])
        position = np.empty(len(order), dtype=int)
        position[order] = np.arange(len(order))
        rank = int(position[me])
        n, eta = len(ids), self.reduction_factor
        # ties: results identical to this one are interchangeable, so they share the places
        # any of them holds inside the top
        same = np.all(values == values[me], axis=1) & (viol == viol[me])
        same[me] = True  # a non-finite row equals nothing, not even itself
        tied = bool(same.sum() > 1)
        # the position a reason names: a result tied with others in the ranking shares the
        # best position of their group (an infeasible one ranks by its violation alone, not its
        # values, a non-finite one after every other); their order still decides
        bad = np.where(np.all(np.isfinite(values), axis=1), viol, np.inf)
        group = (bad == bad[me]) if bad[me] > 0 else same
        shown = int(position[group].min())
        r = self.rungs[k]
        at = f"step {r}" if step == r else f"step {r}, reported at step {step}"
        where = f"position {shown + 1}/{n} at rung {k} ({at})"
        if tid in self._passed[k]:  # re-reported after a restart: the decision stands
            return Decision.proceed(self.lease(step + 1), f"{where}: already promoted")
        if not np.all(np.isfinite(values[me])):
            return Decision.stop(f"{where}: {NOT_FINITE}")
        if not tied and rank * eta < n:
            self._passed[k].add(tid)
            return Decision.proceed(self.lease(step + 1), where)
        if tied:
            places = sum(1 for pos, row in enumerate(order) if same[row] and pos * eta < n)
            taken = sum(1 for t in ids[same] if int(t) in self._passed[k])
            if taken < places:
                self._passed[k].add(tid)
                return Decision.proceed(self.lease(step + 1), f"{where}: tied with results "
                                        f"inside the top 1/{eta}, takes one of their places")
        note = ""
        if viol[me] > 0:
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
