"""PBT and PB2 (PBT version 11, PB2 version 3): an exploited member keeps its place in the
ranking until its fork reports, so each judgement exploits only the bottom ``quantile_fraction``
of the whole population; and a fork whose donor ended before it started still launches, from
the donor's recorded checkpoint."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sched_script import Script, summary

from rung import Budget, Float, Objective, SearchSpace
from rung.core import (
    CapacityChanged,
    CheckpointSaved,
    Launch,
    Reply,
    ResultReported,
    TrialEnded,
    TrialStarted,
)
from rung.core.events import Action, Decision
from rung.core.records import Outcome
from rung.schedulers import PB2, PBT

SPACE = SearchSpace({"lr": Float(1e-4, 0.1, log=True)})

#: what explore (PBT) or the bandit (PB2) made of trial 0's lr, as the exploit's reason says
CHANGE = {
    PBT: "lr 0.0444158 -> 0.0532989",
    PB2: "lr 0.0444158 -> 0.0588374 (PB2: GP-UCB over 5 interval changes: predicted "
         "improvement per interval 13.97 +- 3.1)",
}


def _population(make: type[PBT], size: int) -> Script:
    """``size`` members on as many workers, interval 4, ``max_step`` 12, accuracy to maximize:
    member ``t`` reports ``acc = (size - t) * step``, so member 0 is the best at every step and
    the last member the worst. Every member reports steps 1 to 7, the best last at step 4."""
    s = Script(make(size, 4, 0.25, 0.25), max_step=12, space=SPACE,
               budget=Budget(n_trials=size), objective=Objective("acc", "max"))
    assert summary(s.capacity(size)) == [(t, 1, 4, None) for t in range(size)]
    s.start(*range(size))
    for step in range(1, 8):
        for t in reversed(range(size)) if step == 4 else range(size):
            d = s.report(t, step, (size - t) * step)
            if d is not None and d.checkpoint:
                s.checkpoint(t, step)
    return s


@pytest.mark.parametrize("make", [PBT, PB2])
def test_the_worst_first_exploits_only_the_bottom_quantile(make: type[PBT]) -> None:
    # population 4, quantile 0.25: the bottom 1. The three worst report step 8 first; before,
    # each exploit left the ranking until its fork started, so the next one ranked 3/3, then
    # 2/2, and all three were exploited (the second best among them)
    s = _population(make, 4)
    assert s.report(3, 8, 8.0) == Decision.stop(
        "exploit: acc=8 at step 8 ranks 4/4, in the bottom 1; replaced by a fork of trial 0 "
        f"(acc=16 at step 4): {CHANGE[make]}")
    assert s.report(2, 8, 16.0) == Decision(Action.CONTINUE, 12, True, "rank 3/4 at step 8")
    assert s.report(1, 8, 24.0) == Decision(Action.CONTINUE, 12, True, "rank 2/4 at step 8")
    assert s.report(0, 8, 32.0) == Decision(Action.CONTINUE, 12, True, "rank 1/4 at step 8")
    st_ = s.scheduler.state()
    assert st_["exploits"] == 0 and st_["pending_forks"] == [3]  # the fork has not started
    # trial 3 ends: its fork starts from trial 0's checkpoint at step 4
    assert summary(s.end(3, "stopped")) == [(4, 5, 8, "c/0/4")]
    assert s.scheduler.state()["population"] == [0, 1, 2, 4]
    s.assert_replay_matches()


@pytest.mark.parametrize("make", [PBT, PB2])
def test_a_fork_that_starts_mid_judgement_holds_its_place(make: type[PBT]) -> None:
    # the exploited member ends and its fork starts before the others report step 8: the fork
    # holds the exploited member's result until it reports its own, so nobody else is pushed
    # into the bottom (with its donor's result it ranked second, and trial 2 came last)
    s = _population(make, 4)
    assert s.report(3, 8, 8.0).action is Action.STOP  # type: ignore[union-attr]
    assert summary(s.end(3, "stopped")) == [(4, 5, 8, "c/0/4")]
    s.start(4)
    assert s.report(2, 8, 16.0) == Decision(Action.CONTINUE, 12, True, "rank 3/4 at step 8")
    assert s.report(1, 8, 24.0) == Decision(Action.CONTINUE, 12, True, "rank 2/4 at step 8")
    assert s.report(0, 8, 32.0) == Decision(Action.CONTINUE, 12, True, "rank 1/4 at step 8")
    # the fork's own result at step 8 replaces the one it held
    for step in range(5, 8):
        assert s.report(4, step, 4.0 * step) is None
    assert s.report(4, 8, 33.0) == Decision(Action.CONTINUE, 12, True, "rank 1/4 at step 8")
    assert s.scheduler.state()["ranked"][0] == [4, 8, -33.0]
    s.assert_replay_matches()


def test_eight_members_exploit_two_at_step_8_and_never_a_top_half_member() -> None:
    # population 8, quantile 0.25: the bottom 2. All eight report step 8, worst first; before,
    # members 7, 6, 5 and 4 were exploited ("ranks 8/8", "7/7", "6/6", "5/5"), 4 in the top half
    s = _population(PBT, 8)
    decisions = {t: s.report(t, 8, (8 - t) * 8.0) for t in reversed(range(8))}
    stopped = {t: d.reason for t, d in decisions.items()
               if d is not None and d.action is Action.STOP}
    assert stopped == {
        7: "exploit: acc=8 at step 8 ranks 8/8, in the bottom 2; replaced by a fork of trial 1 "
           "(acc=28 at step 4): lr 0.00443357 -> 0.00354685",
        6: "exploit: acc=16 at step 8 ranks 7/8, in the bottom 2; replaced by a fork of trial 0 "
           "(acc=32 at step 4): lr 0.0444158 -> 0.0532989",
    }
    for t in range(6):
        assert decisions[t] == Decision(Action.CONTINUE, 12, True, f"rank {t + 1}/8 at step 8")
    s.assert_replay_matches()


@pytest.mark.parametrize("make", [PBT, PB2])
def test_a_donor_that_completes_before_the_fork_starts_still_donates(make: type[PBT]) -> None:
    # population 2, Budget(n_trials=2): A (trial 0) runs ahead and completes after B (trial 1)
    # was exploited at step 4 and before B's fork starts. Before, a donor had to be live: the
    # fork was refused, no new member could start, and B's place was lost (1 of 2 completed)
    s = Script(make(2, 4, 0.25, 0.25), max_step=8, space=SPACE, budget=Budget(n_trials=2),
               objective=Objective("acc", "max"))
    s.capacity(2)
    s.start(0, 1)
    for step in range(1, 8):
        d = s.report(0, step, 10.0 * step)
        if d is not None and d.checkpoint:
            s.checkpoint(0, step)
    for step in range(1, 4):
        assert s.report(1, step, 1.0 * step) is None
    d = s.report(1, 4, 4.0)
    assert d is not None and d.action is Action.STOP
    change = ("lr 0.0444158 -> 0.000182357" if make is PBT else
              "lr 0.0444158 -> 0.0602852 (PB2: GP-UCB over 2 interval changes: predicted "
              "improvement per interval 32.35 +- 13)")
    assert d.reason == ("exploit: acc=4 at step 4 ranks 2/2, in the bottom 1; replaced by a "
                        f"fork of trial 0 (acc=40 at step 4): {change}")
    assert s.report(0, 8, 80.0) is None
    # A completes first: its slot goes to B's fork, from A's checkpoint at step 4
    (fork,) = s.end(0, "completed")
    assert summary([fork]) == [(2, 5, 8, "c/0/4")]
    h = s.engine.history
    assert h.parent_id(2) == 0 and h.tags(2) == {"pbt": "fork", "replaces": 1, "from_step": 4}
    assert s.end(1, "stopped") == []
    s.start(2)
    for step in range(5, 9):
        s.report(2, step, 50.0 + step)
    assert s.end(2, "completed") == []
    assert [h.status(t).value for t in h] == ["completed", "stopped", "completed"]
    assert s.scheduler.state()["lost_places"] == []
    s.assert_replay_matches()


def test_a_completed_donors_checkpoint_is_held_for_the_planned_fork() -> None:
    # as above, but no finished trial keeps its checkpoint (keep=0): A's checkpoint would be
    # deleted as it completes; the engine holds it while PBT plans a fork from it
    # (``Scheduler.needs_checkpoint``), the fork launches from it, and it is released once
    # no trial needs it any more
    s = Script(PBT(2, 4, 0.25, 0.25), max_step=8, space=SPACE, budget=Budget(n_trials=2),
               objective=Objective("acc", "max"), keep=0)
    s.capacity(2)
    s.start(0, 1)
    for step in range(1, 8):
        d = s.report(0, step, 10.0 * step)
        if d is not None and d.checkpoint:
            s.checkpoint(0, step)
    s.run(1, range(1, 5), 1.0)
    s.report(0, 8, 80.0)
    assert summary(s.end(0, "completed")) == [(2, 5, 8, "c/0/4")]
    assert s.scheduler.state()["lost_places"] == []
    assert s.end(1, "stopped") == []  # c/0/4 is still referenced by the fork
    s.assert_replay_matches()


# --- property: random report orders -----------------------------------------------------------

INTERVAL, MAX_STEP = 2, 8


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(2, 7), q=st.sampled_from([0.25, 0.4, 0.5]), data=st.data())
def test_no_judgement_exploits_outside_the_bottom_quantile(
    size: int, q: float, data: st.DataObject
) -> None:
    """Members with fixed qualities (a fork trains as well as its donor) report in a random
    order, one step at a time; workers act on decisions at once. At every exploit, the
    exploited member's result is among the bottom ``ceil(q * m)`` of the population's ``m``
    places (all ``size`` until a member completes): each place's latest interval result, an
    exploited member's kept until its fork reports its own (every comparison the rule makes,
    at whichever step, orders results as their qualities do, so qualities decide the
    oracle's rank); the reason's rank is that rank, out of ``m``; and the donor is a member
    holding its own result, never an exploited one. Before, the next member judged at a step
    after an exploit was ranked among ``m - 1``, and more than the bottom was exploited."""
    _random_orders(PBT, size, q, data)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(2, 5), data=st.data())
def test_pb2_judges_as_pbt_does_under_random_orders(size: int, data: st.DataObject) -> None:
    _random_orders(PB2, size, 0.25, data)


def _random_orders(make: type[PBT], size: int, q: float, data: st.DataObject) -> None:
    s = Script(make(size, INTERVAL, q, 0.25), max_step=MAX_STEP, space=SPACE,
               budget=Budget(n_trials=size))
    order = data.draw(st.permutations(range(1, size + 1)))
    quality = {t: float(order[t]) for t in range(size)}
    place = {t: t for t in range(size)}  # trial -> the place it holds
    value: dict[int, tuple[float, int]] = {}  # place -> (loss quality, the entry's trial id)
    nxt: dict[int, int] = {}  # running trial -> next step it reports
    ending: dict[int, Outcome] = {}
    exploits = 0
    exploited: set[int] = set()
    done = False  # a member has completed

    def apply(cmds: list[object]) -> None:
        for c in cmds:
            if isinstance(c, Launch):
                nxt[c.trial_id] = c.start_step
                parent = s.engine.history.parent_id(c.trial_id)
                if parent is not None:  # a fork: it trains as well as its donor
                    quality[c.trial_id] = quality[parent]
                    p = place[c.trial_id] = place[s.engine.history.tags(c.trial_id)["replaces"]]
                    value[p] = (value[p][0], c.trial_id)  # holds the place's result
                apply(s.feed(TrialStarted(c.trial_id, s.tick())))

    apply(s.feed(CapacityChanged(size, s.tick())))
    for _ in range(2000):
        movable = sorted(nxt)  # a worker acts on its reply at once: none waits
        if not movable:
            break
        tid = movable[data.draw(st.integers(0, len(movable) - 1))]
        if tid in ending:
            del nxt[tid]
            if ending[tid] is Outcome.COMPLETED:  # a finished member's place leaves
                value.pop(place[tid], None)
                done = True
            apply(s.feed(TrialEnded(tid, ending.pop(tid), s.tick())))
            continue
        step = nxt[tid]
        nxt[tid] += 1
        loss = quality[tid] / step  # lower is better: quality orders results at every step
        cmds = s.feed(ResultReported(tid, step, {"loss": loss}, s.tick()))
        if step % INTERVAL == 0 and step < MAX_STEP:
            value[place[tid]] = (quality[tid], tid)
        reply = next((c for c in cmds if isinstance(c, Reply) and c.trial_id == tid), None)
        if step == MAX_STEP:
            ending[tid] = Outcome.COMPLETED
        elif reply is not None and reply.decision.action is Action.STOP:
            assert reply.decision.reason.startswith("exploit: ")
            exploits += 1
            m = len(value)  # the places: none completed yet, or those left
            k = min(math.ceil(m * q), m // 2)
            assert m == size or done
            rank = 1 + sum(1 for v in value.values() if v < value[place[tid]])
            assert rank > m - k, (tid, step, rank, value, reply.decision.reason)
            assert f"ranks {rank}/{m}, in the bottom {k};" in reply.decision.reason
            # the donor holds its own result: never an exploited member's place
            donor = int(reply.decision.reason.split("a fork of trial ")[1].split()[0])
            assert donor not in exploited and value[place[donor]] == (quality[donor], donor)
            exploited.add(tid)
            ending[tid] = Outcome.STOPPED
        elif reply is not None and reply.decision.checkpoint:
            apply(s.feed(CheckpointSaved(tid, step, f"c/{tid}/{step}", s.tick(), 1)))
        apply(cmds)
    assert not nxt, "every trial ends"
    # every exploited member's place was filled by a fork, or is recorded as lost, with why
    state = s.scheduler.state()
    assert exploits == state["exploits"] + len(state["lost_places"])
