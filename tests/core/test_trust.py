"""Scripted engine tests for issue 15: invalid metrics fail their trial, one result per step,
too many interruptions fail (and can be retried), keep-N ranks completed trials only, and
``Trial.value`` is the metric in its own direction."""

from __future__ import annotations

import math

import pytest

from rung import Budget, Float, Objective, SearchSpace
from rung.core import (
    Action,
    CapacityChanged,
    CheckpointSaved,
    ComponentSpec,
    DeleteCheckpoint,
    Engine,
    Launch,
    Reply,
    ResultReported,
    StudySpec,
    TrialEnded,
    TrialRetried,
    TrialStarted,
    TrialStatus,
)
from rung.core.engine import TOO_MANY_INTERRUPTIONS
from rung.core.records import Outcome
from rung.errors import ConfigError

SPACE = SearchSpace({"x": Float(0.0, 1.0)})


def engine(
    objective: Objective | None = None, max_step: int = 9, keep: int = 1, n: int = 100
) -> Engine:
    spec = StudySpec("t", SPACE, objective or Objective("loss"), ComponentSpec("random"),
                     ComponentSpec("fifo"), max_step, Budget(n_trials=n), keep_checkpoints=keep)
    return Engine.from_spec(spec)


def launches(cmds: list) -> list[Launch]:
    return [c for c in cmds if isinstance(c, Launch)]


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ({"loss": math.nan}, "metric 'loss' is nan at step 2"),
        ({"loss": math.inf}, "metric 'loss' is inf at step 2"),
        ({"los": 0.5}, "metric 'loss' was not reported (reported: 'los') at step 2"),
        ({"loss": "0.5"}, "metric 'loss' is not a number: '0.5' (str) at step 2"),
        ({"loss": None}, "metric 'loss' is not a number: None (NoneType) at step 2"),
    ],
)
def test_an_invalid_metric_fails_its_trial_with_a_clear_error(
    metrics: dict, message: str
) -> None:
    e = engine()
    e.handle(CapacityChanged(1, 0.0, new_session=True))
    e.handle(TrialStarted(0, 0.0))
    assert e.handle(ResultReported(0, 1, {"loss": 1.0}, 1.0)) == []
    (r,) = e.handle(ResultReported(0, 2, metrics, 2.0))
    assert r == Reply(0, 2, r.decision) and r.decision.action is Action.STOP
    assert r.decision.reason == f"failed: {message}"
    # the worker honours the STOP: the trial ends failed, not stopped, and a new one starts
    cmds = e.handle(TrialEnded(0, Outcome.STOPPED, 2.0))
    assert e.history.status(0) is TrialStatus.FAILED
    assert e.history.error(0) == message
    assert [c.trial_id for c in launches(cmds)] == [1]


def test_an_invalid_final_metric_fails_a_completing_trial() -> None:
    e = engine(max_step=1)
    e.handle(CapacityChanged(1, 0.0, new_session=True))
    assert e.handle(ResultReported(0, 1, {"loss": math.nan}, 1.0)) == []  # no one waits
    e.handle(TrialEnded(0, Outcome.COMPLETED, 1.0))
    assert e.history.status(0) is TrialStatus.FAILED
    assert e.history.error(0) == "metric 'loss' is nan at step 1"


def test_nan_worst_scores_inf_and_keeps_running() -> None:
    e = engine(Objective("loss", nan="worst"))
    e.handle(CapacityChanged(1, 0.0, new_session=True))
    assert e.handle(ResultReported(0, 1, {"loss": math.nan}, 1.0)) == []
    assert e.history.score(0) == math.inf
    e.handle(ResultReported(0, 9, {"loss": 0.5}, 2.0))
    e.handle(TrialEnded(0, Outcome.COMPLETED, 2.0))
    assert e.history.status(0) is TrialStatus.COMPLETED


def test_objective_nan_policy_is_validated_and_persisted() -> None:
    with pytest.raises(ConfigError, match="objective.nan"):
        Objective("loss", nan="ignore")
    o = Objective("acc", "max", nan="worst")
    assert Objective.from_json(o.to_json()) == o
    # a spec written before the policy existed reads back as what its trials ran with
    spec = engine().spec.to_json()
    del spec["objective"]["nan"]
    assert StudySpec.from_json(spec).objective.nan == "worst"
    assert StudySpec.from_json(engine().spec.to_json()).objective.nan == "fail"


def test_a_repeated_step_replaces_the_result() -> None:
    e = engine()
    e.handle(CapacityChanged(1, 0.0, new_session=True))
    for s in (1, 2, 3):
        e.handle(ResultReported(0, s, {"loss": float(s)}, float(s)))
    e.handle(TrialEnded(0, Outcome.INTERRUPTED, 3.0, "worker died"))
    e.handle(CapacityChanged(1, 4.0, new_session=True))  # resumed from scratch (no checkpoint)
    for s in (1, 2):
        e.handle(ResultReported(0, s, {"loss": 10.0 + s}, 4.0 + s))
    t = e.history.trial(0)
    assert [(r.step, r.metrics["loss"]) for r in t.results] == [(1, 11.0), (2, 12.0), (3, 3.0)]
    assert e.history.n_results == 5  # reports; the journal keeps all five
    assert e.history.at_step(1)[0] == (11.0, 0)


def test_too_many_interruptions_fail_the_trial_and_retry_resumes_it() -> None:
    e = engine(n=1)
    e.handle(CapacityChanged(1, 0.0, new_session=True))
    e.handle(ResultReported(0, 1, {"loss": 1.0}, 1.0))
    e.handle(CheckpointSaved(0, 1, "0/1", 1.0))
    limit = e.scheduler.max_interruptions
    for i in range(limit):
        (launch,) = launches(e.handle(TrialEnded(0, Outcome.INTERRUPTED, 2.0 + i, "killed")))
        assert (launch.trial_id, launch.start_step, launch.checkpoint) == (0, 2, "0/1")
    cmds = e.handle(TrialEnded(0, Outcome.INTERRUPTED, 9.0, "killed"))
    assert cmds == []  # nothing to resume, no checkpoint deleted
    assert e.history.status(0) is TrialStatus.FAILED
    assert e.history.error(0) == f"{TOO_MANY_INTERRUPTIONS} ({limit + 1}; last: killed)"
    assert e.done
    (launch,) = launches(e.handle(TrialRetried(0, 10.0)))
    assert (launch.trial_id, launch.start_step, launch.checkpoint) == (0, 2, "0/1")
    assert e.history.interruptions(0) == 0
    e.handle(ResultReported(0, 9, {"loss": 0.5}, 11.0))
    e.handle(TrialEnded(0, Outcome.COMPLETED, 11.0))
    assert e.history.status(0) is TrialStatus.COMPLETED
    assert e.handle(TrialRetried(0, 12.0)) == []  # only such failures are retried


def test_keep_n_ranks_only_trials_completed_at_max_step() -> None:
    e = engine(keep=1, max_step=3)
    e.handle(CapacityChanged(2, 0.0, new_session=True))
    # trial 0 completes at max_step with 0.5; trial 1 is stopped at step 1 with 0.1
    e.handle(ResultReported(0, 3, {"loss": 0.5}, 1.0))
    e.handle(CheckpointSaved(0, 3, "0/3", 1.0))
    assert e.handle(TrialEnded(0, Outcome.COMPLETED, 1.0))[:0] == []
    e.handle(ResultReported(1, 1, {"loss": 0.1}, 1.0))
    e.handle(CheckpointSaved(1, 1, "1/1", 1.0))
    cmds = e.handle(TrialEnded(1, Outcome.STOPPED, 2.0))
    assert [c for c in cmds if isinstance(c, DeleteCheckpoint)] == [DeleteCheckpoint(1, "1/1")]
    assert e.history.checkpoint(0) is not None
    assert e.summary()["checkpoints"] == 1


def test_trial_value_is_the_metric_in_its_own_direction() -> None:
    e = engine(Objective("acc", "max"))
    e.handle(CapacityChanged(1, 0.0, new_session=True))
    assert e.history.trial(0).value is None
    e.handle(ResultReported(0, 9, {"acc": 0.939}, 1.0))
    t = e.history.trial(0)
    assert t.score == -0.939 and t.value == 0.939
    assert "acc=0.939 at step 9" in repr(t)  # the value in its own direction
