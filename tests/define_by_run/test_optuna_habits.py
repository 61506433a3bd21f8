"""What an objective ported from Optuna does in ``rung.optimize``: each habit that does not
carry over is one line naming what to write instead, and Optuna's own ``TrialPruned`` stops
the trial as rung's ``StopTrial`` would."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.core.records import TrialStatus
from rung.dbr import Trial
from rung.errors import ConfigError


def optimize(objective: object, tmp_path: Path, n_trials: int = 2) -> rung.Study:
    return rung.optimize(objective, n_trials=n_trials, max_step=3,  # type: ignore[arg-type]
                         searcher="random", scheduler="fifo", n_workers=1,
                         storage=tmp_path / "j.db", start_method="fork", progress=False)


def optuna_order(trial: Trial) -> float:
    x = trial.suggest_float("x", 0.25, 0.75)
    for epoch in range(3):
        trial.report(x + 1.0 / (epoch + 1), epoch)  # type: ignore[arg-type]
    return x


def test_optunas_report_order_is_one_line_naming_the_step(tmp_path: Path) -> None:
    """Before: every trial failed with 'report(step=...): expected an integer step' and
    rung.optimize raised RunFailed."""
    with pytest.raises(ConfigError) as e:
        optimize(optuna_order, tmp_path)
    assert e.value.key == "step"
    assert str(e.value).startswith(
        "step: trial.report(step, value) takes the step first, an integer >= 1; got step=")
    assert str(e.value).endswith(", value=0 (Optuna's trial.report(value, step) has them "
                                 "the other way round) (trial 0)")


def from_zero(trial: Trial) -> float:
    x = trial.suggest_float("x", 0.25, 0.75)
    for epoch in range(3):
        trial.report(epoch, x + 1.0 / (epoch + 1))
    return x


def test_a_step_counted_from_zero_is_refused(tmp_path: Path) -> None:
    """Before: steps 0, 1, 2 were recorded and the trials completed below max_step 3."""
    with pytest.raises(ConfigError) as e:
        optimize(from_zero, tmp_path)
    assert str(e.value) == ("step: must be >= 1 (rung counts steps from 1: in a loop over "
                            "range(n), report epoch + 1), got 0 (trial 0)")


def asks_should_prune(trial: Trial) -> float:
    """Optuna's pruning idiom, with rung's step order."""
    import optuna

    x = trial.suggest_float("x", 0.0, 1.0)
    for step in range(1, trial.max_step + 1):
        trial.report(step, x + 1.0 / step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return x + 1.0 / trial.max_step


def test_optunas_should_prune_idiom_runs_and_the_scheduler_stops_trials(
    tmp_path: Path,
) -> None:
    """``should_prune()`` is False once ``report`` has returned: ``report`` itself stops the
    trials the scheduler stops. Before: the trials failed with 'AttributeError: rung's
    define-by-run Trial has no 'should_prune' (Optuna's)'."""
    pytest.importorskip("optuna")
    study = rung.optimize(asks_should_prune, n_trials=9, max_step=9, searcher="random",
                          scheduler=rung.ASHA(reduction_factor=3), n_workers=1,
                          storage=tmp_path / "j.db", start_method="fork", progress=False)
    # stopped by the scheduler at its first rung, never failed by the objective's check
    assert [(t.status.value, t.last_step) for t in study.trials()] == [
        ("completed", 9), ("stopped", 1), ("stopped", 1), ("stopped", 1), ("completed", 9),
        ("stopped", 1), ("stopped", 1), ("stopped", 1), ("stopped", 1)]
    study.close()
    from rung.dbr import FixedTrial

    fixed = FixedTrial({"x": 0.5}, max_step=3)
    assert asks_should_prune(fixed) == 0.5 + 1.0 / 3
    assert fixed.should_prune() is False


def test_other_missing_attributes_keep_pythons_message() -> None:
    trial = Trial.__new__(Trial)
    with pytest.raises(AttributeError, match=r"^'Trial' object has no attribute 'nope'$"):
        trial.nope  # noqa: B018
    with pytest.raises(AttributeError, match=r"has no 'number' \(Optuna's\): trial\.id"):
        trial.number  # noqa: B018


def prunes_itself(trial: Trial) -> float:
    import optuna

    x = trial.suggest_float("x", 0.0, 1.0)
    trial.report(1, x)
    if trial.id % 2 == 0:
        raise optuna.TrialPruned("below my own threshold")
    return x


def test_optunas_trial_pruned_stops_the_trial(tmp_path: Path) -> None:
    """Before: the trial failed with the TrialPruned traceback."""
    pytest.importorskip("optuna")
    study = optimize(prunes_itself, tmp_path, n_trials=4)
    trials = study.trials()
    assert [t.status for t in trials] == [TrialStatus.STOPPED, TrialStatus.COMPLETED] * 2
    assert [t.error for t in trials] == ["below my own threshold", None] * 2
    assert [[r.step for r in t.results] for t in trials] == [[1]] * 4


def test_numpy_choices_are_taken_as_optuna_takes_them() -> None:
    """Before: 'c.choices: must be a list of choices, got array([1, 2, 3])'."""
    import numpy as np

    from rung.dbr import FixedTrial

    trial = FixedTrial({"c": 2})
    assert trial.suggest_categorical("c", np.array([1, 2, 3])) == 2
    assert type(trial.params["c"]) is int


def ten_epochs(trial: Trial) -> float:
    x = trial.suggest_float("x", 0.25, 0.75)
    for epoch in range(10):
        trial.report(epoch + 1, x + 1 / (epoch + 1))
    return x


def test_more_steps_than_max_step_is_one_line_naming_the_argument(tmp_path: Path) -> None:
    """An Optuna loop reports as many steps as it likes. Before: every trial failed with
    'ValueError: report(step=4): above the study's max_step (3); loop up to ctx.max_step' and
    rung.optimize raised RunFailed."""
    with pytest.raises(ConfigError) as e:
        optimize(ten_epochs, tmp_path)
    assert str(e.value) == ("step: report(step=4) is above the study's max_step (3): give "
                            "rung.optimize(max_step=...) the number of steps the objective "
                            "reports, and loop up to trial.max_step (trial 0)")


def test_a_step_given_fourth_is_one_line_naming_step() -> None:
    """Optuna 3's suggest_int(name, low, high, step) took the step fourth; here the fourth
    argument is log. Before: "'n'.log: must be true or false, got 2"."""
    from rung.dbr import FixedTrial

    trial = FixedTrial({"n": 4, "x": 0.5})
    with pytest.raises(ConfigError) as e:
        trial.suggest_int("n", 2, 10, 2)  # type: ignore[arg-type]
    assert str(e.value) == (
        "n.log: must be true or false, got 2: the fourth argument of suggest_int is log; give "
        "a step as step=2 (Optuna 3's suggest_int(name, low, high, step) took it fourth)")
    with pytest.raises(ConfigError) as e:
        trial.suggest_float("x", 0.0, 1.0, 0.25)  # type: ignore[arg-type]
    assert str(e.value) == ("x.log: must be true or false, got 0.25: the fourth argument of "
                            "suggest_float is log; give a step as step=0.25")
    assert trial.suggest_int("n", 2, 10, step=2) == 4
    assert trial.params == {"n": 4}
