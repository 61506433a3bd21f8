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

The exact rules, invariants and costs are those of the shared ladder, ``rung.schedulers._ladder``.
``guard=True`` raises the grace period (the first rung that stops or pauses trials) while
adjacent rungs' rank correlation is low (``rung.schedulers._guard``).
"""

from __future__ import annotations

from typing import Any

from rung._validate import check_bool, check_choice, check_int
from rung.core.components import BindContext, NextTrial, ResultRequest, StartNew
from rung.core.events import Decision
from rung.core.history import History
from rung.core.registry import register
from rung.schedulers._guard import FidelityGuard
from rung.schedulers._ladder import VARIANTS, Ladder, RetiringLadders, rung_steps

__all__ = ["ASHA", "rung_steps"]


@register("scheduler", "asha")
class ASHA(RetiringLadders):
    """Asynchronous successive halving.

    Args:
        reduction_factor: ``eta`` (>= 2): the fraction ``1/eta`` goes on at each rung.
        min_step: the first rung (the grace period: no trial stops before it).
        variant: ``"stopping"`` (stop trials below the cutoff) or ``"promotion"`` (pause every
            trial at each rung, resume the top ``1/eta`` from their checkpoints).
        guard: raise the grace period while adjacent rungs' rank correlation is low (see
            ``rung.schedulers._guard``).
    """

    version = 2
    changes = {2: "stopping variant: tied results at a rung fill the max(1, floor(n/eta)) "
                  "quota (before: only the first of them continued)"}

    def __init__(
        self,
        reduction_factor: int = 3,
        min_step: int = 1,
        variant: str = "stopping",
        guard: bool = False,
    ) -> None:
        self.reduction_factor = reduction_factor
        self.min_step = min_step
        self.variant = variant
        self.guard = guard

    def get_params(self) -> dict[str, Any]:
        # Parameters added after the first release are persisted only when set, so the specs
        # of existing studies (and their journals) stay byte-identical.
        params = super().get_params()
        if params["variant"] == "stopping":
            del params["variant"]
        if params["guard"] is False:
            del params["guard"]
        return params

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        eta = check_int("scheduler.params.reduction_factor", self.reduction_factor, 2)
        r = check_int("scheduler.params.min_step", self.min_step, 1)
        check_choice("scheduler.params.variant", self.variant, VARIANTS)
        check_bool("scheduler.params.guard", self.guard)
        self.rungs = rung_steps(r, eta, ctx.max_step)
        self._ladder = Ladder(self.rungs, eta, ctx.max_step, self.variant == "promotion")
        self._guard = FidelityGuard([*self.rungs, ctx.max_step]) if self.guard else None
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
        return StartNew(self.lease(1))

    def on_result(self, request: ResultRequest) -> Decision:
        history = request.history
        if self._promoting:
            self._sync(history)
        if self._guard is not None and self._guard.observe(
            request.trial_id, request.result.step, request.score, history
        ):
            self._ladder.level = self._guard.level
        tid, step = request.trial_id, request.result.step
        decision = self._ladder.decide(tid, step, request.score, history)
        if self._starved:
            self._settle(history)
        return decision

    def state(self) -> dict[str, Any]:
        out: dict[str, Any] = {"variant": self.variant, "rungs": self._ladder.state()}
        if self._guard is not None:
            out["guard"] = self._guard.state()
        return out
