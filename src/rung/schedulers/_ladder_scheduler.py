"""The scheduler side of the successive-halving ladders, shared by ``ASHA`` and ``AsyncHyperband``.

``RetiringLadders`` is their common base: it checks the parameters both take
(``reduction_factor``, ``min_step``, ``variant``, ``quota``, ``guard``), sets up the first rung
(a fidelity guard and/or ``min_step="auto"``, ``rung.schedulers._guard``) and moves the ladders'
deciding levels as those estimates move, and, in the promotion variant, retires the paused
trials that can never be promoted once no new trial can start (the rule is "Retiring paused
trials" in ``rung.schedulers._ladder``, whose ``Ladder`` keeps the rungs). A subclass says which
ladder a trial belongs to (``_ladder_of``) and lists its ladders (``_ladders_all``).
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any

from rung._validate import check_bool, check_choice, check_float, check_int
from rung.core.components import BindContext, EndRequest, Scheduler
from rung.core.events import Decision
from rung.core.history import History
from rung.core.records import Outcome
from rung.errors import ConfigError
from rung.schedulers._guard import AUTO, MIN_CORRELATION, FidelityGuard, FirstRung

if TYPE_CHECKING:
    from rung.schedulers._ladder import Ladder

VARIANTS = ("stopping", "promotion")
QUOTAS = ("floor", "ceil")
_NONE: list[int] = []  # shared empty answer of ``retired`` (the engine only reads it)
#: Defaults of the parameters added after the first release (``_without_defaults``).
_LATER_DEFAULTS: dict[str, Any] = {
    "variant": "stopping", "guard": False, "probes": None,
    "min_correlation": MIN_CORRELATION, "quota": "floor",
}


class RetiringLadders(Scheduler):
    """Shared by ``ASHA`` and ``AsyncHyperband``: in the promotion variant, retire paused
    trials that can never be promoted (see "Retiring paused trials" in
    ``rung.schedulers._ladder``).
    Subclasses say which ladder a trial belongs to."""

    def _ladder_of(self, history: History, trial_id: int) -> Ladder | None:
        raise NotImplementedError

    def _ladders_all(self) -> list[Ladder]:
        raise NotImplementedError

    # --- parameters both take ---------------------------------------------------------------
    reduction_factor: int
    min_step: int | str
    variant: str
    guard: bool
    probes: int | None
    min_correlation: float
    quota: str

    def _check_shared(self, ctx: BindContext) -> tuple[int, int, bool]:
        """Check the shared parameters (in this order: ``reduction_factor``, ``min_step``,
        ``variant``, ``quota``, ``guard``); returns ``eta``, the base step (``_base_step``) and
        whether the quota rounds up."""
        eta = check_int("scheduler.params.reduction_factor", self.reduction_factor, 2)
        r = self._base_step(self.min_step)
        check_choice("scheduler.params.variant", self.variant, VARIANTS)
        ceil = check_choice("scheduler.params.quota", self.quota, QUOTAS) == "ceil"
        check_bool("scheduler.params.guard", self.guard)
        return eta, r, ceil

    @staticmethod
    def _without_defaults(params: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
        """``params`` without those of ``keys`` that hold their default: parameters added
        after a scheduler's first release are persisted only when set, so the specs of
        existing studies (and their journals) stay byte-identical."""
        for key in keys:
            if params[key] == _LATER_DEFAULTS[key]:
                del params[key]
        return params

    # --- the first rung: a guard and/or ``min_step="auto"`` (``rung.schedulers._guard``) ----
    _guard: FidelityGuard | None
    _first: FirstRung | None

    def _base_step(self, min_step: int | str) -> int:
        """The lowest rung step the ladders are built from: ``min_step``, or 1 for ``"auto"``
        (every ``eta**k`` is a candidate first rung)."""
        if min_step == AUTO:
            return 1
        if isinstance(min_step, str):
            raise ConfigError(
                key="scheduler.params.min_step",
                message=f"an integer >= 1 or {AUTO!r}; got {min_step!r}",
            )
        return check_int("scheduler.params.min_step", min_step, 1)

    def _bind_first(
        self,
        min_step: int | str,
        candidates: list[int],
        eta: int,
        probes: int | None,
        min_correlation: float,
    ) -> None:
        """Set up ``min_step="auto"`` over ``candidates`` (the lowest bracket's rungs)."""
        self._first = None
        self._pending: str | None = None
        if min_step != AUTO:
            return
        n = 2 * eta + 2 if probes is None else check_int("scheduler.params.probes", probes, 2)
        corr = check_float("scheduler.params.min_correlation", min_correlation, -1.0, 1.0)
        self._first = FirstRung(candidates, self.max_step, eta, n, corr)
        for ladder in self._ladders_all():
            ladder.overdue = not ladder.promotion
        self._set_levels()

    def _floor(self) -> int:
        """The lowest step at which any rung decides."""
        floor = 0
        if self._guard is not None:
            floor = self._guard.min_step
        if self._first is not None:
            floor = max(floor, self._first.min_step)
        return floor

    def _set_levels(self) -> None:
        floor = self._floor()
        for ladder in self._ladders_all():
            ladder.level = bisect.bisect_left(ladder.rungs, floor)
            if self._first is not None:
                ladder.below = (
                    f"below the first rung (step {floor}, chosen from data)"
                    if floor < self.max_step else "no rung decides (first rung from data)"
                )

    def _observe_fidelity(self, trial_id: int, step: int, score: float, history: History) -> None:
        """Feed the guard and the first-rung estimate; move the ladders' levels if they move."""
        moved = self._guard is not None and self._guard.observe(trial_id, step, score, history)
        if self._first is not None:
            reason = self._first.observe(trial_id, step, score, history)
            if reason is not None:
                self._pending = reason
                moved = True
        if moved:
            self._set_levels()

    def _is_probe(self, ladder: Ladder, trial_id: int, step: int) -> bool:
        """True for a probe of ``min_step="auto"``; otherwise note that a deciding rung judges
        the trial (its curve is then a selected one)."""
        first = self._first
        if first is None:
            return False
        if first.is_probe(trial_id):
            return True
        k = ladder.rung_of(trial_id, step)
        if (k is not None and k >= ladder.level) or (
            ladder.overdue and ladder.overdue_rung(trial_id, step) is not None
        ):
            first.judge(trial_id)
        return False

    def _explained(
        self, decision: Decision, ladder: Ladder, trial_id: int, step: int
    ) -> Decision:
        """The first decision at a deciding rung after an estimate carries its reason."""
        if self._pending is None:
            return decision
        k = ladder.rung_of(trial_id, step)
        if k is None or k < ladder.level or not decision.reason:
            return decision
        reason = f"{decision.reason}; {self._pending}"
        self._pending = None
        return Decision(decision.action, decision.until_step, decision.checkpoint, reason)

    def _new_lease(self, trial_id: int, lease: int) -> int:
        """A new trial's lease: a probe runs to ``max_step`` without waiting."""
        if self._first is not None and self._first.is_probe(trial_id):
            return self.max_step
        return lease

    def _bind_retiring(self) -> None:
        # only the promotion variant pauses trials: the stopping variant skips this bookkeeping
        self._promoting = any(ladder.promotion for ladder in self._ladders_all())
        self._seen = 0  # trials registered with their ladder
        self._starved = False  # the engine refused a new trial: none will start any more
        self._retired: list[int] = []

    # promotion variant: which paused trials can never be promoted (see the module docstring)
    def _sync(self, history: History) -> None:
        if not self._promoting:
            return
        for tid in range(self._seen, len(history)):
            ladder = self._ladder_of(history, tid)
            if ladder is not None and ladder.promotion:
                ladder.join(tid)
        self._seen = len(history)

    def _settle(self, history: History) -> None:
        if self._starved and self._promoting:
            for ladder in self._ladders_all():
                if ladder.promotion:
                    self._retired.extend(ladder.settle(history))

    def _settle_after(
        self, decision: Decision, ladder: Ladder, trial_id: int, step: int, history: History
    ) -> Decision:
        """Settle after ``decision`` on a report, and promote the reporter in place if the
        report made its rung final and it is now promotable (``Ladder.promote_final``)."""
        self._settle(history)
        if self._starved and ladder.promotion:
            return ladder.promote_final(decision, trial_id, step, history)
        return decision

    def on_trial_end(self, request: EndRequest) -> None:
        history, tid, outcome = request.history, request.trial_id, request.outcome
        self._sync(history)
        ladder = self._ladder_of(history, tid)
        if ladder is None or not ladder.promotion:
            return
        if outcome.status.final or (
            outcome is Outcome.INTERRUPTED and history.interruptions(tid) > self.max_interruptions
        ):
            ladder.leave(tid)  # it will report at no further rung
        elif outcome is Outcome.PAUSED and ladder.is_loser(tid):
            ladder.retire(tid)
            self._retired.append(tid)
        self._settle(history)

    def on_budget_raised(self, history: History) -> None:
        """New trials may start again: rungs are no longer final for want of them."""
        self._starved = False

    def on_start_refused(self, history: History) -> bool:
        """Settle the rungs; ask to be called again if a final rung made a trial promotable."""
        self._sync(history)
        self._starved = True
        self._settle(history)
        return self._promoting and any(
            ladder.tables[k].candidate(ladder.eta, history, final=True) is not None
            for ladder in self._ladders_all() if ladder.promotion
            for k in range(ladder.final)
        )

    def retired(self) -> list[int]:
        if not self._retired:
            return _NONE
        out, self._retired = self._retired, []
        return out


__all__ = ["QUOTAS", "VARIANTS", "RetiringLadders"]
