"""``trial.report(step, value)`` called the Optuna way (``report(value, step)``) or with a step
below the one reported before fails with one line naming the steps, and legitimate calls
(NumPy integer steps, NumPy float values, metrics as a mapping, a float step with a float
value) are recorded as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rung
from rung.dbr import FixedTrial, Trial
from rung.errors import ConfigError

SWAPPED = " (Optuna's trial.report(value, step) has them the other way round)"


@pytest.mark.parametrize(("step", "value", "shown"), [
    (0.0, 3, "step=0.0, value=3"),  # before: 'must be >= 1 (rung counts steps from 1 ...'
    (1.0, 3, "step=1.0, value=3"),  # before: recorded silently as loss=3 at step 1
    (0.93, np.int64(3), "step=0.93, value=np.int64(3)"),  # before: no word of Optuna's order
    (np.float64(0.93), 2, "step=np.float64(0.93), value=2"),
])
def test_a_float_step_with_an_integer_value_is_optunas_order(
        step: Any, value: Any, shown: str) -> None:
    trial = FixedTrial({}, max_step=5)
    with pytest.raises(ConfigError) as e:
        trial.report(step, value)
    assert e.value.key == "step"
    assert str(e.value) == ("step: trial.report(step, value) takes the step first, an "
                            f"integer >= 1; got {shown}{SWAPPED}")
    assert trial.reports == []


def test_legitimate_reports_are_recorded() -> None:
    trial = FixedTrial({}, metric="loss", max_step=5)
    trial.report(np.int64(1), np.float32(0.5))  # type: ignore[arg-type]
    # a float step that is a whole number, with a float value
    trial.report(2.0, 0.25)  # type: ignore[arg-type]
    trial.report(2, 0.2)  # the same step again: the engine keeps the later one
    trial.report(3, 1)  # rung's order, both ints: value 1 at step 3
    trial.report(4, {"loss": 0.1, "acc": 0.9})
    assert trial.reports == [(1, {"loss": np.float32(0.5)}), (2, {"loss": 0.25}),
                             (2, {"loss": 0.2}), (3, {"loss": 1}),
                             (4, {"loss": 0.1, "acc": 0.9})]
    assert [type(s) for s, _ in trial.reports] == [int] * 5


def test_a_step_below_the_last_one_is_refused() -> None:
    """Before: step 2 was recorded after step 3."""
    trial = FixedTrial({}, max_step=5)
    trial.report(3, 0.1)
    with pytest.raises(ConfigError) as e:
        trial.report(np.int64(2), 0.2)  # type: ignore[arg-type]
    assert e.value.key == "step"
    assert str(e.value) == ("step: report(step=2) after report(step=3): steps never go "
                            "backwards (report them in increasing order; the same step again "
                            "replaces its result)")
    assert trial.reports == [(3, {"loss": 0.1})]


def backwards(trial: Trial) -> float:
    x = trial.suggest_float("x", 0.25, 0.75)
    for step in (1, 3, 2):
        trial.report(step, x)
    return x


def test_rung_optimize_names_the_steps_that_went_backwards(tmp_path: Path) -> None:
    """Before: both trials completed, with results at steps 1, 3 and 2."""
    with pytest.raises(ConfigError) as e:
        rung.optimize(backwards, n_trials=2, max_step=3, searcher="random", scheduler="fifo",
                      n_workers=1, storage=tmp_path / "j.db", start_method="fork",
                      progress=False)
    assert e.value.key == "step"
    assert str(e.value) == ("step: report(step=2) after report(step=3): steps never go "
                            "backwards (report them in increasing order; the same step again "
                            "replaces its result) (trial 0)")
