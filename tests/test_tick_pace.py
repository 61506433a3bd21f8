"""How often the driver journals a ``Tick`` while nothing happens: every empty poll while a
slot is free (the engine may launch then), and while every slot is busy at gaps doubling from
the poll's timeout to ``TICK_MAX_GAP`` (a ``Tick`` can launch nothing then). A scripted
executor and a fake clock: the decisions are those of a ``Tick`` every poll."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

import rung.driver as driver_mod
from rung import Budget, Float, Objective, SearchSpace
from rung.core import CapacityChanged, ComponentSpec, Engine, StudySpec, TrialEnded
from rung.core.events import Command, Event, Launch, ResultReported, Tick, TrialStarted
from rung.core.records import Outcome
from rung.driver import TICK_MAX_GAP, TickPace, drive
from rung.executors.base import RunContext
from rung.storage import MemoryJournal


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class Quiet:
    """Runs each launched trial for ``run_for`` seconds of the fake clock (one empty poll per
    second meanwhile), then reports ``max_step`` and ends it."""

    def __init__(self, clock: Clock, workers: int, run_for: float) -> None:
        self.clock, self.workers, self.run_for = clock, workers, run_for
        self.running: dict[int, float] = {}  # trial id -> when it ends
        self.events: list[Event] = []
        self.polls = 0

    @property
    def idle(self) -> bool:
        return not self.running and not self.events

    def start(self, ctx: RunContext) -> list[Event]:
        return [CapacityChanged(self.workers, self.clock.t, new_session=True)]

    def submit(self, commands: Sequence[Command]) -> None:
        for c in commands:
            if isinstance(c, Launch):
                self.running[c.trial_id] = self.clock.t + self.run_for
                self.events.append(TrialStarted(c.trial_id, self.clock.t))

    def poll(self, timeout: float | None) -> list[Event]:
        self.polls += 1
        if self.events:
            out, self.events = self.events, []
            return out
        self.clock.t += 1.0  # a poll that waits its whole timeout
        out: list[Event] = []
        for tid, end in sorted(self.running.items()):
            if end <= self.clock.t:
                del self.running[tid]
                out += [ResultReported(tid, 1, {"loss": 0.5}, self.clock.t),
                        TrialEnded(tid, Outcome.COMPLETED, self.clock.t)]
        return out

    def now(self) -> float:
        return self.clock.t

    def shutdown(self) -> None:
        pass


def run(monkeypatch: pytest.MonkeyPatch, workers: int, n_trials: int,
        run_for: float) -> tuple[list[float], Quiet]:
    clock = Clock()
    monkeypatch.setattr(driver_mod, "TickPace", lambda gap: TickPace(gap, clock))
    spec = StudySpec("q", SearchSpace({"x": Float(0.0, 1.0)}), Objective("loss"),
                     ComponentSpec("random"), ComponentSpec("fifo"), 1,
                     Budget(n_trials=n_trials))
    engine = Engine.from_spec(spec)
    journal = MemoryJournal()
    journal.create_study("q", spec.to_json())
    ex = Quiet(clock, workers, run_for)
    drive(engine, ex, journal, RunContext("q", None, 1), poll_timeout=1.0)
    return [r.time for r in journal.read("q") if isinstance(r, Tick)], ex


def test_with_every_slot_busy_ticks_come_at_doubling_gaps(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    ticks, ex = run(monkeypatch, workers=1, n_trials=1, run_for=200.0)
    assert ticks == [1.0, 3.0, 7.0, 15.0, 31.0, 61.0, 91.0, 121.0, 151.0, 181.0]
    assert ex.polls == 201  # still one poll a second (the executor watches its workers)
    assert TICK_MAX_GAP == 30.0


def test_with_a_free_slot_every_empty_poll_is_a_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    # 2 workers, 1 trial: a slot stays free, so the engine is asked every poll, as before
    ticks, _ = run(monkeypatch, workers=2, n_trials=1, run_for=20.0)
    assert ticks == [float(t) for t in range(1, 20)]


def test_a_result_starts_the_gaps_over(monkeypatch: pytest.MonkeyPatch) -> None:
    # one worker, trials of 10 s one after another: after each end and launch, 1, 3, 7 again
    ticks, _ = run(monkeypatch, workers=1, n_trials=3, run_for=10.0)
    assert ticks == [1.0, 3.0, 7.0, 11.0, 13.0, 17.0, 21.0, 23.0, 27.0]
