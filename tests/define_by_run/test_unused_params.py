"""An enqueued name the define-by-run objective never asks for (a misspelt ``lr`` for
``learning_rate``) was dropped without a word: the trial drew ``learning_rate`` instead. Now
one warning names it when its trial ends (``rung.dbr.unused``)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import rung
from rung.dbr import Trial
from rung.dbr.unused import hint


def objective(trial: Trial) -> float:
    opt = trial.suggest_categorical("opt", ["adam", "sgd"])
    lr = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
    if opt == "sgd":
        trial.suggest_float("momentum", 0.0, 0.9)
    return lr


def run(tmp_path: Path, points: list[dict[str, object]], n_trials: int = 3) -> rung.Study:
    return rung.optimize(objective, n_trials=n_trials, searcher="random", scheduler="fifo",
                         n_workers=1, storage=tmp_path / "j.db", name="mlp",
                         start_method="fork", progress=False, points_to_evaluate=points)


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "rung.dbr" and r.levelno == logging.WARNING]


def test_an_enqueued_name_the_objective_never_asks_for_is_warned_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="rung.dbr")
    study = run(tmp_path, [{"opt": "adam", "lr": 0.01},
                           {"opt": "adam", "learning_rate": 0.02, "wd": 0.1, "optim": "x"}])
    assert warnings(caplog) == [
        "study mlp, trial 0: the objective never asked for the enqueued parameter 'lr' (did "
        "you mean 'learning_rate'?): its value was not used",
        "study mlp, trial 1: the objective never asked for the enqueued parameters 'wd', "
        "'optim' (did you mean 'opt'?): their values were not used",
    ]
    first, second = study.trials()[:2]
    assert set(first.params) == {"opt", "learning_rate"}  # the draw, not 0.01
    assert second.params["learning_rate"] == 0.02


def test_no_warning_when_every_enqueued_name_is_asked_for(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="rung.dbr")
    # momentum on the branch the trial does not take is known (trial 0 asked for it): the
    # searcher proposes such values too, so it is no mistake
    run(tmp_path, [{"opt": "sgd", "learning_rate": 0.01, "momentum": 0.5},
                   {"opt": "adam", "learning_rate": 0.02, "momentum": 0.5}])
    assert warnings(caplog) == []


def test_the_hint_takes_initials_when_no_name_is_close() -> None:
    assert hint("lr", ["opt", "learning_rate"]) == " (did you mean 'learning_rate'?)"
    assert hint("weight_decay", ["wd", "lr"]) == " (did you mean 'wd'?)"
    assert hint("zz", ["opt", "learning_rate"]) == ""


def test_study_run_of_a_define_by_run_study_warns_too(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Study.run on a study created with define_by_run=True (not through rung.optimize): the
    warning came only from rung.optimize; it now comes once from either."""
    caplog.set_level(logging.WARNING, logger="rung.dbr")
    study = rung.Study.create("mlp", None, storage=tmp_path / "j.db", objective="loss",
                              define_by_run=True, searcher="random", scheduler="fifo",
                              budget=rung.Budget(n_trials=2))
    study.enqueue({"opt": "adam", "lr": 0.01})
    study.run(objective, n_workers=1, start_method="fork", progress=False)
    assert warnings(caplog) == [
        "study mlp, trial 0: the objective never asked for the enqueued parameter 'lr' (did "
        "you mean 'learning_rate'?): its value was not used"]
