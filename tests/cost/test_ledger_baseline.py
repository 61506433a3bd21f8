"""The saving's baseline is each trial trained once, straight through, from its start-up to
max_step: its steps' time scaled to max_step plus one start-up, no checkpoint save or restore
(``rung.cost.ledger_baseline``). Hand-written journals, numbers computed by hand."""

from __future__ import annotations

import pytest

import rung
from rung.core.events import (
    CapacityChanged,
    CheckpointSaved,
    Launch,
    Record,
    ResultReported,
    TrialEnded,
    TrialStarted,
)
from rung.core.records import ComponentSpec, Objective, Outcome, StudySpec
from rung.cost.ledger import ledger

P = {"x": 0.5}


def _spec(scheduler: str = "hyperband") -> StudySpec:
    return StudySpec(
        name="b", space=rung.SearchSpace({"x": rung.Float(0.0, 1.0)}),
        objective=Objective("loss"), searcher=ComponentSpec("random"),
        scheduler=ComponentSpec(scheduler), max_step=3, budget=rung.Budget(n_trials=2),
        prices={"cpu": 1.0},  # one CPU a trial: 1 money per hour, so cost = hours
    )


def test_start_up_saves_and_restores_are_not_multiplied_by_max_step() -> None:
    """Trial 0: 60 s start-up, step 1 (100 s), a 30 s save, paused; resumed: 10 s start-up,
    90 s restore, steps 2 and 3 (100 s each), completed: 490 s held, of which 300 s training.
    Trial 1: 60 s start-up, step 1 (100 s), stopped: 160 s held. Each trained straight to
    max_step 3 would have held 60 + 300 s: 720 s in all, against 650 s spent (the old rule,
    hours / steps x max_step, said 490 + 480 = 970 s and a saving of 320 s)."""
    records: list[Record] = [
        CapacityChanged(1, 0.0, True),
        Launch(0, P, 1, 1, 3, None),
        TrialStarted(0, 60.0),
        ResultReported(0, 1, {"loss": 0.9}, 160.0),
        CheckpointSaved(0, 1, "c/0", 190.0),
        TrialEnded(0, Outcome.PAUSED, 190.0),
        Launch(0, P, 2, 3, 3, "c/0"),
        TrialStarted(0, 200.0),
        ResultReported(0, 2, {"loss": 0.8}, 390.0),
        ResultReported(0, 3, {"loss": 0.7}, 490.0),
        TrialEnded(0, Outcome.COMPLETED, 490.0),
        Launch(1, P, 1, 1, 3, None),
        TrialStarted(1, 550.0),
        ResultReported(1, 1, {"loss": 0.95}, 650.0),
        TrialEnded(1, Outcome.STOPPED, 650.0),
    ]
    led = ledger(_spec(), records)
    assert led.total.cost == pytest.approx(650 / 3600, rel=1e-12)
    assert led.full_cost == pytest.approx(720 / 3600, rel=1e-12)
    assert led.full_device_hours == pytest.approx(720 / 3600, rel=1e-12)
    assert led.saving == pytest.approx(70 / 3600, rel=1e-12)
    assert led.saved_fraction == pytest.approx(1 - 650 / 720, rel=1e-12)
    # the checkpoint overhead the ledger reports: the save and the resumed run's first step
    # beyond the median step (its start-up and its restore)
    assert led.checkpoint_hours == pytest.approx(130 / 3600, rel=1e-12)


def test_a_straight_run_with_start_up_saves_exactly_nothing() -> None:
    """FIFO, no checkpoint: each trial trains to max_step in one run, so its baseline is what
    it spent, start-up included, and the saving is exactly 0."""
    records: list[Record] = [CapacityChanged(1, 0.0, True)]
    t = 0.0
    for tid in range(2):
        records.append(Launch(tid, P, 1, 3, 3, None))
        records.append(TrialStarted(tid, t + 7.3))
        for step in (1, 2, 3):
            records.append(ResultReported(tid, step, {"loss": 1.0 / step}, t + 7.3 + 11.1 * step))
        t += 7.3 + 11.1 * 3 + 0.2
        records.append(TrialEnded(tid, Outcome.COMPLETED, t))
    led = ledger(_spec("fifo"), records)
    assert led.saving == 0.0 and led.saving_device_hours == 0.0 and led.saved_fraction == 0.0
    assert led.full_cost == pytest.approx(led.total.cost, rel=1e-12)
