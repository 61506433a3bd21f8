"""Asynchronous successive halving, ASHA (Li, Jamieson, Rostamizadeh, Gonina, Ben-tzur, Hardt,
Recht and Talwalkar, "A System for Massively Parallel Hyperparameter Tuning", MLSys 2020).

One ladder of rungs at ``min_step * eta**k`` below ``max_step`` (``eta`` is the reduction
factor). Decisions never wait for a rung to fill, so no worker idles waiting for stragglers.
Workers hold a lease up to their next active rung and wait for the decision there.

- ``variant="stopping"`` (default): a trial reporting at a rung continues iff it is in the top
  ``max(1, floor(n / eta))`` of the ``n`` results recorded there so far, else it is stopped.
- ``variant="promotion"`` (the paper's Algorithm 2): a trial is paused at each rung; free
  workers resume the best promotable paused trial of the highest rung before starting new ones;
  paused trials that can provably never be promoted are retired once no new trial can start.

With outcome constraints a rung ranks feasible results first, then infeasible ones by total
violation ("Constraints" in ``rung.schedulers._ladder``). With several objectives it ranks by
the first one only (``mo_asha`` ranks by all of them; ``Study.create`` warns).

The exact rules, invariants and costs are those of the shared ladder, ``rung.schedulers._ladder``.
``guard=True`` raises the grace period (the first rung that stops or pauses trials) while
adjacent rungs' rank correlation is low (``rung.schedulers._guard``). ``min_step="auto"`` chooses
the first rung from the study's own data: the first ``probes`` trials run to ``max_step`` uncut,
and the first rung is the lowest rung step ``eta**k`` whose values rank the complete curves like
their final values (``FirstRung`` in ``rung.schedulers._guard``: the measure, the rule, when it
is re-estimated, the sources).
"""

from __future__ import annotations

from typing import Any

from rung.core.components import BindContext, NextTrial, ResultRequest, StartNew
from rung.core.events import Decision
from rung.core.history import History
from rung.core.registry import register
from rung.schedulers._guard import MIN_CORRELATION, FidelityGuard
from rung.schedulers._ladder import LADDER_CHANGES, Ladder, RetiringLadders, rung_steps

__all__ = ["ASHA", "rung_steps"]


@register("scheduler", "asha")
class ASHA(RetiringLadders):
    """Asynchronous successive halving.

    Args:
        reduction_factor: ``eta`` (>= 2): the fraction ``1/eta`` goes on at each rung.
        min_step: the first rung (the grace period: no trial stops before it), or ``"auto"``:
            chosen from complete curves (rungs at ``eta**k``; see ``FirstRung``).
        variant: ``"stopping"`` (stop trials below the cutoff) or ``"promotion"`` (pause every
            trial at each rung, resume the top ``1/eta`` from their checkpoints).
        guard: raise the grace period while adjacent rungs' rank correlation is low (see
            ``rung.schedulers._guard``).
        probes: with ``min_step="auto"``, how many first trials run to ``max_step`` uncut
            (default ``2 * eta + 2``: 8 at ``eta`` 3).
        quota: ``"floor"`` (default: ``floor(n / eta)`` of a rung's ``n`` results go on, at least
            one when stopping or once the rung can no longer grow) or ``"ceil"``
            (``ceil(n / eta)``, as Ray Tune and scikit-learn count; see "Quotas" in
            ``rung.schedulers._ladder``).
        min_correlation: with ``min_step="auto"``, the Spearman correlation with the final
            value the first rung needs (default 0.7).
    """

    version = 8
    changes = {2: "stopping variant: tied results at a rung fill the max(1, floor(n/eta)) "
                  "quota (before: only the first of them continued)",
               3: "min_step='auto': the first rung chosen from complete curves (an integer "
                  "min_step decides as in version 2)",
               4: "promotion variant: a rung whose population is final (no new trial can "
                  "start) promotes max(1, floor(n/eta)) (before: floor(n/eta), so a rung with "
                  "fewer than eta results retired them all and no trial reached max_step)",
               5: "min_step='auto', stopping variant: a trial that passed a rung uncut before "
                  "the first estimate is judged at its next report at the highest deciding "
                  "rung it passed (before: it ran on uncut to its next deciding rung)",
               **LADDER_CHANGES}

    def __init__(
        self,
        reduction_factor: int = 3,
        min_step: int | str = 1,
        variant: str = "stopping",
        guard: bool = False,
        probes: int | None = None,
        min_correlation: float = MIN_CORRELATION,
        quota: str = "floor",
    ) -> None:
        self.reduction_factor = reduction_factor
        self.min_step = min_step
        self.variant = variant
        self.guard = guard
        self.probes = probes
        self.min_correlation = min_correlation
        self.quota = quota

    def get_params(self) -> dict[str, Any]:
        return self._without_defaults(
            super().get_params(), ("variant", "guard", "probes", "min_correlation", "quota"))

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        eta, r, ceil = self._check_shared(ctx)
        self.rungs = rung_steps(r, eta, ctx.max_step)
        self._ladder = Ladder(self.rungs, eta, ctx.max_step, self.variant == "promotion", ceil)
        self._guard = FidelityGuard([*self.rungs, ctx.max_step]) if self.guard else None
        self._bind_first(self.min_step, self.rungs, eta, self.probes, self.min_correlation)
        self._bind_retiring()

    def fidelity_steps(self) -> list[int]:
        return [*self.rungs, self.max_step]

    def _ladder_of(self, history: History, trial_id: int) -> Ladder | None:
        return self._ladder

    def _ladders_all(self) -> list[Ladder]:
        return [self._ladder]

    def lease(self, start_step: int) -> int:
        return self._ladder.lease(start_step)

    def next_trial(self, history: History) -> NextTrial | None:
        resume = self.resume_interrupted(history)
        if resume is not None:
            return resume
        if self._ladder.promotion:
            job = self._ladder.get_job(history)
            if job is not None:
                return job
        return StartNew(self._new_lease(history.next_id, self.lease(1)))

    def on_result(self, request: ResultRequest) -> Decision:
        history = request.history
        if self._promoting:
            self._sync(history)
        tid, step, ladder = request.trial_id, request.result.step, self._ladder
        if self._guard is not None or self._first is not None:
            self._observe_fidelity(tid, step, request.score, history)
        if self._first is None:
            decision = ladder.decide(tid, step, request.score, history)
        else:
            probe = self._is_probe(ladder, tid, step)
            decision = ladder.decide(tid, step, request.score, history, probe)
            decision = self._explained(decision, ladder, tid, step)
        if self._starved:
            decision = self._settle_after(decision, ladder, tid, step, history)
        return decision

    def state(self) -> dict[str, Any]:
        out: dict[str, Any] = {"variant": self.variant, "rungs": self._ladder.state()}
        if self._guard is not None:
            out["guard"] = self._guard.state()
        if self._first is not None:
            out["first_rung"] = self._first.state()
        return out
