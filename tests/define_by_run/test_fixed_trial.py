"""``FixedTrial``: an objective run once with given params, without a study (Optuna's
``optuna.trial.FixedTrial``, how its users unit-test an objective). Before, a define-by-run
objective could only be run inside ``rung.optimize``."""

from __future__ import annotations

import pytest

from rung.dbr import FixedTrial, Trial
from rung.errors import ConfigError


def objective(trial: Trial) -> float:
    depth = trial.suggest_int("depth", 1, 8)
    units = trial.suggest_int("units", 1, depth)
    opt = trial.suggest_categorical("opt", ["adam", "sgd"])
    loss = 0.0
    for step in range(trial.start_step, trial.max_step + 1):
        loss = depth / units / step + (opt == "sgd")
        trial.report(step, loss, lr=0.1)
    return loss


def test_suggest_returns_the_given_values_and_reports_are_kept() -> None:
    trial = FixedTrial({"depth": 3, "units": 2, "opt": "sgd"}, max_step=3)
    assert objective(trial) == 1.5
    assert trial.params == {"depth": 3, "units": 2, "opt": "sgd"}
    assert trial.reports == [(1, {"loss": 2.5, "lr": 0.1}), (2, {"loss": 1.75, "lr": 0.1}),
                             (3, {"loss": 1.5, "lr": 0.1})]
    assert (trial.id, trial.start_step, trial.max_step, trial.checkpoint) == (0, 1, 3, None)
    assert repr(trial) == "FixedTrial(id=0, params={'depth': 3, 'units': 2, 'opt': 'sgd'})"


def test_a_missing_name_is_an_error_naming_it() -> None:
    with pytest.raises(ConfigError) as e:
        objective(FixedTrial({"depth": 3, "opt": "sgd"}))
    assert str(e.value) == "units: not among the FixedTrial's params ['depth', 'opt']"


def test_a_value_outside_the_calls_distribution_is_an_error_naming_it() -> None:
    """A FixedTrial never replaces a value (a study's trial draws instead of a proposal
    outside the call's range; a test's value is the test's intent)."""
    with pytest.raises(ConfigError) as e:
        objective(FixedTrial({"depth": 3, "units": 5, "opt": "sgd"}))
    assert str(e.value) == ("units: the value given for it (5 is outside [1, 3]) does not fit "
                            "the distribution declared here")


def test_multi_objective_values_and_the_step_range() -> None:
    trial = FixedTrial({}, id=4, metric=["a", "b"], max_step=2)
    trial.report(2, (0.1, 0.2))
    assert trial.reports == [(2, {"a": 0.1, "b": 0.2})]
    with pytest.raises(ConfigError) as e:
        trial.report(3, (0.1, 0.2))
    # the FixedTrial's own argument, not rung.optimize's (before: "above the study's
    # max_step (2): give rung.optimize(max_step=...)")
    assert str(e.value) == ("step: report(step=3) is above the FixedTrial's max_step (2): "
                            "give FixedTrial(..., max_step=...) the number of steps the "
                            "objective reports, and loop up to trial.max_step")
    with pytest.raises(ConfigError, match="^params: must be a mapping"):
        FixedTrial([("x", 1)])  # type: ignore[arg-type]


def test_a_metric_given_as_the_value_and_as_a_keyword_is_refused() -> None:
    """Before: report(1, 0.5, loss=5.0) recorded loss=0.5 and dropped the keyword's 5.0."""
    trial = FixedTrial({}, metric="loss")
    with pytest.raises(ConfigError) as e:
        trial.report(1, 0.5, loss=5.0)
    assert str(e.value) == ("value: metric 'loss' given twice, as the value (0.5) and as a "
                            "keyword (loss=5.0): give it once")
    with pytest.raises(ConfigError, match="^value: metric 'acc' given twice"):
        trial.report(1, {"loss": 0.5, "acc": 0.9}, acc=0.8)
    assert trial.reports == []
    trial.report(1, 0.5, acc=0.8)
    assert trial.reports == [(1, {"acc": 0.8, "loss": 0.5})]
