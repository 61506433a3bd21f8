"""Asynchronous Hyperband (Li, Jamieson, Rostamizadeh, Gonina, Ben-tzur, Hardt, Recht and
Talwalkar, "A System for Massively Parallel Hyperparameter Tuning", MLSys 2020, section 3.2:
"asynchronous Hyperband loops through brackets of ASHA with different early-stopping rates").

ASHA needs a grace period (its first rung); Hyperband's answer, hedging over every choice of it,
carries over: bracket ``b = 0..s_max`` is an ASHA ladder whose first rung is ``min_step *
eta**b`` (the early-stopping rate ``b``), with ``s_max = floor(log_eta(max_step / min_step))``.
Bracket ``b = s_max`` has no rung below ``max_step``: random search.

Each new trial joins one bracket, drawn with ``derive_rng(seed, "bracket", trial_id)``, so the
assignment is a pure function of the seed and the trial id (the same live, in replay and under
any event order; never global randomness). Bracket ``b`` is drawn with probability
proportional to the number of configurations synchronous Hyperband gives its counterpart
``s = s_max - b``, ``ceil((s_max + 1) / (s + 1) * eta**s)``, so the mix of aggressive and
conservative trials is Hyperband's. Brackets never wait for each other: each ladder decides as
ASHA does (``variant="stopping"`` or ``"promotion"``, see ``rung.schedulers._ladder``), and in the
promotion variant a free worker takes the best promotable paused trial of any bracket (brackets
in order ``b = 0, 1, ...``, highest rung first within each) before a new trial starts. Once no
new trial can start, each ladder retires the paused trials it can provably never promote, as
ASHA does (``rung.schedulers._ladder``, "Retiring paused trials"); a trial's ladder is fixed at its
creation, so every ladder's populations become final on their own.

With outcome constraints every bracket's rungs rank feasible results first ("Constraints" in
``rung.schedulers._ladder``).

``guard=True`` watches bracket 0's rungs (see ``rung.schedulers._guard``); a raise to step
``m`` makes every bracket skip its rungs below ``m``. ``min_step="auto"`` builds the brackets
from step 1 and chooses the lowest deciding step ``m`` from complete curves (``FirstRung`` in
``rung.schedulers._guard``: the first ``probes`` trials run to ``max_step`` uncut); every bracket
skips its rungs below ``m``, as with the guard.

Complexity: as ASHA per report (one ladder); ``next_trial`` draws one bracket, ``O(s_max)``.
"""

from __future__ import annotations

from typing import Any

from rung._validate import check_int
from rung.core.components import (
    BindContext,
    NextTrial,
    ResultRequest,
    Resume,
    StartNew,
)
from rung.core.events import CONTINUE, Decision
from rung.core.history import History
from rung.core.records import TrialStatus
from rung.core.registry import register
from rung.core.rng import derive_rng
from rung.errors import ConfigError
from rung.schedulers._guard import MIN_CORRELATION, FidelityGuard
from rung.schedulers._ladder import LADDER_CHANGES, Ladder, RetiringLadders, rung_steps
from rung.schedulers.successive_halving import s_max_for


@register("scheduler", "async_hyperband")
class AsyncHyperband(RetiringLadders):
    """Asynchronous Hyperband: several ASHA brackets with different grace periods.

    Args:
        reduction_factor: ``eta`` (>= 2).
        min_step: the first rung of the most aggressive bracket, or ``"auto"`` (brackets
            from step 1; the lowest deciding step chosen from complete curves).
        brackets: how many brackets (``b = 0..brackets-1``; default and maximum ``s_max + 1``).
        variant: ``"stopping"`` or ``"promotion"`` (as in ``ASHA``).
        guard: raise every bracket's grace period while adjacent rungs' rank correlation is low.
        probes: with ``min_step="auto"``, how many first trials run to ``max_step`` uncut
            (default ``2 * eta + 2``: 8 at ``eta`` 3).
        quota: ``"floor"`` (default: ``floor(n / eta)`` of a rung's ``n`` results go on, at least
            one when stopping or once the rung can no longer grow) or ``"ceil"``
            (``ceil(n / eta)``, as Ray Tune and scikit-learn count; see "Quotas" in
            ``rung.schedulers._ladder``).
        min_correlation: with ``min_step="auto"``, the Spearman correlation with the final
            value the lowest deciding step needs (default 0.7).
    """

    version = 8
    changes = {2: "stopping variant: tied results at a rung fill the max(1, floor(n/eta)) "
                  "quota (before: only the first of them continued)",
               3: "min_step='auto': the lowest deciding rung chosen from complete curves (an "
                  "integer min_step decides as in version 2)",
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
        brackets: int | None = None,
        variant: str = "stopping",
        guard: bool = False,
        probes: int | None = None,
        min_correlation: float = MIN_CORRELATION,
        quota: str = "floor",
    ) -> None:
        self.reduction_factor = reduction_factor
        self.min_step = min_step
        self.brackets = brackets
        self.variant = variant
        self.guard = guard
        self.probes = probes
        self.min_correlation = min_correlation
        self.quota = quota

    def get_params(self) -> dict[str, Any]:
        return self._without_defaults(super().get_params(), ("probes", "min_correlation", "quota"))

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        eta, r, ceil = self._check_shared(ctx)
        if r > ctx.max_step:
            raise ConfigError(
                key="scheduler.params.min_step", message=f"{r} is above max_step ({ctx.max_step})"
            )
        s_max = s_max_for(r, eta, ctx.max_step)
        n_brackets = s_max + 1
        if self.brackets is not None:
            n_brackets = check_int("scheduler.params.brackets", self.brackets, 1)
            if n_brackets > s_max + 1:
                raise ConfigError(
                    key="scheduler.params.brackets",
                    message=f"at most {s_max + 1} with min_step={r}, "
                    f"eta={eta}, max_step={ctx.max_step}; got {n_brackets}"
                )
        self.s_max = s_max
        promotion = self.variant == "promotion"
        self._ladders = [
            Ladder(rung_steps(r * eta**b, eta, ctx.max_step), eta, ctx.max_step, promotion, ceil)
            for b in range(n_brackets)
        ]
        sizes = [-(-(s_max + 1) * eta ** (s_max - b) // (s_max - b + 1)) for b in range(n_brackets)]
        total = sum(sizes)
        self._cdf = [sum(sizes[: b + 1]) / total for b in range(n_brackets)]
        self.weights = [x / total for x in sizes]
        self._guard = (
            FidelityGuard([*self._ladders[0].rungs, ctx.max_step]) if self.guard else None
        )
        self._bind_first(
            self.min_step, self._ladders[0].rungs, eta, self.probes, self.min_correlation
        )
        self._bind_retiring()

    def fidelity_steps(self) -> list[int]:
        return [*self._ladders[0].rungs, self.max_step]

    def bracket_of(self, trial_id: int) -> int:
        """The bracket a new trial with this id joins (a pure function of seed and id)."""
        u = float(derive_rng(self.seed, "bracket", trial_id).random())
        for b, c in enumerate(self._cdf):
            if u < c:
                return b
        return len(self._cdf) - 1

    def _ladder(self, history: History, trial_id: int) -> Ladder | None:
        b = history.tags(trial_id).get("bracket")
        if isinstance(b, int) and 0 <= b < len(self._ladders):
            return self._ladders[b]
        return None

    def _ladder_of(self, history: History, trial_id: int) -> Ladder | None:
        return self._ladder(history, trial_id)

    def _ladders_all(self) -> list[Ladder]:
        return self._ladders

    def next_trial(self, history: History) -> NextTrial | None:
        for tid in history.ids(TrialStatus.INTERRUPTED):
            if history.interruptions(tid) <= self.max_interruptions:
                ckpt = history.checkpoint(tid)
                start = ckpt.step + 1 if ckpt else 1
                ladder = self._ladder(history, tid)
                return Resume(tid, ladder.lease(start) if ladder else self.max_step)
        if self.variant == "promotion":
            for ladder in self._ladders:
                job = ladder.get_job(history)
                if job is not None:
                    return job
        b = self.bracket_of(history.next_id)
        lease = self._new_lease(history.next_id, self._ladders[b].lease(1))
        return StartNew(lease, {"bracket": b})

    def on_result(self, request: ResultRequest) -> Decision:
        tid, step, score, history = (
            request.trial_id, request.result.step, request.score, request.history
        )
        if self._guard is not None or self._first is not None:
            self._observe_fidelity(tid, step, score, history)
        self._sync(history)
        ladder = self._ladder(history, tid)
        if ladder is None:
            return CONTINUE
        if self._first is None:
            decision = ladder.decide(tid, step, score, history)
        else:
            probe = self._is_probe(ladder, tid, step)
            decision = ladder.decide(tid, step, score, history, probe)
            decision = self._explained(decision, ladder, tid, step)
        return self._settle_after(decision, ladder, tid, step, history)

    def state(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "variant": self.variant,
            "brackets": [
                {"bracket": b, "weight": w, "rungs": ladder.state()}
                for b, (w, ladder) in enumerate(zip(self.weights, self._ladders, strict=True))
            ],
        }
        if self._guard is not None:
            out["guard"] = self._guard.state()
        if self._first is not None:
            out["first_rung"] = self._first.state()
        return out
