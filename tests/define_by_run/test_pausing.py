"""A define-by-run study under a scheduler that pauses and resumes trials."""

from __future__ import annotations

import pytest

import rung
from rung.core.events import Launch
from rung.dbr import Trial
from rung.errors import ReplayDivergenceError
from rung.storage.memory import MemoryJournal


def curve(trial: Trial) -> None:
    x = trial.suggest_float("x", 0.0, 1.0)
    for step in range(trial.start_step, trial.max_step + 1):
        trial.report(step, x + 1 / step)


@pytest.mark.xfail(strict=True, raises=ReplayDivergenceError, reason=(
    "rung.core.replay keeps the LAST Launch of each trial as the params to replay its first "
    "launch with; a resumed define-by-run trial's later Launch carries the params it used, not "
    "those first proposed ({} before anything is learned). Fix: "
    "engine._replay_params.setdefault(rec.trial_id, rec.params) in rung/core/replay.py"))
def test_a_study_whose_trials_were_paused_and_resumed_reloads() -> None:
    journal = MemoryJournal()
    study = rung.optimize(curve, n_trials=10, searcher="random", max_step=9, n_workers=1,
                          scheduler=rung.ASHA(variant="promotion"), storage=journal,
                          start_method="fork", progress=False)
    launches = [r.trial_id for r in journal.read("rung") if isinstance(r, Launch)]
    assert len(launches) > len(set(launches))  # some trials were resumed
    again = rung.Study.load("rung", journal)
    assert again.trials() == study.trials()
