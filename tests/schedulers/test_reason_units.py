"""Decision reasons quote values in the objective's own units and name its metric, also for
``mode="max"`` (``rung.schedulers._reasons``): the same decisions as a minimized mirror image,
with the user's numbers in the text. Scripted, exact decisions."""

from __future__ import annotations

import pytest
from sched_script import Script

from rung import ASHA, Action, Decision, MedianStoppingRule, Objective
from rung.core.records import Objective as Obj
from rung.schedulers._reasons import quote
from rung.schedulers.curve import CurveASHA

ACC = Objective("acc", "max")


def test_quote_is_the_metric_value_in_its_own_direction() -> None:
    assert quote(Obj("acc", "max"), -0.912) == "acc=0.912"
    assert quote(Obj("val_loss", "min"), 0.52) == "val_loss=0.52"
    assert quote(Obj("acc", "max"), 0.0) == "acc=0"  # not "-0"
    assert quote(Obj("acc", "max"), float("inf")) == "acc=-inf"  # the worst accuracy
    assert quote(Obj("loss", "min"), float("inf")) == "loss=inf"
    assert quote(Obj("acc", "max"), -1 / 3) == "acc=0.333333"


def test_asha_stop_names_the_cutoff_as_an_accuracy() -> None:
    s = Script(ASHA(3), max_step=9, objective=ACC)
    s.capacity(4)
    assert s.report(0, 1, 0.9) == Decision(Action.CONTINUE, 3, False, "rank 1/1 at rung 0 (step 1)")
    assert s.report(1, 1, 0.5) == Decision.stop(
        "rank 2/2 at rung 0 (step 1): not in the top 1/3 (cutoff acc=0.9)"
    )
    # a tie at the cutoff whose places are taken
    assert s.report(2, 1, 0.9) == Decision.stop(
        "rank 2/3 at rung 0 (step 1): not in the top 1/3 (cutoff acc=0.9); the places of its "
        "tied value are taken"
    )
    assert s.report(3, 1, 0.95) == Decision(
        Action.CONTINUE, 3, False, "rank 1/4 at rung 0 (step 1)"
    )
    s.assert_replay_matches()


def test_a_metric_named_score_reads_as_a_value_too() -> None:
    """``Objective("score", "max")`` (a metric that shares its name with the score column):
    ``score=0.9``, never the old ``"cutoff score -0.9"``."""
    s = Script(ASHA(3), max_step=9, objective=Objective("score", "max"))
    s.capacity(2)
    s.report(0, 1, 0.9)
    assert s.report(1, 1, 0.5) == Decision.stop(
        "rank 2/2 at rung 0 (step 1): not in the top 1/3 (cutoff score=0.9)"
    )


@pytest.mark.parametrize("mode", ["min", "max"])
def test_the_same_decisions_in_either_direction(mode: str) -> None:
    """A maximized metric reported as ``-x`` decides exactly as the minimized ``x``; only the
    quoted numbers change sign."""
    sign = 1.0 if mode == "min" else -1.0
    s = Script(ASHA(3), max_step=9, objective=Objective("loss", mode))
    s.capacity(6)
    got = [s.report(t, 1, sign * x) for t, x in enumerate([0.3, 0.5, 0.2, 0.4, 0.1, 0.6])]
    reasons = [d.reason for d in got if d is not None and d.action is Action.STOP]
    minus = "" if mode == "min" else "-"
    assert reasons == [
        f"rank 2/2 at rung 0 (step 1): not in the top 1/3 (cutoff loss={minus}0.3)",
        f"rank 3/4 at rung 0 (step 1): not in the top 1/3 (cutoff loss={minus}0.2)",
        f"rank 6/6 at rung 0 (step 1): not in the top 1/3 (cutoff loss={minus}0.2)",
    ]
    assert [None if d is None else (d.action, d.until_step) for d in got] == [
        (Action.CONTINUE, 3), (Action.STOP, None), (Action.CONTINUE, 3), (Action.STOP, None),
        (Action.CONTINUE, 3), (Action.STOP, None),
    ]


def test_median_rule_quotes_best_and_median_as_accuracies() -> None:
    s = Script(MedianStoppingRule(min_step=1, min_trials=1), max_step=5, objective=ACC)
    s.capacity(2)
    assert s.report(0, 1, 0.9) == Decision.proceed(
        2, "0 other trial(s) at step 1, fewer than the 1 the rule compares with")
    assert s.report(1, 1, 0.2) == Decision.stop(
        "best acc=0.2 by step 1 is worse than the median acc=0.9 of 1 other trials' running "
        "averages at step 1"
    )


def test_optuna_median_quotes_accuracies() -> None:
    rule = MedianStoppingRule(rule="optuna", min_step=0, min_trials=1, startup_trials=1)
    s = Script(rule, max_step=2, objective=ACC)
    s.capacity(2)
    s.start(0, 1)
    assert s.report(0, 1, 0.8) == Decision.proceed(
        2, "0 completed trial(s), fewer than startup_trials (1)")
    assert s.report(0, 2, 0.9) is None  # max_step: it completes
    s.end(0)
    assert s.report(1, 1, 0.5) == Decision.stop(
        "best acc=0.5 by step 1 is worse than the median acc=0.8 of 1 completed trials at "
        "step 1 (Optuna's MedianPruner)"
    )


def test_curve_asha_quotes_the_predicted_final_accuracy() -> None:
    s = Script(CurveASHA(3), max_step=9, objective=ACC)
    s.capacity(1)
    assert s.report(0, 1, 0.7) == Decision.pause(
        "rank 1/1 at rung 0 (step 1), predicted final acc=0.7: paused (fewer than 3 results "
        "at the rung)"
    )
