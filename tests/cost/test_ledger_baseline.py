"""The saving's baseline is each trial trained once, straight through, from one start-up to the
step it would have ended at, without checkpoints: its first start-up + its mean clean step time x
its target step + its last run's tail, or exactly what it held when it already ran straight
through (``rung.cost.ledger_baseline``). Hand-written journals, numbers computed by hand; the
last five reproduce the shapes of the ledger audit's findings (/tmp/audit-ledger2)."""

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


def _spec(scheduler: str = "hyperband", max_step: int = 3) -> StudySpec:
    return StudySpec(
        name="b", space=rung.SearchSpace({"x": rung.Float(0.0, 1.0)}),
        objective=Objective("loss"), searcher=ComponentSpec("random"),
        scheduler=ComponentSpec(scheduler), max_step=max_step, budget=rung.Budget(n_trials=2),
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


def test_one_step_runs_and_forks_count_their_restores_as_overhead() -> None:
    """PBT with perturbation_interval=1 (audit finding 1): no run reports twice, so no step is
    timed between two results. Trial 0 trains steps 1, 2, 3 in three one-step runs (1 s
    start-ups, 10 s steps, 3 s saves, 5 s restores, a 0.5 s tail); trial 1 forks trial 0's
    step-2 checkpoint and trains step 3 only (2 s start-up, 4 s restore). Clean steps: trial 0's
    first (10 s), so m = 10 s for both (trial 1 has none: the study's mean). Baselines 1 + 30 +
    0.5 and 2 + 30: 63.5 s against 65.5 s spent, a saving of -2 s (the median rule counted the
    restores as training and scaled the fork's 14 s by 3: 85.5 s, +20 s saved)."""
    records: list[Record] = [
        CapacityChanged(1, 0.0, True),
        Launch(0, P, 1, 1, 3, None),
        TrialStarted(0, 1.0),
        ResultReported(0, 1, {"loss": 0.9}, 11.0),
        CheckpointSaved(0, 1, "c/0/1", 14.0),
        TrialEnded(0, Outcome.PAUSED, 14.0),
        Launch(0, P, 2, 2, 3, "c/0/1"),
        TrialStarted(0, 15.0),
        ResultReported(0, 2, {"loss": 0.8}, 30.0),
        CheckpointSaved(0, 2, "c/0/2", 33.0),
        TrialEnded(0, Outcome.PAUSED, 33.0),
        Launch(0, P, 3, 3, 3, "c/0/2"),
        TrialStarted(0, 34.0),
        ResultReported(0, 3, {"loss": 0.7}, 49.0),
        TrialEnded(0, Outcome.COMPLETED, 49.5),
        Launch(1, P, 3, 3, 3, "c/0/2"),
        TrialStarted(1, 51.5),
        ResultReported(1, 3, {"loss": 0.75}, 65.5),
        TrialEnded(1, Outcome.COMPLETED, 65.5),
    ]
    led = ledger(_spec("pbt"), records)
    assert led.total.cost == pytest.approx(65.5 / 3600, rel=1e-12)
    assert led.full_cost == pytest.approx(63.5 / 3600, rel=1e-12)
    assert led.saving == pytest.approx(-2 / 3600, rel=1e-9)
    # two saves (6 s) and three restored first steps of 16 s from their launch, 10 s of which
    # is a step: 6 s each (start-up and restore)
    assert led.checkpoint_hours == pytest.approx(24 / 3600, rel=1e-12)


def test_a_one_step_pause_and_resume_counts_the_restore_once() -> None:
    """Successive halving pausing at step 1 (audit finding 1), max_step 4: trial 0 trains step
    1 (10 s, 1 s start-up, 2 s save), is resumed (1 s start-up, 3 s restore), trains step 2,
    saves and is stopped 0.25 s later; trial 1 trains step 1 (12 s), saves, is stopped 0.5 s
    later. Baselines 1 + 4 x 10 + 0.25 and 1 + 4 x 12 + 0.5: 90.75 s against 44.75 s spent
    (the median rule: 47.5 s for trial 0, its restore scaled by 2 as training)."""
    records: list[Record] = [
        CapacityChanged(1, 0.0, True),
        Launch(0, P, 1, 1, 4, None),
        TrialStarted(0, 1.0),
        ResultReported(0, 1, {"loss": 0.9}, 11.0),
        CheckpointSaved(0, 1, "c/0/1", 13.0),
        TrialEnded(0, Outcome.PAUSED, 13.0),
        Launch(1, P, 1, 1, 4, None),
        TrialStarted(1, 14.0),
        ResultReported(1, 1, {"loss": 0.95}, 26.0),
        CheckpointSaved(1, 1, "c/1/1", 28.0),
        TrialEnded(1, Outcome.STOPPED, 28.5),
        Launch(0, P, 2, 2, 4, "c/0/1"),
        TrialStarted(0, 29.5),
        ResultReported(0, 2, {"loss": 0.8}, 42.5),
        CheckpointSaved(0, 2, "c/0/2", 44.5),
        TrialEnded(0, Outcome.STOPPED, 44.75),
    ]
    led = ledger(_spec("successive_halving", max_step=4), records)
    assert led.total.cost == pytest.approx(44.75 / 3600, rel=1e-12)
    assert led.full_cost == pytest.approx(90.75 / 3600, rel=1e-12)
    assert led.saving == pytest.approx(46 / 3600, rel=1e-12)
    # three 2 s saves, and the resumed run's first step (14 s from its launch) beyond 10 s
    assert led.checkpoint_hours == pytest.approx(10 / 3600, rel=1e-12)


def test_fifo_with_early_returns_and_failures_saves_exactly_nothing() -> None:
    """FIFO without checkpoints, max_step 5 (audit finding 2): trial 0's objective returns after
    step 3 (2 s start-up, 10 s steps, 0.3 s tail), trial 1 raises at step 2, trial 2 trains to
    max_step. Each ran straight through: its baseline is what it held, and the saving is
    exactly 0 (the old rule scaled trial 0 to max_step: 2 + 30.3 x 5 / 3)."""
    records: list[Record] = [CapacityChanged(1, 0.0, True)]
    t = 0.0
    for tid, last, outcome in ((0, 3, Outcome.COMPLETED), (1, 2, Outcome.FAILED),
                               (2, 5, Outcome.COMPLETED)):
        records.append(Launch(tid, P, 1, 5, 5, None))
        records.append(TrialStarted(tid, t + 2.0))
        for step in range(1, last + 1):
            records.append(ResultReported(tid, step, {"loss": 1.0 / step}, t + 2.0 + 10.0 * step))
        t += 2.0 + 10.0 * last + 0.3
        records.append(TrialEnded(tid, outcome, t, "boom" if outcome is Outcome.FAILED else None))
    led = ledger(_spec("fifo", max_step=5), records)
    assert led.saving == 0.0 and led.saving_device_hours == 0.0 and led.saved_fraction == 0.0
    assert led.full_cost == pytest.approx(led.total.cost, rel=1e-12)


def test_steps_trained_again_after_a_crash_count_once() -> None:
    """FIFO, max_step 4, a save every 2 steps (audit finding 3): trial 0 trains steps 1-3 (1 s
    start-up, 10 s steps, a 2 s save), the driver is killed; the next session ends the run
    (interrupted) and resumes it from step 2's checkpoint (1 s start-up, 3 s restore): step 3
    again, step 4, a 2 s save, a 0.2 s tail. Trained straight through: 1 + 4 x 10 + 0.2 s,
    against 33 + 26.2 s spent (the old rule counted the step trained twice: 51.2 s)."""
    records: list[Record] = [
        CapacityChanged(1, 0.0, True),
        Launch(0, P, 1, 4, 4, None),
        TrialStarted(0, 1.0),
        ResultReported(0, 1, {"loss": 0.9}, 11.0),
        ResultReported(0, 2, {"loss": 0.8}, 21.0),
        CheckpointSaved(0, 2, "c/0/2", 23.0),
        ResultReported(0, 3, {"loss": 0.7}, 33.0),
        CapacityChanged(1, 40.0, True),
        TrialEnded(0, Outcome.INTERRUPTED, 40.0, "the driver stopped while it ran"),
        Launch(0, P, 3, 4, 4, "c/0/2"),
        TrialStarted(0, 41.0),
        ResultReported(0, 3, {"loss": 0.7}, 54.0),
        ResultReported(0, 4, {"loss": 0.6}, 64.0),
        CheckpointSaved(0, 4, "c/0/4", 66.0),
        TrialEnded(0, Outcome.COMPLETED, 66.2),
    ]
    led = ledger(_spec("fifo", max_step=4), records)
    assert led.total.cost == pytest.approx(59.2 / 3600, rel=1e-12)
    assert led.full_cost == pytest.approx(41.2 / 3600, rel=1e-12)
    assert led.saving == pytest.approx(-18 / 3600, rel=1e-9)


def test_the_tail_after_the_last_result_is_not_scaled() -> None:
    """Hyperband, max_step 9 (audit finding 4): trial 0 starts in 0.5 s, trains step 1 in 1 s
    and is stopped; its worker unwinds for 0.04 s before its TrialEnded. Trained to max_step:
    0.5 + 9 x 1 + 0.04 s (the old rule scaled the tail with the step: 0.5 + 1.04 x 9)."""
    records: list[Record] = [
        CapacityChanged(1, 0.0, True),
        Launch(0, P, 1, 1, 9, None),
        TrialStarted(0, 0.5),
        ResultReported(0, 1, {"loss": 0.9}, 1.5),
        TrialEnded(0, Outcome.STOPPED, 1.54),
    ]
    led = ledger(_spec(max_step=9), records)
    assert led.full_cost == pytest.approx(9.54 / 3600, rel=1e-12)
    assert led.saving == pytest.approx(8.0 / 3600, rel=1e-12)


def test_a_study_without_a_clean_step_falls_back_to_scaling() -> None:
    """Only a fork that trained one step (its first, a restore's): no clean step anywhere, so
    the previous rule: its start-up + what it held beyond it x max_step / steps trained, 2 + 14
    x 3."""
    records: list[Record] = [
        CapacityChanged(1, 0.0, True),
        Launch(1, P, 3, 3, 3, "c/0/2"),
        TrialStarted(1, 2.0),
        ResultReported(1, 3, {"loss": 0.75}, 16.0),
        TrialEnded(1, Outcome.STOPPED, 16.0),
    ]
    led = ledger(_spec("pbt"), records)
    assert led.full_cost == pytest.approx(44 / 3600, rel=1e-12)
    assert led.checkpoint_hours == 0.0
