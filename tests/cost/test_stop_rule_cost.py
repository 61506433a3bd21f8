"""With ``value``, the stop rule weighs the expected improvement against the mean cost of a
*trial*: a trial paused and resumed (sync Hyperband, PBT) is one trial however many runs it
had. (It divided by the runs that ended: half the cost of a trial on these studies.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

import rung
from rung.cost.stop_rule import assess, trials_ended


class Steps:
    """``loss = x + 0.5 step^-0.7``; a step takes ``600 (1 + x)`` seconds."""

    name = "steps"
    max_step = 9
    metric = "loss"
    mode = "min"
    optimum = None
    space = rung.SearchSpace({"x": rung.Float(0.0, 1.0)})

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        x = float(params["x"])
        return {"loss": x + 0.5 * step**-0.7}, 600.0 * (1 + x)


@pytest.mark.parametrize("scheduler", ["hyperband", "pbt"])
def test_cost_per_trial_counts_trials_not_runs(scheduler: str) -> None:
    study = rung.Study.create(
        "h", Steps.space, objective="loss", searcher="random", scheduler=scheduler,
        max_step=9, budget=rung.Budget(n_trials=12), prices={"cpu": 3.6}, seed=0)
    study.simulate(Steps(), n_workers=2)
    led = study.ledger()
    assert "running" not in led.by_outcome and "paused" in led.by_outcome
    assert led.total.runs > led.trials == trials_ended(study.history) == 12
    ev = assess(study, min_trials=3, value=1.0)
    assert ev is not None
    assert ev["cost_per_trial"] == pytest.approx(led.total.cost / 12, rel=1e-12)
