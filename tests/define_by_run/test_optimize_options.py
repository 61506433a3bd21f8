"""``rung.optimize`` takes ``rung.run``'s study options (``constraints``, ``max_failures``,
``trial_timeout``), stores them, and keeps them when a study is continued. Before, each was
"not an argument of rung.optimize, nor of Study.run or the local executor", though the
docstring said the other arguments were rung.run's."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import rung
from rung.dbr import Trial
from rung.errors import ConfigError, RunFailed


def always_raises(trial: Trial) -> float:
    trial.suggest_float("x", 0.0, 1.0)
    raise ValueError("bad data path")


def constrained(trial: Trial) -> dict[str, float]:
    x = trial.suggest_float("x", 0.0, 1.0)
    return {"loss": x, "c": 1.0 - x}


def hangs_in_trial_1(trial: Trial) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)
    if trial.id == 1:
        time.sleep(30)
    return x


def optimize(objective: Any, storage: Path, **kwargs: Any) -> rung.Study:
    return rung.optimize(objective, searcher="random", scheduler="fifo", n_workers=1,
                         storage=storage, start_method="fork", progress=False, **kwargs)


def test_max_failures_ends_the_run(tmp_path: Path) -> None:
    with pytest.raises(RunFailed) as e:
        optimize(always_raises, tmp_path / "j.db", n_trials=10, max_failures=2)
    assert str(e.value) == "2 trials failed in this run (max_failures=2): the run was stopped early"
    study = rung.Study.load("rung", storage=tmp_path / "j.db")
    assert study.spec.max_failures == 2
    assert sum(t.status.value == "failed" for t in study.trials()) == 2
    study.close()


def test_constraints_choose_the_best_feasible_trial(tmp_path: Path) -> None:
    study = optimize(constrained, tmp_path / "j.db", n_trials=6, constraints=["c <= 0.5"])
    feasible = [t for t in study.trials() if t.params["x"] >= 0.5]
    assert feasible and study.best_trial is not None
    assert study.best_trial.id == min(feasible, key=lambda t: t.params["x"]).id
    assert study.best_trial.params["x"] > min(t.params["x"] for t in study.trials())
    study.close()
    with pytest.raises(ConfigError) as e:  # continued with other constraints: refused
        optimize(constrained, tmp_path / "j.db", constraints=["c <= 0.25"])
    assert str(e.value) == (
        f"constraints: study 'rung' in {tmp_path / 'j.db'} was created with "
        "constraints='c <= 0.5', not 'c <= 0.25'; rung.optimize continues an existing study "
        "with the arguments it was created with: give the same (or leave it out), or another "
        "name=")


def test_trial_timeout_fails_a_hung_trial_and_the_search_goes_on(tmp_path: Path) -> None:
    study = optimize(hangs_in_trial_1, tmp_path / "j.db", n_trials=3, trial_timeout=1.0)
    assert [(t.status.value, t.error) for t in study.trials()] == [
        ("completed", None), ("failed", "timeout: trial_timeout of 1 s reached"),
        ("completed", None)]
    study.close()
    with pytest.raises(ConfigError, match="^trial_timeout: study 'rung' in .* was created "
                                          "with trial_timeout=1.0, not 2.0;"):
        optimize(hangs_in_trial_1, tmp_path / "j.db", trial_timeout=2.0)
