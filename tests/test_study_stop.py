"""``Study.stop`` (Optuna's ``study.stop()``): a callback ends the session running now; no
trial starts after it, those in flight run to their end, the session ends when none is left,
and the study goes on at its next run (the session's capacity 0 is journaled, so it replays)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

import rung
from rung.benchmarks import get_benchmark
from rung.core.events import CapacityChanged, Command, Event, TrialEnded
from rung.core.history import History
from rung.core.records import TrialStatus
from rung.storage import MemoryJournal

BENCH = get_benchmark("mf-branin", max_step=9)


class StopAfter(rung.Callback):
    """Stops the session once ``n`` trials have ended in it (what Optuna users write with
    ``study.stop()`` in a callback)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.ended = 0
        self.launched_after: list[int] = []
        self.study: rung.Study | None = None
        self.stopped_at: int | None = None

    def on_start(self, study: rung.Study) -> None:
        self.study = study

    def on_turn(self, events: Sequence[Event], commands: Sequence[Command],
                history: History) -> None:
        if self.stopped_at is not None:
            self.launched_after += [c.trial_id for c in commands
                                    if type(c).__name__ == "Launch"]
        self.ended += sum(isinstance(e, TrialEnded) for e in events)
        if self.ended >= self.n and self.stopped_at is None:
            assert self.study is not None
            self.study.stop()
            self.stopped_at = len(history)


def _study(journal: Any) -> rung.Study:
    return rung.Study.create("s", BENCH.space, max_step=9, searcher="random", scheduler="fifo",
                             budget=rung.Budget(n_trials=12), storage=journal, seed=1)


def test_a_callback_stops_the_session_and_the_next_run_goes_on() -> None:
    journal = MemoryJournal()
    s = _study(journal)
    cb = StopAfter(3)
    s.simulate(BENCH, n_workers=3, callbacks=[cb])
    h = s.history
    assert cb.stopped_at is not None and cb.launched_after == []
    assert len(h) == cb.stopped_at < 12  # no trial started after the stop
    assert h.count(TrialStatus.COMPLETED) == len(h)  # those in flight ran to their end
    assert not s.engine.over and not s.engine.active
    zero = [r for r in journal.read("s") if isinstance(r, CapacityChanged) and not r.capacity
            and not r.new_session]
    assert len(zero) == 1  # the session's capacity, journaled once
    again = rung.Study.load("s", storage=journal)  # replays as it ran
    assert again.trials() == s.trials()
    s.simulate(BENCH, n_workers=3)  # the next session goes on to the budget
    assert len(s.history) == 12 and s.engine.over


def test_stop_outside_a_session_is_refused_and_a_session_after_a_stop_runs_in_full() -> None:
    s = _study(MemoryJournal())
    with pytest.raises(RuntimeError, match=r"^study.stop\(\) ends the session running now"):
        s.stop()
    s.simulate(BENCH, n_workers=2, callbacks=[StopAfter(1)])
    first = len(s.history)
    with pytest.raises(RuntimeError):
        s.stop()  # that session is over: stop() does not carry over to the next one
    s.simulate(BENCH, n_workers=2)
    assert first < len(s.history) == 12


def _train(ctx: rung.TrialContext) -> None:
    import time

    for step in range(1, 4):
        time.sleep(0.05)
        ctx.report(step, loss=ctx.params["x1"] + step)


def test_on_worker_processes_the_trials_in_flight_complete_and_none_starts() -> None:
    s = rung.Study.create("w", BENCH.space, max_step=3, searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=20), storage=MemoryJournal(), seed=0)
    cb = StopAfter(1)
    s.run(_train, n_workers=2, start_method="fork", callbacks=[cb], progress=False)
    assert cb.launched_after == [] and 1 <= len(s.history) < 20
    assert [t.status for t in s.trials()] == [TrialStatus.COMPLETED] * len(s.history)


def _one_slow_step(ctx: rung.TrialContext) -> None:
    import time

    time.sleep(0.6)
    ctx.report(1, loss=ctx.params["x1"])


def test_a_stop_from_another_thread_while_the_driver_waits_starts_nothing_after_it() -> None:
    """The driver spends its time waiting for results: a ``stop()`` made during the wait was
    seen only after the turn that handled them, which started a trial in the ended one's
    place."""
    import threading
    import time

    s = rung.Study.create("t", BENCH.space, max_step=1, searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=40), storage=MemoryJournal(), seed=0)
    launches: list[float] = []
    stopped: list[float] = []

    class Watch(rung.Callback):
        def on_turn(self, events: Sequence[Event], commands: Sequence[Command],
                    history: History) -> None:
            launches.extend(time.monotonic() for c in commands if type(c).__name__ == "Launch")

    def stopper() -> None:
        while len(launches) < 4:  # the second pair runs: the driver waits for its results
            time.sleep(0.01)
        time.sleep(0.2)
        stopped.append(time.monotonic())
        s.stop()

    threading.Thread(target=stopper, daemon=True).start()
    s.run(_one_slow_step, n_workers=2, start_method="fork", callbacks=[Watch()],
          progress=False)
    assert stopped and [t for t in launches if t > stopped[0]] == []
    assert [t.status for t in s.trials()] == [TrialStatus.COMPLETED] * len(s.history)


def test_a_stop_in_on_start_runs_nothing_and_is_not_said_of_a_study_its_budget_ended(
        caplog: pytest.LogCaptureFixture) -> None:
    import logging

    class AtStart(rung.Callback):
        def on_start(self, study: rung.Study) -> None:
            study.stop()

    s = _study(MemoryJournal())
    s.simulate(BENCH, n_workers=3, callbacks=[AtStart()])
    assert len(s.history) == 0 and not s.engine.over
    s.simulate(BENCH, n_workers=3)
    assert len(s.history) == 12
    # a stop asked once every trial had been started: the budget ended the study, not it
    t = _study(MemoryJournal())
    with caplog.at_level(logging.INFO, logger="rung.run"):
        t.simulate(BENCH, n_workers=3, callbacks=[StopAfter(11)], progress=True)
    assert len(t.history) == 12 and not any("stopped by study.stop()" in r.getMessage()
                                            for r in caplog.records)
