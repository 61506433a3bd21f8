"""PBT's ranking, its reasons and its record of each fork (PBT version 6): a member is never
ranked against a result from a step it has not reached; an exploit's reason quotes the values
in the objective's units and names the donor and what explore changed; a fork's tags name the
step it was forked at; a fork waits only for a donor that can still save its checkpoint."""

from __future__ import annotations

from sched_script import Script, summary

from rung import Budget, Categorical, Float, Int, Objective, SearchSpace
from rung.core.events import Action, Decision
from rung.schedulers import PBT

SPACE = SearchSpace({"lr": Float(0.001, 1.0, log=True), "width": Int(1, 64)})


def _generation(s: Script, losses: dict[int, float], step: int = 2) -> None:
    for tid, loss in losses.items():
        for t in range(step - 1, step + 1):
            s.report(tid, t, loss)
        s.checkpoint(tid, step)


def test_a_member_ahead_is_compared_at_the_reporters_step() -> None:
    s = Script(PBT(3, 2, 0.25, 0.0), max_step=8, space=SPACE, budget=Budget(max_steps=100))
    s.capacity(3)
    s.start(0, 1, 2)
    _generation(s, {2: 0.32, 0: 0.3, 1: 0.31})
    # members 0 and 1 are fast: they reach step 6 while member 2 (slow) is still at 3
    for tid, curve in [(0, [0.3, 0.25, 0.15, 0.1]), (1, [0.3, 0.22, 0.15, 0.12])]:
        for step, loss in zip(range(3, 7), curve, strict=True):
            s.report(tid, step, loss)
    s.report(2, 3, 0.2)
    # at step 4, member 2 (0.15) beats both (0.25 and 0.22 there); before, it was ranked
    # against their results at step 6 (0.1, 0.12), came last and was exploited
    assert s.report(2, 4, 0.15) == Decision(Action.CONTINUE, 6, True, "rank 1/3 at step 4")
    assert s.scheduler.state()["exploits"] == 0
    s.assert_replay_matches()


def test_a_member_always_first_to_arrive_is_judged_at_the_step_both_reached() -> None:
    # two members in lockstep, trial 0 always first: it is worse at every step, but it was
    # ranked against trial 1's result one interval older (0.25 at step 4 against 0.3 at
    # step 2) and never exploited; now it is compared at step 2, where both have a result
    s = Script(PBT(2, 2, 0.5, 0.0), max_step=8, space=SPACE, budget=Budget(max_steps=100))
    s.capacity(2)
    s.start(0, 1)
    _generation(s, {0: 0.5, 1: 0.3})
    s.report(0, 3, 0.4)
    assert s.report(0, 4, 0.25) == Decision.stop(
        "exploit: loss=0.25 at step 4 ranks 2/2, in the bottom 1; replaced by a fork of trial 1 "
        "(loss=0.3 at step 2): lr 0.0443357 -> 0.0354685, width 23 -> 18"
    )
    assert summary(s.end(0, "stopped")) == [(2, 3, 4, "c/1/2")]
    s.assert_replay_matches()


def test_the_exploit_reason_quotes_accuracies_names_the_donor_and_the_change() -> None:
    space = SearchSpace({
        "lr": Float(0.001, 1.0, log=True),
        "opt": Categorical(["adam", "sgd"]),
        "momentum": Float(0.5, 0.99, when={"opt": "sgd"}),
    })
    s = Script(PBT(4, 2, 0.25, 0.5), max_step=6, space=space, budget=Budget(max_steps=100),
               objective=Objective("acc", "max"), seed=4)
    s.capacity(4)
    s.start(0, 1, 2, 3)
    _generation(s, {0: 0.9, 1: 0.7, 2: 0.6})
    s.report(3, 1, 0.1)
    h = s.engine.history
    assert h.params(0) == {"lr": 0.004663423089070292, "opt": "adam"}
    d = s.report(3, 2, 0.2)
    assert d == Decision.stop(
        "exploit: acc=0.2 at step 2 ranks 4/4, in the bottom 1; replaced by a fork of trial 0 "
        "(acc=0.9 at step 2): lr 0.00466342 -> 0.442749, opt adam -> sgd, momentum (inactive) "
        "-> 0.739692"
    )
    (launch,) = s.end(3, "stopped")
    assert summary([launch]) == [(4, 3, 4, "c/0/2")]
    # the fork is what the reason said: trial 0's checkpoint and values, explored
    assert h.parent_id(4) == 0
    fork = h.params(4)
    assert fork["opt"] == "sgd" and f"{fork['lr']:.6g} {fork['momentum']:.6g}" == "0.442749 0.739692"
    assert h.tags(4) == {"pbt": "fork", "replaces": 3, "from_step": 2}
    s.assert_replay_matches()


def test_a_generation_exploit_quotes_its_values_too() -> None:
    # 3 members on 2 workers: the generation at step 2 is judged when its last member arrives
    s = Script(PBT(3, 2, 0.25, 0.0), max_step=8, space=SPACE, budget=Budget(max_steps=100))
    s.capacity(2)
    s.start(0, 1)
    s.run(0, [1, 2], 0.1)
    s.pause(0, 2)
    s.start(2)
    s.run(1, [1, 2], 0.5)
    s.pause(1, 2)
    s.report(2, 1, 0.9)
    assert s.report(2, 2, 0.9) == Decision.stop(
        "exploit: generation at step 2 judged: loss=0.9 ranks 3/3, in the bottom 1; replaced "
        "by a fork of trial 0 (loss=0.1 at step 2): lr 0.444158 -> 0.355326, width 3 -> 2"
    )
    assert summary(s.end(2, "stopped")) == [(3, 3, 4, "c/0/2"), (0, 3, 4, "c/0/2")]


def test_a_paused_top_member_that_saved_no_checkpoint_is_no_donor() -> None:
    s = Script(PBT(3, 2, 0.5, 0.0), max_step=8, space=SPACE, budget=Budget(max_steps=100))
    s.capacity(2)
    s.start(0, 1)
    s.run(0, [1, 2], 0.1)
    s.pause(0, 2)
    s.start(2)
    s.run(1, [1, 2], 0.5)
    s.pause(1, 2)
    s.run(2, [1, 2], 0.9)  # the last of generation 2: exploited, forked from trial 0
    assert summary(s.end(2, "stopped")) == [(3, 3, 4, "c/0/2"), (0, 3, 4, "c/0/2")]
    s.start(3, 0)
    s.run(0, [3, 4], 0.05)
    # trial 0 pauses at step 4 without saving (a report without save=): its checkpoint stays
    # at step 2. Before PBT 12, it was later resumed from step 3 into the same pause at step
    # 4 (a loop when it never saves); now the run ends (test_pbt_no_checkpoints)
    assert summary(s.end(0, "paused")) == []
    assert s.report(3, 3, 0.3) == Decision.stop(
        "PBT needs checkpoints: trial 0 paused at step 4 without saving a checkpoint there; "
        "pass save= to ctx.report (ask/tell: Study.checkpoint before tell)")
    s.end(3, "stopped")
    assert s.engine.over
    s.assert_replay_matches()


def test_schedule_gives_the_hyperparameters_that_trained_the_best_member() -> None:
    from test_pbt import _timeshared

    from rung.schedulers.pbt import schedule

    study = _timeshared(2)
    h = study.history
    best = study.best_trial
    assert best is not None
    plan = schedule(h, best.id)
    # the lineage: every fork on the way, from the step after its donor's checkpoint
    chain = [best.id]
    while (parent := h.parent_id(chain[-1])) is not None:
        chain.append(parent)
    chain.reverse()
    assert [p for _, p in plan] == [dict(h.params(t)) for t in chain]
    assert plan[0][0] == 1
    assert [s for s, _ in plan[1:]] == [h.tags(t)["from_step"] + 1 for t in chain[1:]]
    # each entry's trial reported the steps it trained with its params
    for (start, _), (end, _), t in zip(plan, [*plan[1:], (21, None)], chain, strict=True):
        assert min(r.step for r in h.results(t)) == start
        assert all(s in h.scores(t) for s in range(start, end))
    assert len(plan) >= 2  # the best member is a fork
