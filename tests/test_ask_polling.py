"""``Study.ask`` polled while nothing can start writes its two capacity records once, then
nothing until something changes the study (a report, a tell, an enqueue). Before, every
``None`` ask journaled both records, so ``while (t := study.ask()) is None: ...`` grew the
journal without bound."""

from __future__ import annotations

from pathlib import Path

import rung
from rung.core.events import CapacityChanged


def size(s: rung.Study) -> int:
    return len(s.journal.read(s.name))


def grid_study(storage: Path | None = None) -> rung.Study:
    """One configuration to propose: after the first ask, the searcher has nothing left."""
    return rung.Study.create("poll", {"x": rung.Categorical(["a"])}, objective="loss",
                             max_step=3, searcher="grid", scheduler="fifo", seed=0,
                             storage=storage)


def test_polling_while_a_trial_runs_writes_two_records_once() -> None:
    s = grid_study()
    t = s.ask()
    assert t is not None and t.id == 0
    before = size(s)
    assert s.ask() is None
    first = s.journal.read(s.name)[before:]
    assert all(type(r) is CapacityChanged for r in first)  # a slot taken and given back
    assert [r.capacity for r in first if isinstance(r, CapacityChanged)] == [2, 1]
    for _ in range(20):
        assert s.ask() is None
    assert size(s) == before + 2
    # the run goes on as before: a report, then the trial is told
    assert s.report(t.id, 1, {"loss": 0.5}).action is rung.Action.CONTINUE
    assert s.tell(t.id, "completed", {"loss": 0.4}).value == 0.4


def test_a_change_makes_ask_look_again_and_enqueue_then_launches() -> None:
    s = grid_study()
    t = s.ask()
    assert t is not None
    assert s.ask() is None
    s.tell(t.id, "completed", {"loss": 0.4})
    after_tell = size(s)
    for _ in range(20):
        assert s.ask() is None  # the study is over: the grid is exhausted
    assert size(s) == after_tell + 2  # the first ask after the tell looked again, once
    s.enqueue({"x": "a"})
    again = s.ask()
    assert again is not None and (again.id, again.params) == (1, {"x": "a"})


def test_a_study_loaded_again_replays_the_polled_journal(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    s = grid_study(db)
    t = s.ask()
    assert t is not None
    for _ in range(5):
        assert s.ask() is None
    s.report(t.id, 2, {"loss": 0.5})
    for _ in range(5):
        assert s.ask() is None
    s.tell(t.id, "completed", {"loss": 0.3})
    n = size(s)
    s.close()
    loaded = rung.Study.load("poll", storage=db)
    assert [(tr.id, tr.status.value, tr.value) for tr in loaded.trials()] == [
        (0, "completed", 0.3)]
    for _ in range(5):
        assert loaded.ask() is None
    assert size(loaded) == n + 2


def test_the_engine_counts_the_events_it_handled_live_and_replayed() -> None:
    """``Engine.handled``, what ask compares to know that nothing happened since."""
    from rung.core.engine import Engine
    from rung.core.events import is_event

    s = grid_study()
    t = s.ask()
    assert t is not None
    s.report(t.id, 1, {"loss": 0.5})
    assert s.ask() is None
    records = s.journal.read(s.name)
    events = sum(1 for r in records if is_event(r))
    assert s.engine.handled == events == 5  # a slot + its start, the result, 2 capacities
    assert Engine.replay(s.spec, records).handled == events


def test_a_synchronous_scheduler_resumes_once_a_paused_trial_is_told() -> None:
    """Successive halving pauses each trial at its rung; while they are all out (reported,
    not yet told), ask has nothing to start and polling writes nothing; a tell changes that."""
    s = rung.Study.create("sh", {"x": rung.Float(0.0, 1.0)}, objective="loss", max_step=9,
                          searcher="random", scheduler=rung.SuccessiveHalving(reduction_factor=3),
                          budget=rung.Budget(n_trials=20), seed=0)
    ids = []
    while (t := s.ask()) is not None:
        ids.append(t.id)
    assert ids == list(range(20))
    actions = [s.report(tid, 1, {"loss": tid / 10}).action for tid in ids]
    assert actions.count(rung.Action.PAUSE) == 17  # the rest stopped, last of their rung
    n = size(s)
    for _ in range(10):
        assert s.ask() is None
    assert size(s) == n + 2
    s.tell(0, "paused")
    again = s.ask()
    assert again is not None and again.id == 0  # the best of its rung, promoted


def test_the_poll_that_finds_max_time_reached_is_handled_once() -> None:
    """A skipped poll did not advance the study's clock: with PBT's population running and
    ``max_time`` past, ``summary()`` said budget left until the next report."""
    clock = [1000.0]
    s = rung.Study.create("pt", {"x": rung.Float(0, 1)}, objective="loss", max_step=9,
                          searcher="random", seed=0, budget=rung.Budget(max_time=10.0),
                          scheduler={"name": "pbt", "params": {"population_size": 4,
                                                               "perturbation_interval": 3}})
    s._now = lambda: clock[0]  # type: ignore[method-assign]
    trials = [s.ask() for _ in range(4)]
    assert all(t is not None for t in trials)
    assert s.ask() is None  # the population is running: nothing to start
    before = size(s)
    clock[0] += 5.0
    assert s.ask() is None and size(s) == before  # within max_time: skipped, nothing written
    assert s.summary()["budget_left"] is True
    clock[0] += 15.0  # 20 s after the first start: past max_time
    assert s.ask() is None
    assert size(s) == before + 2  # handled: the two capacity records, at the new time
    assert s.summary()["budget_left"] is False and s.summary()["elapsed"] == 20.0
    for _ in range(5):
        assert s.ask() is None
    assert size(s) == before + 2  # and then skipped again
