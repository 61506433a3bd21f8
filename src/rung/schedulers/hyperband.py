"""Hyperband (Li, Jamieson, DeSalvo, Rostamizadeh and Talwalkar, "Hyperband: A Novel
Bandit-Based Approach to Hyperparameter Optimization", JMLR 18(185), 2018), Algorithm 1.

Successive halving must choose between trying many configurations on little resource and few
on a lot; Hyperband hedges by looping over every trade-off. With ``R = max_step`` (the most a
configuration may train), ``r = min_step`` (the least) and reduction factor ``eta``::

    s_max = floor(log_eta(R / r))
    B     = (s_max + 1) R
    for s in s_max, s_max - 1, ..., 0:                         (one Hyperband iteration)
        n = ceil(B / R * eta**s / (s + 1))                      configurations
        r_s = R * eta**-s                                       their first resource
        run successive halving: for i in 0..s,
            n_i = floor(n * eta**-i), r_i = r_s * eta**i,
            keep the top floor(n_i / eta) of rung i

Bracket ``s = s_max`` is the most aggressive (many configurations, first rung at ``r``);
bracket ``s = 0`` is random search (``s_max + 1`` configurations trained to ``R``). Resources are
whole steps: ``r_i = floor(R * eta**(i - s))``.

Each bracket is run by the synchronous successive halving machinery of
``rung.schedulers.successive_halving`` (trials pause at their rung and the top
``floor(n_i / eta)`` resume from their checkpoints; see that module for the no-deadlock argument
and the budget rules). Brackets are opened in the order above and overlap when workers would
otherwise idle. ``iterations`` bounds the number of passes over all brackets (``None``: repeat
until the budget is spent).

``guard=True``: while the rank correlation between adjacent rungs of the most aggressive
bracket is low (see ``rung.schedulers._guard``), each guard raise drops the most aggressive
remaining bracket from later iterations (``s_max`` goes down by one, so the smallest first rung
goes up by a factor ``eta``); brackets already open finish as planned.
"""

from __future__ import annotations

from typing import Any

from rung.core.components import BindContext
from rung.core.registry import register
from rung.schedulers.successive_halving import SynchronousBrackets, bracket_plan


@register("scheduler", "hyperband")
class Hyperband(SynchronousBrackets):
    """Synchronous Hyperband.

    Args:
        reduction_factor: ``eta`` (>= 2).
        min_step: ``r``, the smallest resource (first rung of the most aggressive bracket).
        iterations: passes over all brackets (``None``: until the budget is spent).
        guard: drop the most aggressive brackets while low rungs predict high ones poorly.
        quota: ``"floor"`` (default: each rung keeps ``floor(n_i / eta)``) or ``"ceil"``
            (``ceil(n_i / eta)``; see ``rung.schedulers.successive_halving``).
    """

    def __init__(
        self,
        reduction_factor: int = 3,
        min_step: int = 1,
        iterations: int | None = None,
        guard: bool = False,
        quota: str = "floor",
    ) -> None:
        self.reduction_factor = reduction_factor
        self.min_step = min_step
        self.iterations = iterations
        self.guard = guard
        self.quota = quota

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        self._iteration = 0
        self._next_s = self.s_max

    def brackets(self) -> list[tuple[int, list[int], list[int]]]:
        """``(s, [n_i], [r_i])`` of one iteration, in the order they are run (for docs and
        tests; the live sequence follows ``current_s_max`` when the guard raises)."""
        eta, R = self.reduction_factor, self.max_step
        return [
            (s, *bracket_plan(s, self.s_max, eta, R, ceil=self._ceil))
            for s in range(self.s_max, -1, -1)
        ]

    def _next_bracket(self, index: int) -> tuple[int, list[int], list[int]] | None:
        s_max = self.current_s_max
        if self._next_s < 0:
            self._iteration += 1
            self._next_s = s_max
        if self.iterations is not None and self._iteration >= self.iterations:
            return None
        s = min(self._next_s, s_max)
        self._next_s = s - 1
        ns, rs = bracket_plan(s, s_max, self.reduction_factor, self.max_step, ceil=self._ceil)
        return s, ns, rs

    def state(self) -> dict[str, Any]:
        out = super().state()
        out["iteration"] = self._iteration
        return out
