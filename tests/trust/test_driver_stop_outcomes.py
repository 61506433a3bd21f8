"""When the driver stops (a crash, a kill, a Ctrl-C) while runs are active, the next session
ends them first. A run whose STOP or PAUSE was already journaled and sent ends as decided (it
used to end interrupted, and a trial the scheduler had stopped was resumed and trained on);
any other is interrupted, and that does not count toward ``max_interruptions`` (the trial did
nothing wrong: four resumed Ctrl-Cs used to fail a long trial for "too many interruptions")."""

from __future__ import annotations

from pathlib import Path

import pytest

from _linear_curves import Crash, Curves
from rung import Budget, Float, Objective, SearchSpace, Study
from rung.core import (
    CapacityChanged,
    CheckpointSaved,
    ComponentSpec,
    Engine,
    Launch,
    ResultReported,
    StudySpec,
    TrialEnded,
    TrialStatus,
)
from rung.core.engine import DRIVER_STOPPED, TOO_MANY_INTERRUPTIONS
from rung.core.records import Outcome


def crash_once_decided(engine: Engine) -> None:
    """The driver dies right after a turn that sent a STOP or PAUSE, before the run ends."""
    if any(lease.outcome is not None for lease in engine.active.values()):
        raise Crash


@pytest.mark.parametrize(("scheduler", "outcome"), [
    (ComponentSpec("asha", {"reduction_factor": 3}), Outcome.STOPPED),
    (ComponentSpec("successive_halving", {"reduction_factor": 3}), Outcome.PAUSED),
])
def test_a_decided_run_ends_as_decided_after_a_crash(
    tmp_path: Path, scheduler: ComponentSpec, outcome: Outcome
) -> None:
    storage = tmp_path / "s.db"
    study = Study.create("c", {"x": Float(0.0, 1.0)}, "loss", searcher="random",
                         scheduler=scheduler,
                         max_step=9, budget=Budget(n_trials=9), storage=storage, seed=3)
    with pytest.raises(Crash):
        study.simulate(Curves(), n_workers=3, on_turn=crash_once_decided)
    decided = [tid for tid, lease in study.engine.active.items() if lease.outcome is outcome]
    assert decided
    study.close()

    again = Study.load("c", storage)
    ends = again.engine.abandoned_ends(again.engine.now)
    assert {e.trial_id for e in ends if e.outcome is outcome} == set(decided)
    assert all(e.error == DRIVER_STOPPED for e in ends if e.outcome is Outcome.INTERRUPTED)
    n_before = len(list(again.journal.read("c")))
    again.simulate(Curves(), n_workers=3)
    records = list(again.journal.read("c"))[n_before:]
    for tid in decided:
        end = next(r for r in records if isinstance(r, TrialEnded) and r.trial_id == tid)
        # a pause whose checkpoint was not journaled (this benchmark saves none) says the
        # driver stopped: its worker may have been saving it (PBT reads that)
        assert (end.outcome, end.error) == (
            outcome, DRIVER_STOPPED if outcome is Outcome.PAUSED else None)
        assert again.history.interruptions(tid) == 0
    if outcome is Outcome.STOPPED:  # never resumed: no launch of it in the second session
        assert not any(isinstance(r, Launch) and r.trial_id in decided for r in records)
        assert all(again.history.status(t) is TrialStatus.STOPPED for t in decided)
    assert again.engine.done
    statuses = {t.id: t.status for t in again.trials()}
    again.close()
    reopened = Study.load("c", storage)  # the journal replays, to the same trials
    assert {t.id: t.status for t in reopened.trials()} == statuses
    reopened.close()


def engine(n: int = 1) -> Engine:
    spec = StudySpec("t", SearchSpace({"x": Float(0.0, 1.0)}), Objective("loss"),
                     ComponentSpec("random"), ComponentSpec("fifo"), 9, Budget(n_trials=n))
    e = Engine.from_spec(spec)
    e.handle(CapacityChanged(1, 0.0, new_session=True))
    e.handle(ResultReported(0, 1, {"loss": 1.0}, 1.0))
    e.handle(CheckpointSaved(0, 1, "0/1", 1.0))
    return e


def test_driver_stops_do_not_count_toward_max_interruptions() -> None:
    e = engine()
    for i in range(e.scheduler.max_interruptions + 3):
        (end,) = e.abandoned_ends(2.0 + i)
        assert (end.outcome, end.error) == (Outcome.INTERRUPTED, DRIVER_STOPPED)
        e.handle(CapacityChanged(0, 2.0 + i, new_session=True))
        e.handle(end)
        assert e.history.status(0) is TrialStatus.INTERRUPTED
        assert e.history.interruptions(0) == 0
        (launch,) = [c for c in e.handle(CapacityChanged(1, 2.5 + i)) if isinstance(c, Launch)]
        assert (launch.trial_id, launch.start_step, launch.checkpoint) == (0, 2, "0/1")


def test_journals_from_before_still_count_their_driver_stops() -> None:
    """Older journals say only "the driver stopped while it ran": replayed as they were."""
    e = engine()
    limit = e.scheduler.max_interruptions
    for i in range(limit + 1):
        e.handle(TrialEnded(0, Outcome.INTERRUPTED, 2.0 + i, "the driver stopped while it ran"))
    assert e.history.status(0) is TrialStatus.FAILED
    assert (e.history.error(0) or "").startswith(TOO_MANY_INTERRUPTIONS)
