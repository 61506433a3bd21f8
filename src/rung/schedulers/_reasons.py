"""How a decision's reason quotes a value: in the objective's own units, named by its metric.

Schedulers rank lower-is-better scores (``Objective.score``); a user reads the metric in its
own direction. Every value a reason names (a rung's cutoff, a median, a trial's best, a
predicted final value) is written ``<what> <metric>=<value>``: ``"cutoff accuracy=0.912"``,
``"median val_loss=0.61"``. ``rung.plot._cutoffs`` reads thresholds back in this form (and in
the score form of reasons journaled before it: ``"cutoff score -0.912"``).
"""

from __future__ import annotations

import math

from rung.core.history import History
from rung.core.records import Objective


def quote(objective: Objective, score: float) -> str:
    """``"accuracy=0.912"``: the metric and the value ``score`` stands for (6 significant
    digits; the worst score ``inf`` reads ``inf`` for ``mode="min"``, ``-inf`` for ``"max"``)."""
    value = objective.value(score) + 0.0  # + 0.0: a score of 0.0 under "max" reads 0, not -0
    return f"{objective.metric}={value:.6g}"


def infeasible(history: History, trial_id: int, step: int) -> str | None:
    """``"infeasible (latency_ms=140 violates latency_ms <= 100)"``: the constraints the
    trial's result at ``step`` violates as a rung ranks it (``History.slacks`` with
    ``ranking=True``), each with the value it read; ``None`` when it violates none (no
    constraints, every one holds, or its metric is not reported yet there)."""
    parts = []
    for c, s in zip(history.constraints, history.slacks(trial_id, step, ranking=True),
                    strict=True):
        if math.isnan(s) or s <= 0.0:
            continue
        if math.isinf(s):
            parts.append(f"{c.metric} missing or not finite: violates {c.text()}")
        else:
            value = c.bound + s if c.op == "<=" else c.bound - s
            parts.append(f"{c.metric}={value:.6g} violates {c.text()}")
    return f"infeasible ({'; '.join(parts)})" if parts else None


__all__ = ["infeasible", "quote"]
