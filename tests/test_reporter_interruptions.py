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


def test_interruptions_of_one_kind_are_shown_ten_times_then_counted_at_the_end() -> None:
    n = 25
    e = engine(n=n)
    r = Reporter(logging.Logger("standalone"))
    events: list[Event] = [CapacityChanged(n, 0.0, new_session=True)]
    events += [TrialEnded(t, Outcome.INTERRUPTED, 1.0 + t,
                          f"worker process {900 + t} died (killed by signal 9) while running "
                          f"trial {t}") for t in range(n)]
    events.append(TrialEnded(0, Outcome.INTERRUPTED, 99.0, "node 10.0.0.7 left the cluster"))
    for ev in events:
        e.handle(ev)
        r.on_turn(e, [ev])
    assert r.lines[:9] == [f"trial {t} interrupted before its first report, to be resumed: "
                           f"worker process {900 + t} died (killed by signal 9) while running "
                           f"trial {t}" for t in range(9)]
    assert r.lines[9] == ("trial 9 interrupted before its first report, to be resumed: worker "
                          "process 909 died (killed by signal 9) while running trial 9 (10 "
                          "trials interrupted this way: more such are counted at the end, not "
                          "shown)")
    assert len(r.lines) == 10  # trial 0's second interruption is not its first in this run
    r.end(e)
    assert r.lines[10:] == [f"{n} trials: {n} launched",  # resumed at once
                            f"{n} trials were interrupted in this run and resumed (10 shown "
                            "above)"]


def test_a_new_kind_of_interruption_gets_its_own_lines() -> None:
    e = engine(n=12)
    r = Reporter(logging.Logger("standalone"))
    events: list[Event] = [CapacityChanged(12, 0.0, new_session=True)]
    events += [TrialEnded(t, Outcome.INTERRUPTED, 1.0 + t, DIED) for t in range(11)]
    events.append(TrialEnded(11, Outcome.INTERRUPTED, 20.0, "node 10.0.0.7 left the cluster"))
    for ev in events:
        e.handle(ev)
        r.on_turn(e, [ev])
    assert len(r.lines) == 11
    assert r.lines[-1] == ("trial 11 interrupted before its first report, to be resumed: node "
                           "10.0.0.7 left the cluster")
    r.end(e)
    assert r.lines[-1] == "12 trials were interrupted in this run and resumed (11 shown above)"
