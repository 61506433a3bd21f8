"""A define-by-run study under a scheduler that pauses and resumes trials."""

from __future__ import annotations

import time
from typing import Any

import pytest

import rung
from rung.core.events import Launch, ParamsUsed
from rung.dbr import Trial
from rung.storage.memory import MemoryJournal


def curve(trial: Trial) -> None:
    x = trial.suggest_float("x", 0.0, 1.0)
    for step in range(trial.start_step, trial.max_step + 1):
        trial.report(step, x + 1 / step)


def test_a_study_whose_trials_were_paused_and_resumed_reloads() -> None:
    journal = MemoryJournal()
    study = rung.optimize(curve, n_trials=10, searcher="random", max_step=9, n_workers=1,
                          scheduler=rung.ASHA(variant="promotion"), storage=journal,
                          start_method="fork", progress=False)
    launches = [r.trial_id for r in journal.read("rung") if isinstance(r, Launch)]
    assert len(launches) > len(set(launches))  # some trials were resumed
    again = rung.Study.load("rung", journal)
    assert again.trials() == study.trials()


def slow_curve(trial: Trial) -> None:
    """``curve``, with a pause after step 1: the params it drew reach the driver while it
    still runs (without it, its params, results and end could arrive in one turn, after
    which the trial is over and a crash interrupts nothing)."""
    x = trial.suggest_float("x", 0.0, 1.0)
    for step in range(trial.start_step, trial.max_step + 1):
        trial.report(step, x + 1 / step)
        if step == 1:
            time.sleep(0.2)


class CrashOnFirstParams(rung.Callback):
    """Stops the driver (as a kill would) while trial 0, launched with no params (nothing
    was learned yet), is running: it has reported the params it drew."""

    def on_turn(self, events: Any, commands: Any, history: Any) -> None:
        if any(isinstance(e, ParamsUsed) for e in events):
            raise KeyboardInterrupt


def test_a_study_resumed_after_a_crash_mid_trial_reloads() -> None:
    journal = MemoryJournal()
    with pytest.raises(KeyboardInterrupt):
        rung.optimize(slow_curve, n_trials=3, searcher="random", max_step=3, n_workers=1,
                      storage=journal, start_method="fork", progress=False,
                      callbacks=[CrashOnFirstParams()])
    study = rung.optimize(slow_curve, n_trials=3, searcher="random", max_step=3, n_workers=1,
                          storage=journal, start_method="fork", progress=False)
    first = [r for r in journal.read("rung") if isinstance(r, Launch) and r.trial_id == 0]
    assert [dict(r.params) for r in first] == [{}, dict(study.trial(0).params)]
    again = rung.Study.load("rung", journal)
    assert again.trials() == study.trials()
