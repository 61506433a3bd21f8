"""PBT with members that report every few steps (PBT version 9): a member is judged at its first
result past each interval step, as Ray Tune's PBT perturbs at the first result past its
interval; before, only results exactly at an interval step counted, and a member reporting at
steps 5, 10, 15 with ``perturbation_interval=4`` was never judged, never asked for a
checkpoint, and PBT did nothing."""

from __future__ import annotations

from sched_script import Script, summary

from rung import Budget, Float, Int, SearchSpace
from rung.core.events import Action, Decision
from rung.schedulers import PBT

SPACE = SearchSpace({"lr": Float(0.001, 1.0, log=True), "width": Int(1, 64)})


def test_a_member_reporting_every_five_steps_is_judged_past_each_interval() -> None:
    s = Script(PBT(2, 4, 0.5, 0.0), max_step=20, space=SPACE, budget=Budget(max_steps=100))
    assert summary(s.capacity(2)) == [(0, 1, 4, None), (1, 1, 4, None)]
    s.start(0, 1)
    # the worker waits at its lease (4) from its first report past it, step 5
    assert s.report(0, 5, 0.02) == Decision(Action.CONTINUE, 9, True, "rank 1/1 at step 5")
    s.checkpoint(0, 5)
    assert s.report(1, 5, 0.18) == Decision.stop(
        "exploit: loss=0.18 at step 5 ranks 2/2, in the bottom 1; replaced by a fork of trial 0 "
        "(loss=0.02 at step 5): lr 0.444158 -> 0.355326, width 3 -> 4"
    )
    assert summary(s.end(1, "stopped")) == [(2, 6, 8, "c/0/5")]
    assert s.engine.history.tags(2) == {"pbt": "fork", "replaces": 1, "from_step": 5}
    # step 10 is past interval step 8: judged again (and streams on below its new lease)
    assert s.report(0, 10, 0.01) == Decision(Action.CONTINUE, 14, True, "rank 1/2 at step 10")
    assert s.report(0, 11, 0.01) is None
    assert s.scheduler.state()["ranked"][0] == [0, 10, 0.01]
    s.assert_replay_matches()


def test_members_reporting_every_five_steps_time_share_by_generation() -> None:
    s = Script(PBT(3, 4, 0.25, 0.0), max_step=20, space=SPACE, budget=Budget(max_steps=100))
    s.capacity(2)
    s.start(0, 1)
    assert s.report(0, 5, 0.1) == Decision(
        Action.PAUSE, None, True, "time-sharing: paused at step 5 until 2 member(s) behind catch up"
    )
    assert summary(s.pause(0, 5)) == [(2, 1, 4, None)]
    s.start(2)
    s.report(1, 5, 0.5)
    s.pause(1, 5)
    d = s.report(2, 5, 0.9)  # the last of the generation at step 5
    assert d is not None and d.action is Action.STOP
    assert summary(s.end(2, "stopped")) == [(3, 6, 8, "c/0/5"), (0, 6, 8, "c/0/5")]
    s.assert_replay_matches()
