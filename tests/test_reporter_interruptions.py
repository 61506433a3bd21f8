"""What a run prints when a trial's run is interrupted (its worker died, its node left): one
line the first time in the run, then the failure line if the interruptions become too many;
nothing for runs the driver itself left behind (a resume ends them)."""

from __future__ import annotations

import logging

from rung import Budget, Float, Objective, SearchSpace
from rung.core import (
    CapacityChanged,
    ComponentSpec,
    Engine,
    Event,
    ResultReported,
    StudySpec,
    TrialEnded,
)
from rung.core.engine import DRIVER_STOPPED
from rung.core.records import Outcome
from rung.reporter import Reporter

DIED = "worker process 812 died (killed by signal 9) while running trial 0"


def engine(n: int = 3) -> Engine:
    spec = StudySpec("t", SearchSpace({"x": Float(0.0, 1.0)}), Objective("loss"),
                     ComponentSpec("random"), ComponentSpec("fifo"), 9, Budget(n_trials=n))
    return Engine.from_spec(spec)


def play(e: Engine, events: list[Event]) -> list[str]:
    r = Reporter(logging.Logger("standalone"))  # no handler: lines go to r.lines and stderr
    for ev in events:
        e.handle(ev)
        r.on_turn(e, [ev])
    return r.lines


def test_the_first_interruption_of_a_trial_is_one_line() -> None:
    e = engine()
    lines = play(e, [
        CapacityChanged(1, 0.0, new_session=True),
        ResultReported(0, 1, {"loss": 1.0}, 1.0),
        TrialEnded(0, Outcome.INTERRUPTED, 2.0, DIED),
        TrialEnded(0, Outcome.INTERRUPTED, 3.0, DIED.replace("812", "813")),
        ResultReported(0, 9, {"loss": 0.5}, 4.0),
        TrialEnded(0, Outcome.COMPLETED, 4.0),
    ])
    assert lines == [f"trial 0 interrupted after step 1, to be resumed: {DIED}"]


def test_too_many_interruptions_add_the_failure_line() -> None:
    e = engine(n=1)
    limit = e.scheduler.max_interruptions
    events: list[Event] = [CapacityChanged(1, 0.0, new_session=True)]
    events += [TrialEnded(0, Outcome.INTERRUPTED, 1.0 + i, DIED) for i in range(limit + 1)]
    lines = play(e, events)
    assert lines == [
        f"trial 0 interrupted before its first report, to be resumed: {DIED}",
        f"trial 0 failed before its first report: too many interruptions ({limit + 1}; last: "
        f"{DIED})",
    ]


def test_runs_the_driver_left_behind_are_not_reported() -> None:
    e = engine()
    assert play(e, [CapacityChanged(1, 0.0, new_session=True),
                    TrialEnded(0, Outcome.INTERRUPTED, 1.0, DRIVER_STOPPED)]) == []
