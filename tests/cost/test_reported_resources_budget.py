"""A money or GPU-hour budget that trials would never spend is refused for an executor that
reports what a trial holds too, before the session journals anything: a simulated ``gpu:T4``
under ``prices={"gpu:A100": 3}`` with ``Budget(max_cost=1)`` ran at cost 0 until another limit
(found by the cost audit), and never ended without one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rung
from rung.errors import ConfigError
from rung.executors.simulated import SimulatedExecutor


class Bench:
    max_step = 3

    def evaluate(self, params: Any, step: int) -> tuple[dict[str, float], float]:
        return {"loss": float(params["x"]) / step}, 60.0


def study(tmp_path: Path, budget: rung.Budget) -> rung.Study:
    return rung.Study.create("t", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                             scheduler="fifo", max_step=3, budget=budget,
                             prices={"gpu:A100": 3.0}, storage=tmp_path / "j.db")


@pytest.mark.parametrize(("budget", "message"), [
    (rung.Budget(max_cost=1.0, max_steps=300),
     "budget.max_cost: would never be spent: a trial holds gpu:T4=1 (as its executor "
     "reports) and prices {'gpu:A100': 3.0} charge none of it"),
])
def test_a_reported_device_no_price_charges_is_refused_before_the_session(
    tmp_path: Path, budget: rung.Budget, message: str
) -> None:
    s = study(tmp_path, budget)
    ex = SimulatedExecutor(Bench(), 2, resources_per_trial={"gpu:T4": 1})
    with pytest.raises(ConfigError) as e:
        s.run(None, executor=ex, progress=False)  # type: ignore[arg-type]
    assert str(e.value) == message
    assert s.journal.read("t") == [] and len(s.trials()) == 0


def test_no_gpu_reported_refuses_a_gpu_hour_budget(tmp_path: Path) -> None:
    s = rung.Study.create("g", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                          scheduler="fifo", max_step=3,
                          budget=rung.Budget(max_gpu_hours=1.0, n_trials=5),
                          resources_per_trial={"gpu": 1}, storage=tmp_path / "j.db")
    ex = SimulatedExecutor(Bench(), 1, resources_per_trial={"cpu": 4})
    with pytest.raises(ConfigError) as e:
        s.run(None, executor=ex, progress=False)  # type: ignore[arg-type]
    assert str(e.value).startswith("budget.max_gpu_hours: would never be spent: a trial holds "
                                   "cpu=4 (as its executor reports)")
    assert s.journal.read("g") == []


def test_a_reported_device_that_is_priced_runs_to_the_budget(tmp_path: Path) -> None:
    s = study(tmp_path, rung.Budget(max_cost=1.0, max_steps=300))
    ex = SimulatedExecutor(Bench(), 2, resources_per_trial={"gpu:A100": 1})
    s.run(None, executor=ex, progress=False)  # type: ignore[arg-type]
    assert s.engine.meter.cost >= 1.0 and s.engine.over
