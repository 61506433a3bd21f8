"""Scripted engine tests: feed events, assert the exact commands."""

from __future__ import annotations

import math

import pytest

from rung import ASHA, Budget, Float, Objective, SearchSpace
from rung.core import (
    Action,
    CapacityChanged,
    CheckpointSaved,
    Command,
    ComponentSpec,
    Decision,
    DeleteCheckpoint,
    Engine,
    Fork,
    Launch,
    Reply,
    ResultReported,
    ResultRequest,
    Resume,
    StartNew,
    StudySpec,
    Tick,
    TrialEnded,
    TrialStarted,
    TrialStatus,
)
from rung.core.components import Scheduler
from rung.core.records import Checkpoint, Outcome
from rung.schedulers.asha import rung_steps

SPACE = SearchSpace({"x": Float(0.0, 1.0)})


def engine(
    scheduler: str | dict = "fifo",
    max_step: int = 9,
    budget: Budget | None = None,
    searcher: str = "random",
    keep: int = 1,
) -> Engine:
    sched = ComponentSpec(scheduler) if isinstance(scheduler, str) else ComponentSpec(**scheduler)
    spec = StudySpec(
        "t",
        SPACE,
        Objective("loss"),
        ComponentSpec(searcher),
        sched,
        max_step,
        budget or Budget(n_trials=100),
        seed=0,
        keep_checkpoints=keep,
    )
    return Engine.from_spec(spec)


def launches(cmds: list) -> list[Launch]:
    return [c for c in cmds if isinstance(c, Launch)]


def test_capacity_launches_and_slots_freed_only_by_trial_ended() -> None:
    e = engine()
    cmds = e.handle(CapacityChanged(2, 0.0, new_session=True))
    ls = launches(cmds)
    assert [(c.trial_id, c.start_step, c.until_step, c.max_step, c.checkpoint) for c in ls] == [
        (0, 1, 9, 9, None),
        (1, 1, 9, 9, None),
    ]
    assert e.history.status(0) is TrialStatus.LAUNCHED
    e.handle(TrialStarted(0, 0.1))
    assert e.history.status(0) is TrialStatus.RUNNING
    # FIFO never replies below the lease; reaching max_step frees nothing by itself
    for step in range(1, 10):
        assert e.handle(ResultReported(0, step, {"loss": 1.0 / step}, float(step))) == []
    assert len(e.active) == 2
    cmds = e.handle(TrialEnded(0, Outcome.COMPLETED, 10.0))
    assert [c.trial_id for c in launches(cmds)] == [2]
    assert e.history.status(0) is TrialStatus.COMPLETED
    # a duplicate end is ignored
    assert e.handle(TrialEnded(0, Outcome.COMPLETED, 10.0)) == []


def test_asha_stopping_exact_decisions() -> None:
    e = engine({"name": "asha", "params": {"reduction_factor": 3}}, max_step=9)
    assert rung_steps(1, 3, 9) == [1, 3]
    cmds = e.handle(CapacityChanged(3, 0.0))
    assert [c.until_step for c in launches(cmds)] == [1, 1, 1]  # wait at the first rung
    # trial 0 reports first: alone at rung 0, it continues to the next rung
    (r0,) = e.handle(ResultReported(0, 1, {"loss": 0.5}, 1.0))
    assert r0 == Reply(0, 1, Decision(Action.CONTINUE, 3, False, "rank 1/1 at rung 0 (step 1)"))
    # trial 1 is worse: rank 2 of 2, 2*3 >= 2 -> stop
    (r1,) = e.handle(ResultReported(1, 1, {"loss": 0.9}, 1.0))
    assert r1.decision.action is Action.STOP
    assert "rank 2/2 at rung 0" in r1.decision.reason
    # trial 2 is the best so far: continues
    (r2,) = e.handle(ResultReported(2, 1, {"loss": 0.1}, 1.0))
    assert r2.decision.action is Action.CONTINUE and r2.decision.until_step == 3
    # streaming below the lease: no reply
    assert e.handle(ResultReported(0, 2, {"loss": 0.4}, 2.0)) == []
    # a stopped trial's slot is freed only when it ends
    assert len(e.active) == 3
    cmds = e.handle(TrialEnded(1, Outcome.STOPPED, 1.1))
    assert [c.trial_id for c in launches(cmds)] == [3]
    # at rung 1 (step 3), trial 0 alone continues to max_step
    (r,) = e.handle(ResultReported(0, 3, {"loss": 0.3}, 3.0))
    assert r.decision.until_step == 9
    # a NaN metric scores worst: stopped
    (r,) = e.handle(ResultReported(3, 1, {"loss": float("nan")}, 3.0))
    assert r.decision.action is Action.STOP
    assert math.isinf(e.history.score(3))


def test_late_results_after_stop_are_recorded_without_new_decisions() -> None:
    e = engine({"name": "asha", "params": {"reduction_factor": 2}}, max_step=8)
    e.handle(CapacityChanged(2, 0.0))
    e.handle(ResultReported(0, 1, {"loss": 0.1}, 1.0))
    (stop,) = e.handle(ResultReported(1, 1, {"loss": 0.9}, 1.0))
    assert stop.decision.action is Action.STOP
    assert e.handle(ResultReported(1, 2, {"loss": 0.8}, 2.0)) == []
    assert [r.step for r in e.history.results(1)] == [1, 2]
    # a result from a trial that is not active is ignored
    e.handle(TrialEnded(1, Outcome.STOPPED, 2.0))
    before = e.history.version
    assert e.handle(ResultReported(1, 3, {"loss": 0.7}, 3.0)) == []
    assert e.history.version == before


def test_budget_n_trials_and_done() -> None:
    e = engine(budget=Budget(n_trials=3))
    cmds = e.handle(CapacityChanged(5, 0.0))
    assert len(launches(cmds)) == 3
    for t in range(3):
        e.handle(ResultReported(t, 9, {"loss": float(t)}, 1.0))
        assert not e.done
        assert launches(e.handle(TrialEnded(t, Outcome.COMPLETED, 1.0))) == []
    assert e.done
    assert e.history.best_trial_id() == 0


def test_budget_max_steps_caps_leases_and_stops_running_trials() -> None:
    # leases never reach beyond a trial's share of the steps left: 10 steps, 2 workers
    e = engine(budget=Budget(max_steps=10), max_step=9)
    l0, l1 = launches(e.handle(CapacityChanged(2, 0.0)))
    assert l0.until_step == l1.until_step == 5
    for s in range(1, 5):
        assert e.handle(ResultReported(0, s, {"loss": 1.0}, float(s))) == []
    (r,) = e.handle(ResultReported(0, 5, {"loss": 1.0}, 5.0))  # 5 left for 2 workers: 2 more
    assert r == Reply(0, 5, Decision(Action.CONTINUE, 7, False, ""))
    for s in range(1, 5):
        assert e.handle(ResultReported(1, s, {"loss": 1.0}, float(s))) == []
    out = e.handle(ResultReported(1, 5, {"loss": 1.0}, 5.0))  # consumed 5 + 5 = 10
    assert out == [Reply(1, 5, Decision(Action.STOP, None, False, "budget exhausted"))]
    assert e.history.steps_consumed == 10
    (r,) = e.handle(ResultReported(0, 6, {"loss": 1.0}, 6.0))
    assert r.decision.action is Action.STOP
    assert e.history.steps_consumed == 11  # one step over, for one worker
    assert launches(e.handle(TrialEnded(0, Outcome.STOPPED, 6.0))) == []


def test_budget_max_time_excludes_time_between_sessions() -> None:
    e = engine(budget=Budget(max_time=10.0))
    e.handle(CapacityChanged(1, 90.0, new_session=True))
    e.handle(Tick(95.0))
    assert e.elapsed == 0.0  # the clock starts with the first trial (not worker start-up)
    e.handle(TrialStarted(0, 100.0))
    e.handle(Tick(108.0))
    assert e.elapsed == pytest.approx(8.0)
    e.handle(CapacityChanged(1, 5000.0, new_session=True))  # resumed much later
    e.handle(TrialStarted(0, 5000.0))
    assert e.elapsed == pytest.approx(8.0)
    (r,) = e.handle(ResultReported(0, 1, {"loss": 1.0}, 5003.0))
    assert r.decision.action is Action.STOP and e.elapsed == pytest.approx(11.0)


def test_interrupted_trial_is_resumed_from_its_checkpoint() -> None:
    e = engine(max_step=9)
    e.handle(CapacityChanged(1, 0.0))
    e.handle(ResultReported(0, 1, {"loss": 1.0}, 1.0))
    e.handle(CheckpointSaved(0, 4, "0/4", 1.0, 100))
    (launch,) = launches(e.handle(TrialEnded(0, Outcome.INTERRUPTED, 2.0, "worker died")))
    assert (launch.trial_id, launch.start_step, launch.checkpoint) == (0, 5, "0/4")
    assert e.history.launches(0) == 2 and e.history.interruptions(0) == 1


def test_checkpoint_lifecycle_delete_keep_best_and_fork() -> None:
    e = engine(max_step=9, keep=1)
    e.handle(CapacityChanged(2, 0.0))
    assert e.handle(CheckpointSaved(0, 1, "0/1", 1.0, 10)) == []
    # a newer checkpoint replaces the old one, which nobody else needs
    assert e.handle(CheckpointSaved(0, 2, "0/2", 1.0, 10)) == [DeleteCheckpoint(0, "0/1")]
    e.handle(ResultReported(0, 9, {"loss": 0.5}, 2.0))
    e.handle(CheckpointSaved(1, 2, "1/2", 1.0, 10))
    e.handle(ResultReported(1, 9, {"loss": 0.2}, 2.0))
    # trial 0 finishes: it is the best so far, its checkpoint is kept
    assert not [
        c
        for c in e.handle(TrialEnded(0, Outcome.COMPLETED, 3.0))
        if isinstance(c, DeleteCheckpoint)
    ]
    # trial 1 is better: kept, and trial 0's is evicted
    dels = [
        c
        for c in e.handle(TrialEnded(1, Outcome.COMPLETED, 3.0))
        if isinstance(c, DeleteCheckpoint)
    ]
    assert dels == [DeleteCheckpoint(0, "0/2")]
    assert e.summary()["checkpoints"] >= 1
    # a trial's checkpoint never names a deleted one: trial 0's is gone, trial 1's is kept
    assert e.history.trial(0).checkpoint is None
    assert e.history.trial(1).checkpoint == Checkpoint(2, "1/2")


class _ForkOnce(Scheduler):
    """Runs trial 0, then forks trial 1 from trial 0's checkpoint once 0 paused."""

    def __init__(self) -> None:
        pass

    def next_trial(self, history):  # type: ignore[no-untyped-def]
        if len(history) == 0:
            return StartNew(self.max_step)
        if len(history) == 1 and history.status(0) is TrialStatus.PAUSED:
            return Fork(0, {"x": 0.25}, self.max_step, {"origin": "fork"})
        return None

    def on_result(self, request: ResultRequest) -> Decision:
        if request.result.step == 3:
            return Decision.pause("test pause")
        return Decision()


def test_fork_uses_the_donors_checkpoint_and_protects_it() -> None:
    from rung.core.registry import register

    register("scheduler", "_fork_once")(_ForkOnce)
    e = engine("_fork_once", max_step=9, keep=0)
    e.handle(CapacityChanged(1, 0.0))
    (r,) = e.handle(ResultReported(0, 3, {"loss": 1.0}, 1.0))
    assert r.decision.action is Action.PAUSE and r.decision.checkpoint
    e.handle(CheckpointSaved(0, 3, "0/3", 1.0, 5))
    (fork,) = launches(e.handle(TrialEnded(0, Outcome.PAUSED, 1.0)))
    assert (fork.trial_id, fork.start_step, fork.checkpoint, dict(fork.params)) == (
        1,
        4,
        "0/3",
        {"x": 0.25},
    )
    assert e.history.parent_id(1) == 0 and e.history.tags(1)["origin"] == "fork"
    # the child saves its own checkpoint: the donor (paused) still needs "0/3": nothing deleted
    assert e.handle(CheckpointSaved(1, 5, "1/5", 2.0, 5)) == []
    assert e.summary()["checkpoint_bytes"] == 10
    assert e.history.checkpoint(0) == Checkpoint(3, "0/3")


def test_a_donors_checkpoint_deleted_after_its_last_fork_leaves_no_trial_naming_it() -> None:
    """The donor ends for good while its fork still starts from "0/3" (kept); then the fork
    saves its own: "0/3" is deleted, and the donor, which still named it, names none."""
    from rung.core.checkpoints import Checkpoints
    from rung.core.history import History

    h = History(SearchSpace({"x": Float(0.0, 1.0)}), Objective("loss"), 9)
    for tid in (0, 1):
        h._create(tid, {"x": 0.5}, None, {}, suggested=True)
    cp = Checkpoints()
    out: list[Command] = []
    cp.on_saved(h, CheckpointSaved(0, 3, "0/3", 1.0, 5), out)
    h._checkpoint(1, Checkpoint(3, "0/3"))  # the fork starts from the donor's (launching.py)
    cp.ref(1, "0/3")
    cp.unref(h, 0, "0/3", out)  # the donor retires: the fork still needs "0/3"
    assert out == [] and h.checkpoint(0) == Checkpoint(3, "0/3")
    cp.on_saved(h, CheckpointSaved(1, 5, "1/5", 2.0, 5), out)
    assert out == [DeleteCheckpoint(1, "0/3")]
    assert h.checkpoint(0) is None and h.checkpoint(1) == Checkpoint(5, "1/5")
    assert cp.paths() == frozenset({"1/5"})


def test_idle_tick_changes_nothing() -> None:
    e = engine()
    e.handle(CapacityChanged(2, 0.0))
    v = e.history.version
    assert e.handle(Tick(5.0)) == []
    assert e.history.version == v


def test_scheduler_decisions_at_max_step_are_not_sent() -> None:
    e = engine({"name": "asha", "params": {"reduction_factor": 3}}, max_step=3)
    e.handle(CapacityChanged(1, 0.0))
    e.handle(ResultReported(0, 1, {"loss": 1.0}, 1.0))
    assert e.handle(ResultReported(0, 3, {"loss": 1.0}, 3.0)) == []


def test_asha_param_validation_names_key() -> None:
    from rung.errors import ConfigError

    with pytest.raises(ConfigError, match="reduction_factor"):
        engine({"name": "asha", "params": {"reduction_factor": 1}})
    with pytest.raises(ConfigError, match="scheduler.params.eta"):
        engine({"name": "asha", "params": {"eta": 3}})
    with pytest.raises(ConfigError, match="unknown scheduler 'nope'"):
        engine("nope")
    assert ASHA(4).get_params() == {"reduction_factor": 4, "min_step": 1}


class _PauseThenRetire(Scheduler):
    """Pauses every trial at step 3; when the second trial ends paused, retires the worse of
    the two paused trials and resumes the better one."""

    def __init__(self) -> None:
        pass

    def bind(self, ctx):  # type: ignore[no-untyped-def]
        super().bind(ctx)
        self._out: list[int] = []
        self._resume: int | None = None

    def next_trial(self, history):  # type: ignore[no-untyped-def]
        if self._resume is not None and history.status(self._resume) is TrialStatus.PAUSED:
            tid, self._resume = self._resume, None
            return Resume(tid, self.max_step)
        if len(history) < 2:
            return StartNew(3)
        return None

    def on_result(self, request: ResultRequest) -> Decision:
        return Decision.pause("rung 3") if request.result.step == 3 else Decision()

    def on_trial_end(self, request):  # type: ignore[no-untyped-def]
        h = request.history
        paused = h.ids(TrialStatus.PAUSED)
        if len(paused) == 2:
            best, worst = sorted(paused, key=lambda t: h.score(t))
            self._out, self._resume = [worst], best

    def retired(self) -> list[int]:
        out, self._out = self._out, []
        return out


def test_retired_paused_trial_ends_stopped_and_releases_its_checkpoint() -> None:
    from rung.core.registry import register

    register("scheduler", "_pause_then_retire")(_PauseThenRetire)
    e = engine("_pause_then_retire", max_step=9, keep=0)
    events = [
        CapacityChanged(1, 0.0),
        ResultReported(0, 3, {"loss": 2.0}, 1.0),
        CheckpointSaved(0, 3, "0/3", 1.0, 7),
        TrialEnded(0, Outcome.PAUSED, 1.0),
        ResultReported(1, 3, {"loss": 1.0}, 2.0),
        CheckpointSaved(1, 3, "1/3", 2.0, 5),
    ]
    for ev in events:
        e.handle(ev)
    assert e.summary()["checkpoint_bytes"] == 12
    last = TrialEnded(1, Outcome.PAUSED, 2.0)
    cmds = e.handle(last)
    # trial 0 (worse) is retired: stopped, its checkpoint deleted; trial 1 resumes from its own
    assert cmds[0] == DeleteCheckpoint(0, "0/3")
    (launch,) = launches(cmds)
    assert (launch.trial_id, launch.start_step, launch.checkpoint) == (1, 4, "1/3")
    assert e.history.status(0) is TrialStatus.STOPPED
    assert e.summary()["checkpoint_bytes"] == 5
    # replay regenerates the same commands from the same events
    records = []
    e2 = engine("_pause_then_retire", max_step=9, keep=0)
    for ev in [*events, last]:
        records += [ev, *e2.handle(ev)]
    e3 = Engine.replay(e2.spec, records)
    assert e3.history.status(0) is TrialStatus.STOPPED and e3.checkpoint_bytes == 5


def test_retiring_a_trial_that_is_not_paused_changes_nothing() -> None:
    e = engine(max_step=9)
    e.handle(CapacityChanged(1, 0.0))
    e._end_retired([0, 42], [])  # 0 is running, 42 does not exist
    assert e.history.status(0) in (TrialStatus.LAUNCHED, TrialStatus.RUNNING)


class _RetireWhenRefused(Scheduler):
    """Pauses every trial at step 2; once the engine refuses a new start (trial budget spent),
    retires every paused trial but the best."""

    def __init__(self) -> None:
        pass

    def bind(self, ctx):  # type: ignore[no-untyped-def]
        super().bind(ctx)
        self._out: list[int] = []

    def next_trial(self, history):  # type: ignore[no-untyped-def]
        return StartNew(2)

    def on_result(self, request: ResultRequest) -> Decision:
        return Decision.pause("rung 2") if request.result.step == 2 else Decision()

    def on_start_refused(self, history) -> bool:  # type: ignore[no-untyped-def]
        paused = sorted(history.ids(TrialStatus.PAUSED), key=history.score)
        self._out = paused[1:]
        return False

    def retired(self) -> list[int]:
        out, self._out = self._out, []
        return out


def test_trials_retired_when_a_start_is_refused_end_in_the_same_turn() -> None:
    from rung.core.registry import register

    register("scheduler", "_retire_when_refused")(_RetireWhenRefused)
    e = engine("_retire_when_refused", max_step=9, budget=Budget(n_trials=2), keep=0)
    e.handle(CapacityChanged(1, 0.0))
    e.handle(ResultReported(0, 2, {"loss": 3.0}, 1.0))
    e.handle(CheckpointSaved(0, 2, "0/2", 1.0, 4))
    e.handle(TrialEnded(0, Outcome.PAUSED, 1.0))  # trial 1 starts
    e.handle(ResultReported(1, 2, {"loss": 1.0}, 2.0))
    e.handle(CheckpointSaved(1, 2, "1/2", 2.0, 4))
    cmds = e.handle(TrialEnded(1, Outcome.PAUSED, 2.0))  # no third trial may start
    assert cmds == [DeleteCheckpoint(0, "0/2")]
    assert e.history.status(0) is TrialStatus.STOPPED
    assert e.history.status(1) is TrialStatus.PAUSED


def test_handle_rejects_what_is_not_an_event_and_accepts_subclasses_of_events() -> None:
    e = engine()
    with pytest.raises(TypeError, match="not an event"):
        e.handle(Launch(0, {"x": 0.5}, 1, 9, 9, None))  # type: ignore[arg-type]

    class Grow(CapacityChanged):  # an executor's own subclass still dispatches as its base
        __slots__ = ()

    cmds = e.handle(Grow(2, 0.0))
    assert e.capacity == 2 and [c.trial_id for c in launches(cmds)] == [0, 1]

