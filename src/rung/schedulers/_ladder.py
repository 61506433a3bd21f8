"""The rung ladder of asynchronous successive halving, shared by ``ASHA`` and ``AsyncHyperband``.

Li, Jamieson, Rostamizadeh, Gonina, Ben-tzur, Hardt, Recht and Talwalkar, "A System for Massively
Parallel Hyperparameter Tuning", MLSys 2020, Algorithm 2.

A ladder has rungs at ``min_step * eta**k`` for every ``k`` with ``min_step * eta**k < max_step``
(``rung_steps``); ``max_step`` is its top. Each rung keeps every result recorded at its step in a
``RungTable`` (a ``SortedTable`` of ``(key, trial id)``, best first; both in
``rung.schedulers._rung_table``). The key is the result's score, or with constraints ``(violation,
score)`` (see "Constraints" below); "score" below means that key. A trial that reports at rung
``k`` is ranked among the ``n`` results recorded there so far (the new one included):

``variant="stopping"``
    It continues iff it is inside the top ``max(1, floor(n / eta))`` (``RungTable.keeps``):
    with ``b`` results strictly better than it, iff ``b < keeps`` and fewer than ``keeps - b``
    results of its exact score have passed (``RungTable.admits``); otherwise it is stopped for
    good. Without ties this is ``rank < keeps``. ``floor(n / eta)`` is Algorithm 2's
    ``top_k(rung, |rung| / eta)``; while a rung holds fewer than ``eta`` results the best result
    so far continues (the first result always continues). A stop names the rung's cutoff in
    the metric's own terms: ``"not in the top 1/3 (cutoff accuracy=0.912)"``
    (``rung.schedulers._reasons``).

``variant="promotion"``
    It is paused at the rung (its worker saves a checkpoint and frees the slot). ``get_job``
    resumes, on every free worker, the best not-yet-promoted paused trial inside the top
    ``floor(n_k / eta)`` of the highest rung that has one (Algorithm 2); if there is none, a new
    trial starts. A trial that reports where ``get_job`` would pick it at once is promoted in
    place (no checkpoint round trip), which is what Algorithm 2 does when the freed worker is
    its own.

**Results between rungs.** An objective may report every few steps (an evaluation every 5
epochs, Optuna's ``trial.report`` at sparse steps) and so skip a rung's step. A trial's first
result past rung ``k``'s step, when it has no result there, counts at rung ``k`` (the highest
rung at or below it; rungs it skipped entirely are skipped), and is decided there as above, as
Ray Tune's ASHA records a result at the first report at or past a milestone. Its worker waits
for that decision: a worker past its lease waits at every report. Reasons name both steps
(``"rank 2/5 at rung 1 (step 3, reported at step 4)"``).

**Results that are not finite.** With ``Objective(nan="worst")`` a NaN, infinite or missing
metric scores ``inf``: it is recorded (it counts in ``n``, ranked last) but never continues or
waits for a promotion at a deciding rung, in either variant: it is stopped, whatever the quota
or ties would allow (a diverged model does not recover, and the tie rule would otherwise give a
place to one of several ``inf`` results, or the first result of a rung to an ``inf``).

**Constraints.** With outcome constraints a rung ranks by ``rank_key``
(``rung.schedulers._rung_table``): feasible results first, by score, then infeasible ones by
total violation, then score. A constraint's metric not reported by the rung's step is unknown
there and counts as holding (a latency measured only at the end ranks nobody down before the
end; ``rung.core.constraints``). Quotas, ties (equal keys) and both variants are unchanged: an
infeasible result goes on only when fewer than the quota of results rank before it (feasible
ones, and infeasible ones of less violation), as the first result of a rung always does. A stop
or pause of an infeasible result names the constraints it violates, with their values: ``"rank
5/6 at rung 0 (step 1): infeasible (latency=140 violates latency <= 100), ranked after every
feasible result: not in the top 1/3 (cutoff loss=0.41)"``; the cutoff names the objective's
value when the last result that goes on is feasible, and ``"cutoff: an infeasible result,
violation 20"`` otherwise. Without constraints nothing changes.

**Ties.** Equal scores are common at low fidelity (a model that still predicts the majority
class). In the stopping variant the places a tied score has inside the quota are filled by the
tied results as they arrive: after ``n`` tied results exactly ``max(1, floor(n / eta))`` have
passed. The decision is final when a result arrives, so no rule can both fill the quota exactly
at every ``n`` and choose among tied results by anything but arrival: the places open at the
arrivals that grow the quota (the 1st, then the ``2 eta``-th, ``3 eta``-th, ...), spread over
the arrival sequence rather than given to its head. In the promotion variant and in the
sorted tables' ranks, ties go to the lower trial id: the tied trials wait together, a new tied
arrival sorts after them and never displaces a promoted one, so exactly ``floor(n / eta)`` of
``n`` tied results are promotable, deterministically and without any random draw.

**Quotas.** ``quota="ceil"`` (a compatibility switch; default ``"floor"`` as above) keeps
``ceil(n / eta)`` in both variants, the count Ray Tune's ASHA approaches and scikit-learn's
successive halving keeps. Ray Tune's rule itself is a percentile of the earlier results, not a
rank quota: where the two differ is in ``docs/algorithm-notes.md``.

Rungs below ``Ladder.level`` (raised by a fidelity guard, or set by ``min_step="auto"``'s
``FirstRung``; both in ``rung.schedulers._guard``) make no stop or pause decision; with
``min_step="auto"`` its probes are recorded at every rung but never stopped or paused.

**Overdue trials** (``min_step="auto"``, stopping variant). Until the first estimate no rung
decides, so with more workers than probes the trials started beside the probes stream past the
rungs uncut. Once a rung below a trial's current step decides, the trial is judged at its next
report, once, at the highest deciding rung it passed, on its score there among every result
recorded at that rung so far (the stopping rule above): it goes on or is stopped. The
promotion variant does not judge late (a pause needs a checkpoint at the rung); such trials
run on to their next deciding rung.

**Retiring paused trials (promotion variant).** A trial paused at rung ``k`` outside the top
``floor(n_k / eta)`` may become promotable while rung ``k`` grows, so it stays paused as long as
any trial may still report at rung ``k``. That stops being possible once (a) no new trial can
start (the engine called ``on_start_refused``) and (b) no live trial (launched, running, paused,
or interrupted and still to be resumed) has yet to report at rung ``k``. Rung ``k``'s population
is then final, and its quota becomes ``max(1, floor(n_k / eta))`` (``keeps``, as in the
stopping variant and in synchronous successive halving cut short by the budget), so a study
that ends with fewer than ``eta`` results at a rung still carries its best trial on to
``max_step``; its paused trials outside that quota can never be promoted and are retired
(``Scheduler.retired``: the engine ends them stopped and releases their checkpoints); a loser
still on its way to pausing is retired when its pause arrives. Retiring rung ``k``'s losers can
make rung ``k + 1`` final in turn. The ladder counts live trials by the highest rung each has
reported at, so the test costs ``O(number of rungs)`` per event. A study that ends because
``Budget.max_steps`` or ``max_time`` is spent never tells the scheduler: its paused trials keep
their checkpoints, so the study can still promote them once its budget is raised
(``Study.set_budget``).

**Invariant.** Every pass (stopping) or promotion was inside the top ``1/eta`` of its rung at
the moment it was made. The *count* of passes is not bounded by the rung's final quota: each is
decided with the ``n`` known at that moment (the paper's "mispromotions", a vanishing fraction
as the rung grows).

Complexity: a report at a rung costs ``O(log n)`` comparisons and an insertion that moves at
most one block of a ``SortedTable``; ``get_job`` looks at the head of each rung's waiting list,
``O(number of rungs * log n)`` plus trials still on their way to a pause.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

from rung.core.components import Resume
from rung.core.events import Action, Decision
from rung.core.history import History
from rung.core.records import TrialStatus
from rung.schedulers._ladder_scheduler import QUOTAS, VARIANTS, RetiringLadders
from rung.schedulers._reasons import quote
from rung.schedulers._rung_table import (
    Key,
    RungTable,
    infeasible_note,
    key_score,
    key_violation,
    rank_key,
    rung_steps,
)

#: Why a result that is not finite is stopped at a deciding rung.
NOT_FINITE = "its score is not finite (the metric was NaN, infinite or missing)"
#: the ``changes`` entries of ASHA and AsyncHyperband (both on ``Ladder``) for the versions in
#: which the ladder itself changed: a sparse reporter judged between rungs, non-finite results
LADDER_CHANGES = {
    6: "a trial that skips a rung's step (it reports every few steps) is judged at its first "
       "result past it, at the highest rung at or below that step; min_step='auto' measures "
       "such curves there (before: it was never judged and ran to max_step)",
    7: "a result that is not finite (NaN, infinite or missing under Objective(nan='worst')) is "
       "stopped at a deciding rung (before: it continued as the first result of a rung or when "
       "tied results filled the quota, and could be promoted in the promotion variant)",
    8: "with constraints, a rung ranks feasible results first, then infeasible ones by total "
       "violation (a constraint's metric not reported by the rung's step counts as holding), "
       "and a stop or pause names the constraints violated (before: constraints were ignored, "
       "so an infeasible result with a better score went on and a feasible one stopped); "
       "studies without constraints decide as in version 7",
}


class Ladder:
    """The rungs of one ASHA bracket and both variants' decisions on them (shared by ``ASHA``
    and ``AsyncHyperband``)."""

    def __init__(
        self, rungs: list[int], eta: int, max_step: int, promotion: bool, ceil: bool = False
    ) -> None:
        self.rungs = rungs
        self.eta = eta
        self.max_step = max_step
        self.promotion = promotion
        self.tables = [RungTable(s, ceil) for s in rungs]
        self.index = {s: k for k, s in enumerate(rungs)}
        self.level = 0  # first rung that makes decisions (raised by a guard)
        self.below = "below the grace period"  # reason at rungs below ``level``
        self.overdue = False  # stopping variant: judge trials that passed a rung while it was
        # below ``level`` and is deciding now (``min_step="auto"``, see "Overdue trials")
        self.judged: set[int] = set()  # trials judged at a deciding rung (with ``overdue``)
        # promotion variant: live trials by the highest rung they reported at (-1: none yet),
        # counted in ``live[k + 1]``; rungs ``0 .. final - 1`` have their final population
        self.position: dict[int, int] = {}
        self.live = [0] * (len(rungs) + 1)
        self.final = 0

    # --- live trials and final rungs (promotion variant) ------------------------------------
    def join(self, trial_id: int) -> None:
        """A new trial of this ladder (it has reported at no rung)."""
        if trial_id not in self.position:
            self.position[trial_id] = -1
            self.live[0] += 1

    def leave(self, trial_id: int) -> None:
        """A trial ended for good (or will never be resumed): it reaches no further rung."""
        k = self.position.pop(trial_id, None)
        if k is not None:
            self.live[k + 1] -= 1

    def _reached(self, trial_id: int, k: int) -> None:
        old = self.position.get(trial_id)
        if old is not None and k > old:
            self.live[old + 1] -= 1
            self.live[k + 1] += 1
            self.position[trial_id] = k

    def is_loser(self, trial_id: int) -> bool:
        """Paused at a rung whose population is final, outside its top ``floor(n / eta)``:
        never promotable."""
        k = self.position.get(trial_id, -1)
        if not 0 <= k < self.final:
            return False
        table = self.tables[k]
        key = table.entered[trial_id]
        return (
            trial_id not in table.passed
            and table.table.bisect_left((key, trial_id)) >= table.keeps(self.eta)
        )

    def settle(self, history: History) -> list[int]:
        """Mark the rungs whose population became final (the caller knows no new trial can
        start) and return their paused losers, which leave the ladder."""
        out: list[int] = []
        while self.final < len(self.tables) and not any(self.live[: self.final + 1]):
            table = self.tables[self.final]
            quota = table.keeps(self.eta)
            self.final += 1
            waiting = table.waiting
            i = len(waiting)
            while i and table.table.bisect_left(waiting[i - 1]) >= quota:
                i -= 1
            for entry in [waiting[j] for j in range(i, len(waiting))]:
                tid = int(entry[1])
                status = history.status(tid)
                if status is TrialStatus.PAUSED:
                    waiting.remove(entry)
                    self.leave(tid)
                    out.append(tid)
                elif status.final:
                    waiting.remove(entry)
                # else still on its way to pausing: retired when its pause arrives
        return out

    def lease(self, start_step: int) -> int:
        """The first active rung at or after ``start_step`` (else ``max_step``)."""
        i = max(bisect.bisect_left(self.rungs, start_step), self.level)
        return self.rungs[i] if i < len(self.rungs) else self.max_step

    def decide(
        self, trial_id: int, step: int, score: float, history: History, probe: bool = False
    ) -> Decision:
        """The decision on a result. A ``probe`` (``min_step="auto"``) is recorded in the rung
        tables like any trial but never stopped or paused: it runs to ``max_step``."""
        k = self.rung_of(trial_id, step)
        if self.overdue and not probe and (k is None or k < self.level):
            late = self.overdue_rung(trial_id, step)
            if late is not None:
                return self._judge_late(trial_id, step, late, history)
        if k is None:
            return Decision.proceed(self.max_step if probe else self.lease(step + 1))
        table = self.tables[k]
        key = rank_key(history, trial_id, step, score)
        rank, n = table.add(trial_id, key, step)
        if self.promotion:
            self._reached(trial_id, k)
        where = f"rank {rank + 1}/{n} at rung {k} ({self._steps(k, step)})"
        if probe:
            table.mark(trial_id)
            return Decision.proceed(self.max_step, f"{where}: probe, runs to max_step")
        nxt = self.lease(step + 1)
        if k < self.level:
            table.mark(trial_id)
            return Decision.proceed(nxt, f"{where}: {self.below}")
        if self.overdue:
            self.judged.add(trial_id)
        if trial_id in table.passed:  # re-reported after a restart: the decision stands
            return Decision.proceed(nxt, f"{where}: already promoted")
        if score == math.inf:  # ranked last, and never passes: see "Results that are not finite"
            return Decision.stop(f"{where}: {NOT_FINITE}")
        eta = self.eta
        if not self.promotion:
            keeps = table.keeps(eta)
            if table.admits(key, eta):
                table.mark(trial_id)
                if rank < keeps:
                    return Decision.proceed(nxt, where)
                return Decision.proceed(nxt, f"{where}: tied at the cutoff, fills the quota")
            cutoff = table.cutoff(eta)
            full = "; the places of its tied value are taken" if key == cutoff else ""
            return Decision.stop(
                f"{where}: {infeasible_note(history, trial_id, step, key)}not in the top 1/{eta} "
                f"({_cutoff(history, cutoff)}){full}"
            )
        # promotion variant: would Algorithm 2, run for the worker this trial frees, pick it?
        table.wait(trial_id)
        higher = next(
            (j for j in range(len(self.tables) - 1, k, -1)
             if self.tables[j].candidate(eta, history, final=j < self.final) is not None),
            None,
        )
        final = k < self.final
        if higher is None and table.candidate(eta, history, trial_id, final) == trial_id:
            self.promote(k, trial_id)
            return Decision.proceed(nxt, f"{where}: promoted")
        quota = table.keeps(eta) if final else table.quota(eta)
        why = (
            f"a trial at rung {higher} goes first" if higher is not None
            else f"promotable: top {quota} of {n}" if rank < quota
            else f"{infeasible_note(history, trial_id, step, key)}not in the top {quota} of {n} yet"
        )
        return Decision.pause(f"{where}: paused ({why})")

    def rung_of(self, trial_id: int, step: int) -> int | None:
        """The rung a result at ``step`` counts at: rung ``k`` for a result at its step, and
        for the trial's first result past it when it did not report there (it reports every
        few steps), ``k`` the highest rung at or below ``step`` (see "Results between rungs");
        ``None`` for any other result. ``O(log(number of rungs))``."""
        k = self.index.get(step)
        if k is not None:
            return k
        k = bisect.bisect_right(self.rungs, step) - 1
        if k < 0:
            return None
        at = self.tables[k].at.get(trial_id)
        # a later result of a trial recorded at rung k is not a rung result; one at or before
        # the step it was recorded at is the same result again, after a restart
        return k if at is None or step <= at else None

    def _steps(self, k: int, step: int) -> str:
        """``step s`` of rung ``k``, and the step the result came from when it skipped it."""
        s = self.rungs[k]
        return f"step {s}" if step == s else f"step {s}, reported at step {step}"

    def overdue_rung(self, trial_id: int, step: int) -> int | None:
        """The highest deciding rung below ``step`` at which ``trial_id`` reported without
        being judged (it passed it while the rung was below ``level``), else ``None``."""
        if trial_id in self.judged:
            return None
        i = bisect.bisect_left(self.rungs, step) - 1  # the highest rung strictly below step
        while i >= self.level:
            if trial_id in self.tables[i].entered:
                return i
            i -= 1
        return None

    def _judge_late(self, trial_id: int, step: int, k: int, history: History) -> Decision:
        """The stopping variant's decision at rung ``k`` for a trial that passed it uncut
        before the rung decided, made now on its score there among every result recorded
        at the rung so far."""
        self.judged.add(trial_id)
        table = self.tables[k]
        table.unmark(trial_id)
        key = table.entered[trial_id]
        rank = table.table.bisect_left((key, trial_id))
        where = (f"rank {rank + 1}/{len(table.table)} at rung {k} (step {self.rungs[k]}), "
                 f"judged late: it passed the rung before the rung decided")
        finite = key_score(key) != math.inf
        if finite and table.admits(key, self.eta):
            table.mark(trial_id)
            return Decision.proceed(self.lease(step + 1), where)
        if not finite:
            return Decision.stop(f"{where}; {NOT_FINITE}")
        bad = infeasible_note(history, trial_id, table.at.get(trial_id, self.rungs[k]), key)
        return Decision.stop(f"{where}; {bad}not in the top 1/{self.eta} "
                             f"({_cutoff(history, table.cutoff(self.eta))})")

    def promote_final(self, decision: Decision, trial_id: int, step: int,
                      history: History) -> Decision:
        """``decision`` (made by ``decide``) again, after ``settle``: a pause becomes a promotion
        in place when this very report made its rung final and it is now the rung's candidate
        (a round trip through a checkpoint saves nothing then)."""
        k = self.rung_of(trial_id, step)
        if (
            decision.action is not Action.PAUSE or k is None or k >= self.final
            or any(self.tables[j].candidate(self.eta, history, final=j < self.final) is not None
                   for j in range(len(self.tables) - 1, k, -1))
        ):
            return decision
        table = self.tables[k]
        if table.candidate(self.eta, history, trial_id, final=True) != trial_id:
            return decision
        self.promote(k, trial_id)
        rank = table.table.bisect_left((table.entered[trial_id], trial_id))
        return Decision.proceed(
            self.lease(step + 1),
            f"rank {rank + 1}/{len(table.table)} at rung {k} ({self._steps(k, step)}): "
            f"promoted (the rung's population is final: top {table.keeps(self.eta)})",
        )

    def promote(self, k: int, trial_id: int) -> None:
        table = self.tables[k]
        table.unwait(trial_id)
        table.mark(trial_id)

    def retire(self, trial_id: int) -> None:
        """Drop a paused loser (``is_loser``) from its rung's waiting list and the ladder."""
        table = self.tables[self.position[trial_id]]
        table.unwait(trial_id)
        self.leave(trial_id)

    def get_job(self, history: History) -> Resume | None:
        """Algorithm 2: resume the best promotable paused trial of the highest rung."""
        for k in range(len(self.tables) - 1, -1, -1):
            tid = self.tables[k].candidate(self.eta, history, final=k < self.final)
            if tid is not None:
                self.promote(k, tid)
                return Resume(tid, self.lease(self.rungs[k] + 1))
        return None

    def state(self) -> list[dict[str, Any]]:
        return [t.state() for t in self.tables]


def _cutoff(history: History, cutoff: Key) -> str:
    """``"cutoff loss=0.5"`` (the objective's value of the last result that goes on), or,
    when that result is infeasible itself, ``"cutoff: an infeasible result, violation 3"``
    (no objective value is a threshold then; ``rung.plot._cutoffs`` reads none)."""
    v, score = key_violation(cutoff), key_score(cutoff)
    if v == 0.0 or score == math.inf:
        return f"cutoff {quote(history.objective, score)}"
    return f"cutoff: an infeasible result, violation {v:.6g}"


__all__ = [
    "LADDER_CHANGES", "NOT_FINITE", "QUOTAS", "VARIANTS", "Ladder", "RetiringLadders",
    "RungTable", "rung_steps",
]
