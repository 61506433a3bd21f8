"""A run that had reported ``max_step`` when its driver stopped (a kill, a Ctrl-C while it saved
its final checkpoint or ran its code after training) ends completed in the next session
(``Engine.abandoned_ends``): everything its lease owed was reported. Before, it ended
interrupted: successive halving and Hyperband left it so forever (the study "done" with no
completed trial), every other scheduler relaunched it with ``start_step = max_step + 1``.
A run whose *worker* died there with a checkpoint at ``max_step`` is resumed to end its run, by
successive halving too (without one it ends completed: ``tests/trust/test_lost_worker_end.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sched_script import Script, summary

from _linear_curves import Crash, Curves
from rung import Budget, Float, Study, TrialStatus
from rung.core import (
    CapacityChanged,
    ComponentSpec,
    Engine,
    Launch,
    TrialEnded,
)
from rung.core.engine import DRIVER_STOPPED
from rung.core.events import Event
from rung.core.records import Outcome
from rung.executors.simulated import SimulatedExecutor
from rung.schedulers import FIFOScheduler, SuccessiveHalving


class HoldEnds(SimulatedExecutor):
    """The simulator, with each ``TrialEnded`` delivered one poll after the events that came
    with it: the driver has a turn between a run's last result and its end."""

    def __init__(self, n_workers: int) -> None:
        super().__init__(Curves(), n_workers)
        self._held: list[Event] = []

    def poll(self, timeout: float | None) -> list[Event]:
        out, self._held = self._held, []
        for ev in super().poll(timeout) if not out else []:
            (self._held if isinstance(ev, TrialEnded) else out).append(ev)
        return out

    @property
    def idle(self) -> bool:
        return not self._held and super().idle


def crash_after_max_step(engine: Engine) -> None:
    """The driver dies after a turn in which a run reported max_step, before the run ends."""
    if any(lease.position >= engine.spec.max_step for lease in engine.active.values()):
        raise Crash


def test_a_run_that_reported_max_step_ends_completed_when_its_driver_stopped() -> None:
    s = Script(FIFOScheduler(), max_step=9, budget=Budget(n_trials=2))
    assert summary(s.capacity(2)) == [(0, 1, 9, None), (1, 1, 9, None)]
    s.start(0, 1)
    s.run(0, range(1, 10), 0.5)  # all of its steps
    s.run(1, range(1, 5), 0.7)  # part of them
    s.checkpoint(1, 4)
    t = s.tick()
    assert s.engine.abandoned_ends(t) == [
        TrialEnded(0, Outcome.COMPLETED, t, None),
        TrialEnded(1, Outcome.INTERRUPTED, t, DRIVER_STOPPED),
    ]
    # the next session journals them first, with no capacity, then fills its slots: only the
    # unfinished trial is resumed (before: trial 0 too, at start_step 10 until_step 9)
    s.feed(CapacityChanged(0, t, new_session=True), *s.engine.abandoned_ends(t))
    assert summary(s.capacity(2)) == [(1, 5, 9, "c/1/4")]
    h = s.engine.history
    assert (h.status(0), h.status(1)) == (TrialStatus.COMPLETED, TrialStatus.LAUNCHED)
    s.assert_replay_matches()


@pytest.mark.parametrize("scheduler", [
    ComponentSpec("successive_halving", {"reduction_factor": 3}),
    ComponentSpec("hyperband", {"reduction_factor": 3, "iterations": 1}),
    ComponentSpec("fifo"),
    ComponentSpec("asha", {"reduction_factor": 3}),
])
def test_a_study_killed_after_a_trial_reported_max_step_finishes_it_completed(
    tmp_path: Path, scheduler: ComponentSpec
) -> None:
    storage = tmp_path / "s.db"
    study = Study.create("k", {"x": Float(0.0, 1.0)}, "loss", searcher="random",
                         scheduler=scheduler, max_step=9, budget=Budget(n_trials=9),
                         storage=storage, seed=3)
    with pytest.raises(Crash):
        study.run(lambda ctx: None, executor=HoldEnds(2), on_turn=crash_after_max_step,
                  progress=False)
    finished = [tid for tid, lease in study.engine.active.items() if lease.position >= 9]
    assert len(finished) == 1
    study.close()

    again = Study.load("k", storage)
    n_before = len(again.journal.read("k"))
    again.simulate(Curves(), n_workers=2)
    records = again.journal.read("k")[n_before:]
    (tid,) = finished
    ends = [r for r in records if isinstance(r, TrialEnded) and r.trial_id == tid]
    assert [(e.outcome, e.error) for e in ends] == [(Outcome.COMPLETED, None)]
    assert not any(isinstance(r, Launch) and r.trial_id == tid for r in records)
    assert again.history.status(tid) is TrialStatus.COMPLETED
    assert again.trials("interrupted") == [] and again.trials("paused") == []
    assert again.best_trial is not None
    assert again.best_trial.status is TrialStatus.COMPLETED
    statuses = {t.id: t.status for t in again.trials()}
    again.close()
    reopened = Study.load("k", storage)  # the journal replays, to the same trials
    assert {t.id: t.status for t in reopened.trials()} == statuses
    reopened.close()


def test_successive_halving_resumes_a_last_rung_trial_whose_worker_died_after_max_step() -> None:
    s = Script(SuccessiveHalving(3, iterations=1, n_configs=3), max_step=9)  # rungs 1, 3, 9
    assert summary(s.capacity(1)) == [(0, 1, 1, None)]
    s.report(0, 1, 0.5)
    assert summary(s.pause(0, 1)) == [(1, 1, 1, None)]
    s.report(1, 1, 0.9)
    assert summary(s.pause(1, 1)) == [(2, 1, 1, None)]
    s.report(2, 1, 0.7)  # the rung's last report: trial 0 goes on (k = 1)
    assert summary(s.end(2, "stopped")) == [(0, 2, 3, "c/0/1")]
    s.run(0, [2, 3], 0.4)  # rung 1, one member: promoted in place
    s.run(0, range(4, 10), 0.3)
    s.checkpoint(0, 9)
    # its worker dies in the objective's code after training: resumed to end its run
    assert summary(s.end(0, "interrupted")) == [(0, 10, 9, "c/0/9")]
    assert s.end(0) == []
    assert s.engine.history.status(0) is TrialStatus.COMPLETED
    assert s.engine.done
    s.assert_replay_matches()
