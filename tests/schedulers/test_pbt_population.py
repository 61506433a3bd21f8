"""PBT's population when fewer members can start than ``population_size`` (PBT version 5): the
members started so far are the population, the generation they wait at is judged, and they
train on; and what ``hyperparams`` may name."""

from __future__ import annotations

import pytest
from sched_script import Script, summary

from rung import Budget, ConfigError, Float, Int, SearchSpace
from rung.core.events import Action, Decision
from rung.schedulers import PBT

SPACE = SearchSpace({"lr": Float(0.001, 1.0, log=True), "width": Int(1, 64)})


def test_a_trial_budget_below_the_population_size_shrinks_the_population() -> None:
    # PBT(3) with Budget(n_trials=2): the third member can never start
    s = Script(PBT(3, 2, 0.25, 0.0), max_step=6, space=SPACE, budget=Budget(n_trials=2))
    assert summary(s.capacity(2)) == [(0, 1, 2, None), (1, 1, 2, None)]
    s.start(0, 1)
    s.report(0, 1, 0.9)
    assert s.report(0, 2, 0.1) == Decision(
        Action.PAUSE, None, True, "time-sharing: paused at step 2 until 2 member(s) behind catch up"
    )
    s.report(1, 1, 0.9)
    assert s.report(1, 2, 0.5) == Decision(
        Action.PAUSE, None, True, "time-sharing: paused at step 2 until 1 member(s) behind catch up"
    )
    # trial 0 pauses; no third member can start: the population is trials 0 and 1, whose
    # generation at step 2 is judged (1 is exploited while its pause is on its way) and the
    # freed slot goes to a fork of 0 (before: nothing was launched, and both members stayed
    # paused at step 2 for good)
    assert summary(s.pause(0, 2)) == [(2, 3, 4, "c/0/2")]
    h = s.engine.history
    assert h.parent_id(2) == 0
    assert h.tags(2) == {"pbt": "fork", "replaces": 1, "from_step": 2}
    assert s.scheduler.state()["population_size"] == 2
    # trial 1 pauses as it was told: it is retired, and trial 0 resumes from its checkpoint
    assert summary(s.pause(1, 2)) == [(0, 3, 4, "c/0/2")]
    assert h.status(1).value == "stopped"
    st = s.scheduler.state()
    assert st["population"] == [0, 2] and st["exploits"] == 1 and st["paused"] == []
    # nobody waits any more: members are ranked on arrival again
    s.start(0, 2)
    s.report(0, 3, 0.1)
    assert s.report(0, 4, 0.05) == Decision(Action.CONTINUE, 6, True, "rank 1/2 at step 4")
    s.assert_replay_matches()


def test_an_exhausted_searcher_shrinks_the_population_too() -> None:
    from rung.core import CapacityChanged, ComponentSpec, Engine, Reply, ResultReported, StudySpec
    from rung.core import Objective as Obj
    from rung.searchers import GridSearcher

    space = SearchSpace({"width": Int(1, 2)})  # a grid of two points
    spec = StudySpec("t", space, Obj("loss"), ComponentSpec("grid"), PBT(4, 2).to_spec(), 6,
                     Budget(max_steps=100), seed=0)
    engine = Engine(spec, GridSearcher(), PBT(4, 2))
    assert len(engine.handle(CapacityChanged(4, 1.0))) == 2
    engine.handle(ResultReported(0, 1, {"loss": 0.5}, 2.0))
    (reply,) = engine.handle(ResultReported(0, 2, {"loss": 0.4}, 3.0))
    # before: paused at step 2 "until 3 member(s) behind catch up", two of them never to come
    assert isinstance(reply, Reply)
    assert reply.decision == Decision(Action.CONTINUE, 4, True, "rank 1/1 at step 2")
    assert engine.scheduler.state()["population_size"] == 2


@pytest.mark.parametrize(
    ("hyperparams", "message"),
    [
        ([], "scheduler.params.hyperparams: must name at least one parameter to explore "
             "(leave it out to explore every tunable parameter), got []"),
        (["lr", "width", "lr"], "scheduler.params.hyperparams: 'lr' is named twice"),
    ],
)
def test_hyperparams_names_each_parameter_once(hyperparams: list[str], message: str) -> None:
    # before: [] was accepted (every fork an unexplored copy of its donor) and a repeated name
    # was perturbed twice (x1.44 in one exploit)
    with pytest.raises(ConfigError) as err:
        Script(PBT(hyperparams=hyperparams), max_step=9, space=SPACE)
    assert str(err.value) == message
