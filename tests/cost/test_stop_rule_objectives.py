"""The stop rule bounds the regret of one objective: it never ends a study of several (it
ended one on the first objective's bound alone), ``assess`` refuses one, and ``rung run``
refuses a spec that asks for it (one line naming ``spec.budget.stop``, exit 2, nothing
written)."""

from __future__ import annotations

import dataclasses
import logging
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import rung
from rung.cost.stop_rule import assess, check_objectives
from rung.errors import ConfigError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from clihelp import sim_spec, write_spec

from rung.cli.main import main


class TradeOff:
    """``f1`` is flat to within 0.001 (converged at once under noise 0.01); ``f2`` depends on
    both parameters, so the Pareto front keeps moving. One step of 10 s."""

    name = "trade-off"
    max_step = 1
    metric = "f1"
    mode = "min"
    optimum = None
    space = rung.SearchSpace({"x": rung.Float(0.0, 1.0), "y": rung.Float(0.0, 1.0)})

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        x, y = float(params["x"]), float(params["y"])
        return {"f1": 0.5 + 0.001 * math.sin(40 * x), "f2": (x - 0.3) ** 2 + y}, 10.0


def _study(objective: Any) -> rung.Study:
    return rung.Study.create(
        "mo", TradeOff.space, objective=objective, searcher="random", scheduler="fifo",
        budget=rung.Budget(n_trials=12, stop=rung.StopRule(noise=0.01, min_trials=6)), seed=0)


def test_a_study_of_two_objectives_is_refused_at_creation() -> None:
    with pytest.raises(ConfigError) as e:
        _study([rung.Objective("f1"), rung.Objective("f2")])
    assert str(e.value) == ("budget.stop: the stop rule bounds the regret of one objective; "
                            "this study has 2 (f1, f2): drop budget.stop, or stop it with "
                            "n_trials, max_cost, ...")


def test_a_stored_study_of_two_objectives_is_not_stopped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One stored before creation refused it (``Study.from_spec`` does not check): the same
    rule on ``f1`` alone stops after its 6th trial; with ``f2`` beside it the search runs its
    12 trials, and the log says once why the rule stays silent."""
    alone = _study("f1")
    assert alone.simulate(TradeOff()).engine.stopped is not None and len(alone.trials()) == 6
    spec = dataclasses.replace(
        alone.spec, name="mo2", objectives=(rung.Objective("f1"), rung.Objective("f2")))
    with caplog.at_level(logging.WARNING, logger="rung.cost.stop_rule"):
        both = rung.Study.from_spec(spec).simulate(TradeOff())
    assert both.engine.stopped is None and len(both.trials()) == 12
    warned = [r.getMessage() for r in caplog.records if r.name == "rung.cost.stop_rule"]
    assert warned == ["budget.stop: the stop rule bounds the regret of one objective; it never "
                      "stops this study of 2"]


def test_assess_refuses_a_study_of_two_objectives() -> None:
    study = rung.Study.create(
        "mo", TradeOff.space, objective=[rung.Objective("f1"), rung.Objective("f2")],
        searcher="random", scheduler="fifo", budget=rung.Budget(n_trials=30), seed=0)
    with pytest.raises(ConfigError) as e:
        assess(study, noise=0.01)
    assert str(e.value) == ("budget.stop: the stop rule bounds the regret of one objective; "
                            "this study has 2 (f1, f2): drop budget.stop, or stop it with "
                            "n_trials, max_cost, ...")
    check_objectives(["f1"])  # one objective: nothing to refuse


def test_rung_run_refuses_a_stop_rule_for_two_objectives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, sim_spec(extra="metric: [loss, cost]\nmode: [min, min]\n").replace(
        "budget: {n_trials: 30}", "budget: {n_trials: 30, stop: auto}"))
    assert main(["run", "spec.yaml", "--no-live"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "rung: error: spec.budget.stop: the stop rule bounds the regret of one objective; this "
        "study has 2 (loss, cost): drop budget.stop, or stop it with n_trials, max_cost, ..."]
    assert not (tmp_path / "runs").exists()
