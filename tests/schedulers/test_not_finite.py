"""A result that is not finite (NaN, infinite or missing, scored ``inf`` under
``Objective(nan="worst")``) is ranked last at a rung and never continues or gets promoted there:
before, it continued as the first result of a rung, or when tied ``inf`` results filled the
quota, and the promotion variants could promote it."""

from __future__ import annotations

import math

from sched_script import Script

from rung import ASHA, Action, AsyncHyperband, Objective
from rung.core.events import Decision
from rung.schedulers import MOASHA, CurveASHA, SuccessiveHalving

WORST = Objective("loss", nan="worst")
WHY = "its score is not finite (the metric was NaN, infinite or missing)"


def _decisions(s: Script, losses: list[float], step: int = 1) -> list[Decision]:
    n = len(losses)
    s.capacity(n)
    s.start(*range(n))
    out = []
    for tid, loss in enumerate(losses):
        d = s.report(tid, step, loss)
        assert d is not None
        out.append(d)
    return out


def test_asha_stopping_never_passes_a_result_that_is_not_finite() -> None:
    s = Script(ASHA(2), max_step=4, objective=WORST)
    ds = _decisions(s, [math.nan, 0.5, math.inf, math.inf, math.inf, math.inf])
    assert [d.action for d in ds] == [Action.STOP, Action.CONTINUE] + [Action.STOP] * 4
    assert ds[0].reason == f"rank 1/1 at rung 0 (step 1): {WHY}"
    # before: the 6th made the quota 3, and its tied score took the place left below 0.5
    assert ds[5].reason == f"rank 6/6 at rung 0 (step 1): {WHY}"
    s.assert_replay_matches()


def test_asha_promotion_stops_a_result_that_is_not_finite_instead_of_pausing_it() -> None:
    s = Script(ASHA(2, variant="promotion"), max_step=4, objective=WORST)
    ds = _decisions(s, [math.inf, math.inf, 0.5, math.inf])
    assert ds[0] == Decision.stop(f"rank 1/1 at rung 0 (step 1): {WHY}")
    assert ds[1] == Decision.stop(f"rank 2/2 at rung 0 (step 1): {WHY}")
    assert ds[2] == Decision(Action.CONTINUE, 2, False, "rank 1/3 at rung 0 (step 1): promoted")
    assert ds[3] == Decision.stop(f"rank 4/4 at rung 0 (step 1): {WHY}")
    # before: the inf results paused, and trial 0 was promotable (2nd of 4, top 2)
    assert s.scheduler.state()["rungs"][0] == {
        "step": 1, "results": 4, "continued": 1, "waiting": 0
    }
    s.assert_replay_matches()


def test_async_hyperband_stops_it_too() -> None:
    s = Script(AsyncHyperband(3, brackets=1), max_step=9, objective=WORST)
    (d,) = _decisions(s, [math.nan])
    assert d == Decision.stop(f"rank 1/1 at rung 0 (step 1): {WHY}")


def test_successive_halving_never_promotes_it() -> None:
    s = Script(SuccessiveHalving(2, n_configs=2), max_step=2, objective=WORST)
    ds = _decisions(s, [math.inf, math.inf])
    assert ds[0].action is Action.PAUSE
    # before: promoted, floor(2/2) = 1 place and nothing finite to take it
    assert ds[1] == Decision.stop(
        f"bracket 0 rung 0 (step 1): rank 2/2, not in the top 0 ({WHY})"
    )
    assert isinstance(s.scheduler, SuccessiveHalving)
    assert s.scheduler.completed_rungs == [(0, 0, 2, 0)]
    s.assert_replay_matches()


def test_mo_asha_stops_it() -> None:
    s = Script(MOASHA(3), max_step=9, objective=WORST)
    (d,) = _decisions(s, [math.nan])
    assert d == Decision.stop(f"position 1/1 at rung 0 (step 1): {WHY}")


def test_curve_asha_stops_it() -> None:
    s = Script(CurveASHA(2), max_step=4, objective=WORST)
    ds = _decisions(s, [math.inf, 0.5, 0.6])
    assert ds[0] == Decision.stop(f"rank 1/1 at rung 0 (step 1), predicted final loss=inf: {WHY}")
    assert ds[1].reason == "rank 1/2 at rung 0 (step 1), predicted final loss=0.5: promoted"
    assert ds[2].reason == (
        "rank 2/3 at rung 0 (step 1), predicted final loss=0.6: paused (not in the top 1 of 3 yet)"
    )
    s.assert_replay_matches()
