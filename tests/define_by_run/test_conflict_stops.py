"""A parameter declared otherwise than before (another kind, log scale or choices) is the
objective's bug, and fails every later trial the same way: ``rung.optimize`` stops the run at
the first trial that fails of it. Before, a study resumed with a changed objective ran its
whole remaining budget into failures (18 of 30 trials), and only then raised; the budget was
spent, so fixing the objective could not recover the study."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rung
from rung import TrialStatus
from rung.dbr import Trial
from rung.errors import ConfigError


def as_float(trial: Trial) -> float:
    return trial.suggest_float("x", 0.0, 10.0)


def as_int(trial: Trial) -> float:
    return float(trial.suggest_int("x", 0, 10))


class StopAfter(rung.Callback):
    """Ends the run (as a Ctrl-C would) once ``n`` trials completed."""

    def __init__(self, n: int) -> None:
        self.n = n

    def on_turn(self, events: Any, commands: Any, history: Any) -> None:
        if history.count(TrialStatus.COMPLETED) >= self.n:
            raise KeyboardInterrupt


def optimize(objective: Any, storage: Path, **kwargs: Any) -> rung.Study:
    return rung.optimize(objective, searcher="random", scheduler="fifo", n_workers=1,
                         n_trials=20, storage=storage, name="d", start_method="fork",
                         progress=False, **kwargs)


def test_a_changed_declaration_stops_the_resumed_run_at_its_first_trial(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    with pytest.raises(KeyboardInterrupt):
        optimize(as_float, db, callbacks=[StopAfter(3)])
    with pytest.raises(ConfigError) as e:
        optimize(as_int, db)
    assert str(e.value).startswith("x: declared as float(low=0.0, high=10.0) before, now as "
                                   "int(low=0, high=10): a parameter keeps its kind")
    h = rung.Study.load("d", db, readonly=True).history
    failed = h.ids(TrialStatus.FAILED)
    assert len(failed) == 1 and str(e.value).endswith(f"(trial {failed[0]})")
    assert len(h) <= 5  # 3 completed, the one interrupted by the stop, the one that failed
    # the budget is left: the objective fixed, the study goes on and finishes
    study = optimize(as_float, db)
    assert len(study.history) == 20
