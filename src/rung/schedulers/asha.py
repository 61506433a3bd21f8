"""Asynchronous successive halving, stopping variant (Li et al., "A System for Massively Parallel
Hyperparameter Tuning", MLSys 2020).

Rungs sit at ``min_step * eta**k`` for every ``k`` with ``min_step * eta**k <= max_step``
(``eta`` is the reduction factor). When a trial reports at rung ``k`` its score joins that rung's
table, and it continues past the rung only if it is in the top ``1/eta`` of all results recorded
at the rung so far: with ``n`` results and rank ``r`` (0-based, ties to the earlier trial),
it continues iff ``r * eta < n``, i.e. at most ``ceil(n / eta)`` trials ever pass a rung of
``n``. Decisions never wait for a rung to fill, so no worker idles: that is the "asynchronous".
Workers hold a lease up to the next rung and wait for the decision there.
"""

from __future__ import annotations

import bisect
from typing import Any

from rung.core.components import BindContext, ResultRequest, Scheduler
from rung.core.events import Decision
from rung.core.registry import register
from rung.core.sorted_table import SortedTable
from rung.errors import ConfigError


def rung_steps(min_step: int, eta: int, max_step: int) -> list[int]:
    """``min_step * eta**k`` for every ``k`` that stays below ``max_step`` (rungs strictly
    below the top, where decisions are made)."""
    steps: list[int] = []
    r = min_step
    while r < max_step:
        steps.append(r)
        r *= eta
    return steps


@register("scheduler", "asha")
class ASHA(Scheduler):
    """Args:
        reduction_factor: ``eta`` (>= 2): the fraction ``1/eta`` continues at each rung.
        min_step: the first rung (the grace period: no trial stops before it).
    """

    def __init__(self, reduction_factor: int = 3, min_step: int = 1) -> None:
        self.reduction_factor = reduction_factor
        self.min_step = min_step

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        eta, r = self.reduction_factor, self.min_step
        if isinstance(eta, bool) or not isinstance(eta, int) or eta < 2:
            raise ConfigError(
                f"scheduler.params.reduction_factor: must be an int >= 2, got {eta!r}"
            )
        if isinstance(r, bool) or not isinstance(r, int) or r < 1:
            raise ConfigError(f"scheduler.params.min_step: must be an int >= 1, got {r!r}")
        self.rungs = rung_steps(r, eta, ctx.max_step)
        self._rung_index = {s: k for k, s in enumerate(self.rungs)}
        self._tables: list[SortedTable] = [SortedTable() for _ in self.rungs]
        self._entered: list[dict[int, float]] = [{} for _ in self.rungs]
        self._passed: list[set[int]] = [set() for _ in self.rungs]

    def lease(self, start_step: int) -> int:
        i = bisect.bisect_left(self.rungs, start_step)
        return self.rungs[i] if i < len(self.rungs) else self.max_step

    def on_result(self, request: ResultRequest) -> Decision:
        step = request.result.step
        k = self._rung_index.get(step)
        if k is None:
            return Decision.proceed(self.lease(step + 1))
        tid, score = request.trial_id, request.score
        table, entered = self._tables[k], self._entered[k]
        old = entered.get(tid)
        if old is not None:  # re-reported after a restart: the new result replaces the old
            table.remove((old, tid))
        entered[tid] = score
        table.add((score, tid))
        rank = table.bisect_left((score, tid))
        n = len(table)
        eta = self.reduction_factor
        if rank * eta < n:
            self._passed[k].add(tid)
            return Decision.proceed(
                self.lease(step + 1), f"rank {rank + 1}/{n} at rung {k} (step {step})"
            )
        cutoff = table[(n - 1) // eta][0]
        return Decision.stop(
            f"rank {rank + 1}/{n} at rung {k} (step {step}): not in the top 1/{eta} "
            f"(cutoff score {cutoff:.6g})"
        )

    def state(self) -> dict[str, Any]:
        return {
            "rungs": [
                {"step": s, "results": len(t), "continued": len(p)}
                for s, t, p in zip(self.rungs, self._tables, self._passed, strict=True)
            ]
        }
