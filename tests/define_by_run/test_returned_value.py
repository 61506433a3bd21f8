"""An objective that returns its value (Optuna's and Ray Tune's habit: ``return loss``)
records it under the study's metric name; it used to be ignored with a warning in the worker's
log, and the run then failed with "no trial produced the objective metric". ``rung.run``'s and
``rung.optimize``'s wrappers follow one rule (``rung.dbr.metrics``); they used to disagree on
bools, strings, arrays and tuples, which are now one error naming the type."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rung
from rung import Float, Objective
from rung.dbr import Trial
from rung.dbr.objective import DefineByRun, ReturnsMetrics
from rung.errors import ConfigError
from rung.executors.pool import callable_name

NO_CTX: Any = None  # the objectives below ignore their context


def square(ctx: Any) -> Any:
    return ctx.params["x"] ** 2


def returns(value: Any) -> Any:
    return lambda ctx: value


def wrappers(value: Any, metrics: list[str]) -> list[Any]:
    """What each wrapper makes of ``value`` returned: ``rung.run``'s and ``rung.optimize``'s
    (and ``Trial.report``'s ``value``), which follow one rule (``rung.dbr.metrics``)."""
    out = []
    for call in (lambda: ReturnsMetrics(returns(value), metrics)(NO_CTX),
                 lambda: DefineByRun(lambda trial: value, metrics, 0)(NO_CTX)):
        try:
            out.append(call())
        except ConfigError as e:
            out.append(f"ConfigError: {e}")
    return out


@pytest.mark.parametrize(("metrics", "value", "recorded"), [
    (["loss"], 0.25, {"loss": 0.25}),
    (["loss"], 3, {"loss": 3}),
    (["loss"], np.float32(0.5), {"loss": np.float32(0.5)}),
    (["loss"], np.int64(2), {"loss": np.int64(2)}),
    (["loss"], np.array(0.5), {"loss": np.array(0.5)}),  # a 0-d array holds a number
    (["loss"], (0.5,), {"loss": 0.5}),  # one value per objective, as Optuna takes it
    (["loss", "time"], (0.1, 2.0), {"loss": 0.1, "time": 2.0}),
    (["loss", "time"], [0.1, np.float64(2)], {"loss": 0.1, "time": np.float64(2)}),
    (["loss"], {"loss": 0.3, "acc": 0.9}, {"loss": 0.3, "acc": 0.9}),  # a mapping as is
    (["loss"], None, None),  # nothing: the last report is the result
])
def test_a_returned_number_becomes_the_metric(metrics: list[str], value: Any,
                                             recorded: Any) -> None:
    for got in wrappers(value, metrics):
        assert got == recorded
        if recorded is not None:
            assert [type(v) for v in got.values()] == [type(v) for v in recorded.values()]


def test_nan_is_recorded_for_the_objectives_nan_policy() -> None:
    for got in wrappers(float("nan"), ["loss"]):
        assert list(got) == ["loss"] and np.isnan(got["loss"])


R = "ConfigError: return: "
ONE = "return a real number (the objective 'loss'), a mapping of metrics or None; got "


@pytest.mark.parametrize(("metrics", "value", "error"), [
    (["loss"], True, ONE + "bool: True"),  # before: ignored by rung.run, 'loss' = True here
    (["loss"], np.True_, ONE + "numpy.bool: np.True_"),
    (["loss"], "0.5", ONE + "str: '0.5'"),  # before: ignored / recorded as '0.5'
    (["loss"], (0.1, 0.2), ONE + "tuple: (0.1, 0.2)"),
    (["loss"], np.zeros(2), ONE + "numpy.ndarray: array([0., 0.])"),
    (["loss"], 1 + 2j, ONE + "complex: (1+2j)"),
    (["loss", "time"], 0.5, "this study has 2 objectives ['loss', 'time']: return one number "
                            "each (a tuple or list), got float: 0.5"),
    (["loss", "time"], (0.1, 0.2, 0.3), "this study has 2 objectives ['loss', 'time']: "
                                        "return one value each, got 3: (0.1, 0.2, 0.3)"),
    (["loss", "time"], (0.1, True), "value 1 of (0.1, True) (for objective 'time') is bool, "
                                    "not a real number"),
    (["loss", "time"], "ab", "return one real number per objective ['loss', 'time'] (a tuple "
                             "or list), a mapping of metrics or None; got str: 'ab'"),
])
def test_anything_else_is_one_error_naming_its_type(metrics: list[str], value: Any,
                                                    error: str) -> None:
    assert wrappers(value, metrics) == [R + error] * 2


def test_a_reported_value_follows_the_same_rule() -> None:
    trial = Trial(NO_CTX, ["loss", "time"], 0)
    assert trial.as_metrics((0.1, 2)) == {"loss": 0.1, "time": 2}
    with pytest.raises(ConfigError) as e:
        trial.as_metrics(0.5)
    assert str(e.value) == ("value: this study has 2 objectives ['loss', 'time']: give one "
                            "number each (a tuple or list), got float: 0.5")


def returns_bool(trial: Trial) -> bool:
    return trial.suggest_float("x", 0.0, 1.0) > 2.0


def test_optimize_names_a_returned_bool(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        rung.optimize(returns_bool, n_trials=1, searcher="random", scheduler="fifo",
                      n_workers=1, storage=tmp_path / "j.db", start_method="fork",
                      progress=False)
    assert str(e.value) == ("return: return a real number (the objective 'loss'), a mapping "
                            "of metrics or None; got bool: False (trial 0)")


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
