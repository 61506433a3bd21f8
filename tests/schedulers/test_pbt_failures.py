"""PBT: a failed member's place is filled (by a fork of a top member, else a new member), and
explore keeps stepped numbers on their grid, inside their range, and moving (PBT version 4)."""

from __future__ import annotations

import numpy as np
import pytest
from sched_script import Script, summary

from rung import Budget, Float, Int, SearchSpace
from rung.core.rng import derive_rng
from rung.schedulers import PBT
from rung.schedulers.pbt import explore, perturb

SPACE = SearchSpace({"lr": Float(0.001, 1.0, log=True), "width": Int(1, 64)})


def test_a_failed_member_is_replaced_by_a_fork_of_a_top_member() -> None:
    s = Script(PBT(4, 2, 0.25, 0.0), max_step=8, space=SPACE, budget=Budget(max_steps=100))
    assert summary(s.capacity(4)) == [(t, 1, 2, None) for t in range(4)]
    s.start(0, 1, 2, 3)
    for tid, loss in [(0, 0.1), (1, 0.3), (2, 0.4)]:
        s.report(tid, 1, 0.9)
        s.report(tid, 2, loss)
        s.checkpoint(tid, 2)
    s.report(3, 1, 0.9)
    # before: no launch, the population stayed at 3 and the slot idled for the whole run
    assert summary(s.end(3, "failed")) == [(4, 3, 4, "c/0/2")]
    h = s.engine.history
    assert h.parent_id(4) == 0
    assert h.tags(4) == {"pbt": "fork", "replaces": 3, "from_step": 2}
    st = s.scheduler.state()
    assert st["population"] == [0, 1, 2, 4]
    assert st["exploits"] == 0 and st["failed_replaced"] == 1
    assert st["recent_forks"] == [
        {"replaces": 3, "parent": 0, "step": 2, "at": 0, "failed": True}
    ]
    s.assert_replay_matches()


def test_a_member_interrupted_too_often_is_replaced_too() -> None:
    s = Script(PBT(2, 2, 0.5, 0.0), max_step=8, space=SPACE, budget=Budget(max_steps=100))
    s.capacity(2)
    s.start(0, 1)
    s.report(0, 1, 0.5)
    s.report(0, 2, 0.1)
    s.checkpoint(0, 2)
    for _ in range(PBT.max_interruptions):
        (resume,) = s.end(1, "interrupted")  # resumed from scratch: no checkpoint
        assert summary([resume]) == [(1, 1, 2, None)]
        s.start(1)
    assert summary(s.end(1, "interrupted")) == [(2, 3, 4, "c/0/2")]
    assert s.engine.history.status(1).value == "failed"
    assert s.scheduler.state()["population"] == [0, 2]
    s.assert_replay_matches()


def test_without_a_donor_a_new_member_replaces_it_and_the_population_stays_full() -> None:
    # population 3 on 2 workers: trial 0 fails before anyone has a checkpoint
    s = Script(PBT(3, 2, 0.25, 0.0), max_step=8, space=SPACE, budget=Budget(max_steps=100))
    s.capacity(2)
    s.start(0, 1)
    s.report(0, 1, 0.9)
    (launch,) = s.end(0, "failed")
    assert summary([launch]) == [(2, 1, 2, None)]
    assert s.engine.history.tags(2) == {"pbt": "member", "replaces": 0}
    s.start(2)
    s.report(1, 1, 0.5)
    s.report(1, 2, 0.4)  # trial 3, the third original, still has to start: 1 pauses
    (launch,) = s.pause(1, 2)
    assert summary([launch]) == [(3, 1, 2, None)]
    assert s.engine.history.tags(3) == {"pbt": "member"}
    s.start(3)
    s.report(3, 1, 0.7)
    # before: 2 was the third original and the population stayed at 2 (trials 1 and 2)
    assert s.scheduler.state()["population"] == [1, 2, 3]
    assert s.scheduler.state()["failed_replaced"] == 1
    s.assert_replay_matches()


def test_perturb_moves_stepped_numbers_along_their_grid() -> None:
    space = SearchSpace({
        "even": Int(2, 64, step=2),
        "tenth": Float(0.0, 1.0, step=0.1),
        "m": Int(1, 10, step=3),  # grid 1, 4, 7, 10
    })
    p = space.params
    # before: 4 * 1.2 = 4.8 rounded to 5 and snapped down to 4 (6 likewise): stuck going up
    assert [perturb(p["even"], v, True) for v in (2, 4, 6, 8)] == [4, 6, 8, 10]
    assert [perturb(p["even"], v, False) for v in (2, 4, 6, 64)] == [2, 2, 4, 50]
    # before: 0.1 and 0.2 went nowhere in either direction
    assert perturb(p["tenth"], 0.1, True) == pytest.approx(0.2)
    assert perturb(p["tenth"], 0.1, False) == 0.0
    assert perturb(p["tenth"], 0.2, False) == pytest.approx(0.1)
    assert perturb(p["tenth"], 1.0, True) == 1.0  # at the top: stays
    assert [perturb(p["m"], v, True) for v in (1, 4, 7, 10)] == [4, 7, 10, 10]
    assert [perturb(p["m"], v, False) for v in (1, 4, 7, 10)] == [1, 1, 4, 7]


def test_explore_never_leaves_a_grid_that_ends_below_the_range() -> None:
    # grid 1.0, 1.4, 1.8; 1.8 * 1.2 = 2.16 was clipped to 2.1 (off the grid): SpaceError
    space = SearchSpace({"a": Float(1.0, 2.1, step=0.4)})
    assert perturb(space.params["a"], 1.8, True) == pytest.approx(1.8)
    for key in range(20):
        out = explore(space, {"a": 1.8}, ["a"], 0.0, derive_rng(0, "t", key))
        assert out["a"] in (pytest.approx(1.4), pytest.approx(1.8))
    values = {explore(space, {"a": 1.8}, ["a"], 0.0, np.random.default_rng(k))["a"]
              for k in range(20)}
    assert len(values) == 2
