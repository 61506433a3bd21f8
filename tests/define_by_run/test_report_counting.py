"""An Optuna objective whose metric is an integer (a count of errors) reports it first, as
``trial.report(value, step)`` does: ``trial.report(19, 1)``, ``trial.report(18, 2)``. Its
"steps" then go backwards (or past ``max_step``) while its "values" count up by one like
steps; the refused call names Optuna's order and rung's call. Before, only a float in the step's
place named it, and this objective failed with ``report(step=18) after report(step=19): steps
never go backwards`` alone (audit ``optuna/dbr_intmetric.py``). Reports in rung's order never
get the hint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rung
from rung.dbr import FixedTrial, Trial
from rung.errors import ConfigError

BACK = ("step: report(step={s}) after report(step={last}): steps never go backwards (report "
        "them in increasing order; the same step again replaces its result)")


def hint(last: int, value: int, step: int) -> str:
    return (f" (the values count up by one like steps, {last} then {value}: Optuna's "
            f"trial.report(value, step) has them the other way round; rung's order is "
            f"trial.report({value}, {step}))")


def refused(trial: Trial, *calls: tuple[Any, Any]) -> str:
    *ok, last = calls
    for step, value in ok:
        trial.report(step, value)
    with pytest.raises(ConfigError) as e:
        trial.report(*last)
    assert e.value.key == "step"
    return str(e.value)


@pytest.mark.parametrize(("calls", "message"), [
    # the brief's example: value 16 at Optuna step 17, then 15 at 18
    (((16, 17), (15, 18)), BACK.format(s=15, last=16) + hint(17, 18, 15)),
    # a loop counted from 0, NumPy integers
    (((np.int64(19), np.int64(0)), (18, 1)), BACK.format(s=18, last=19) + hint(0, 1, 18)),
    # an increasing count (correct answers) goes backwards later
    (((10, 1), (12, 2), (11, 3)), BACK.format(s=11, last=12) + hint(2, 3, 11)),
])
def test_optunas_order_with_an_integer_metric_is_named(
        calls: tuple[tuple[Any, Any], ...], message: str) -> None:
    trial = FixedTrial({}, max_step=30)
    assert refused(trial, *calls) == message


def test_above_max_step_it_is_named_too() -> None:
    trial = FixedTrial({}, max_step=9)
    assert refused(trial, (7, 1), (8, 2), (12, 3)) == (
        "step: report(step=12) is above the FixedTrial's max_step (9): give "
        "FixedTrial(..., max_step=...) the number of steps the objective reports, and loop up "
        "to trial.max_step" + hint(2, 3, 12))


@pytest.mark.parametrize("calls", [
    # rung's order with an integer metric that counts up: its first report is at start_step
    ((1, 0), (2, 1), (1, 2)),
    ((1, 5), (2, 6), (3, 7), (2, 8)),
    # values that do not count up by one, or not from the first report on
    ((5, 3), (4, 5)),
    ((5, 3), (6, 1), (7, 2), (4, 3)),
    ((5, 0.5), (4, 1)),
    ((5, 3), (4, 4.0)),
    ((5, None), (4, 1)),
])
def test_no_hint_when_the_values_do_not_count_like_optunas_steps(
        calls: tuple[tuple[Any, Any], ...]) -> None:
    trial = FixedTrial({}, max_step=9)
    *ok, last = calls
    for step, value in ok:
        if value is None:
            trial.report(step, loss=1.0)
        else:
            trial.report(step, value)
    with pytest.raises(ConfigError) as e:
        trial.report(*last)
    assert "steps never go backwards" in str(e.value)
    assert "Optuna" not in str(e.value)


def test_the_first_report_above_max_step_has_no_hint() -> None:
    trial = FixedTrial({}, max_step=9)
    with pytest.raises(ConfigError) as e:
        trial.report(19, 1)
    assert "Optuna" not in str(e.value)


def test_rung_order_reports_of_integer_metrics_are_recorded() -> None:
    trial = FixedTrial({}, max_step=5)
    for step, value in ((1, 7), (2, 8), (2, 9), (3, 10), (5, 11)):
        trial.report(step, value)
    assert [s for s, _ in trial.reports] == [1, 2, 2, 3, 5]


def count_errors(trial: Trial) -> int:
    x = trial.suggest_int("x", 0, 10)
    n_errors = 0
    for epoch in range(1, 10):
        n_errors = 20 - epoch - x  # an integer count, decreasing, reported Optuna's way
        trial.report(n_errors, epoch)
    return n_errors


def test_rung_optimize_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        rung.optimize(count_errors, n_trials=1, metric="errors", max_step=27,
                      searcher="random", scheduler="fifo", n_workers=1,
                      storage=tmp_path / "j.db", start_method="fork", progress=False,
                      seed=0)
    message = str(e.value)
    first = message.split("report(step=", 2)[2].split(")")[0]  # 19 - x
    assert message.startswith(f"step: report(step={int(first) - 1}) after report(step={first})")
    assert message.endswith(hint(1, 2, int(first) - 1) + " (trial 0)")
