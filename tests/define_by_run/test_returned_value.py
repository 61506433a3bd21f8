"""An objective that returns its value (Optuna's and Ray Tune's habit: ``return loss``)
records it under the study's metric name; it used to be ignored with a warning in the worker's
log, and the run then failed with "no trial produced the objective metric"."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rung
from rung import Float, Objective
from rung.dbr.objective import ReturnsMetrics
from rung.errors import ConfigError
from rung.executors.pool import callable_name

NO_CTX: Any = None  # the objectives below ignore their context


def square(ctx: Any) -> Any:
    return ctx.params["x"] ** 2


def returns(value: Any) -> Any:
    return lambda ctx: value


@pytest.mark.parametrize(("metrics", "value", "recorded"), [
    (["loss"], 0.25, {"loss": 0.25}),
    (["loss"], 3, {"loss": 3}),
    (["loss"], np.float32(0.5), {"loss": np.float32(0.5)}),
    (["loss"], np.int64(2), {"loss": np.int64(2)}),
    (["loss", "time"], (0.1, 2.0), {"loss": 0.1, "time": 2.0}),
    (["loss", "time"], [0.1, 2], {"loss": 0.1, "time": 2}),
    (["loss"], {"loss": 0.3, "acc": 0.9}, {"loss": 0.3, "acc": 0.9}),  # a mapping as is
    (["loss"], None, None),
    (["loss"], True, True),  # not a number: the worker ignores it, with a warning
    (["loss"], "0.5", "0.5"),
    (["loss"], (0.1, 0.2), (0.1, 0.2)),  # a sequence for a single objective: as is
    (["loss"], np.zeros(2), None),  # an array is not a scalar
])
def test_a_returned_number_becomes_the_metric(metrics: list[str], value: Any,
                                             recorded: Any) -> None:
    got = ReturnsMetrics(returns(value), metrics)(NO_CTX)
    if isinstance(value, np.ndarray):
        assert got is value
    else:
        assert got == recorded and type(got) is type(recorded)


def test_one_value_per_objective_or_a_clear_error() -> None:
    with pytest.raises(ConfigError) as e:
        ReturnsMetrics(returns((0.1, 0.2, 0.3)), ["loss", "time"])(NO_CTX)
    assert str(e.value) == ("return: this study has 2 objectives ['loss', 'time']: return one "
                            "value each, got 3: (0.1, 0.2, 0.3)")


def test_the_wrapper_pickles_by_reference_and_keeps_the_functions_name() -> None:
    w = ReturnsMetrics(square, ["loss"])
    assert callable_name(w) == f"{__name__}.square"
    again = pickle.loads(pickle.dumps(w))
    assert again.objective is square and again.metrics == ("loss",)


def test_a_run_records_returned_values_on_real_workers(tmp_path: Path) -> None:
    study = rung.Study.create("r", {"x": Float(-1.0, 1.0)}, "loss", searcher="random",
                              scheduler="fifo", budget=rung.Budget(n_trials=4),
                              storage=tmp_path / "j.db")
    study.run(square, n_workers=2, start_method="fork", progress=False)
    trials = study.trials()
    assert [t.status.value for t in trials] == ["completed"] * 4
    for t in trials:
        (result,) = t.results
        assert result.step == 1 and result.metrics == {"loss": t.params["x"] ** 2}


def test_a_multi_objective_run_records_one_value_each(tmp_path: Path) -> None:
    study = rung.Study.create("m", {"x": Float(0.0, 1.0)},
                              [Objective("a"), Objective("b", "max")], searcher="random",
                              scheduler="fifo", budget=rung.Budget(n_trials=2),
                              storage=tmp_path / "j.db")
    study.run(pair, n_workers=1, start_method="fork", progress=False)
    for t in study.trials():
        assert t.results[-1].metrics == {"a": t.params["x"], "b": 1 - t.params["x"]}


def pair(ctx: Any) -> tuple[float, float]:
    return ctx.params["x"], 1 - ctx.params["x"]
