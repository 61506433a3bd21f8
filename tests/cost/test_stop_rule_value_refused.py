"""A ``StopRule(value=...)`` where a trial costs nothing would never stop: ``rung run`` refuses
such a spec; ``Study.run`` / ``simulate`` and a session whose executor reports what a trial
holds refuse it too (``rung.cost.stop_rule.check_value_priced``), before anything is
written."""

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


def _study(tmp_path: Path, prices: dict[str, float] | None = None) -> rung.Study:
    return rung.Study.create("v", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                             scheduler="fifo", max_step=3, storage=tmp_path / "j.db",
                             prices=prices, budget=rung.Budget(
                                 n_trials=30, stop=rung.StopRule(value=10.0)))


def test_simulate_refuses_a_value_rule_when_a_trial_costs_nothing(tmp_path: Path) -> None:
    s = _study(tmp_path)
    with pytest.raises(ConfigError) as e:
        s.simulate(Bench(), n_workers=2)
    assert str(e.value) == (
        "budget.stop.params.value: the rule would never stop: it weighs the improvement's "
        "worth against the mean cost of a trial, and a trial holding cpu=1 (no "
        "resources_per_trial: one CPU) costs nothing under prices {}")
    assert len(s.journal.read("v")) == 0


def test_a_session_reporting_an_unpriced_device_refuses_a_value_rule(tmp_path: Path) -> None:
    s = _study(tmp_path, {"gpu:A100": 3.0})
    with pytest.raises(ConfigError) as e:
        s.run(lambda ctx: None,
              executor=SimulatedExecutor(Bench(), 2, resources_per_trial={"gpu:T4": 1}))
    assert "a trial holding gpu:T4=1 (as its executor reports) costs nothing" in str(e.value)
    assert len(s.journal.read("v")) == 0


def test_a_priced_value_rule_runs(tmp_path: Path) -> None:
    s = _study(tmp_path, {"cpu": 1.0})
    s.simulate(Bench(), n_workers=2)
    assert len(s.trials()) >= 20  # min_trials results before it may stop
