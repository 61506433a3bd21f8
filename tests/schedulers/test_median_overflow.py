"""The median stopping rule's averages and medians do not overflow: values near the float
maximum decide as the same values at scale 1 do (both rules), and re-reporting a step at that
scale does not raise (``math.fsum``'s "intermediate overflow")."""

from __future__ import annotations

import math

import pytest

import rung
from rung.schedulers._safe_mean import fsum_total, interpolate_half, mean, midpoint, scaled


def stops(scale: float, rule: str) -> list[int]:
    sched = rung.MedianStoppingRule(rule=rule)
    st = rung.Study.create("m", {"x": rung.Float(0, 1)}, "loss", searcher="random",
                           scheduler=sched, max_step=9, budget=rung.Budget(n_trials=30),
                           seed=0)
    stopped = []
    while (t := st.ask()) is not None:
        step = 1
        while True:
            d = st.report(t.id, step, {"loss": scale * (0.5 + t.params["x"] / 2)})
            if d.action is not rung.Action.CONTINUE or step == 9:
                break
            step += 1
        if d.action is rung.Action.STOP:
            stopped.append(t.id)
        st.tell(t.id)
    return stopped


@pytest.mark.parametrize("rule", ["vizier", "optuna"])
def test_the_same_trials_stop_at_any_scale(rule: str) -> None:
    at_one = stops(1.0, rule)
    assert at_one  # the rule does stop trials here
    assert stops(1e300, rule) == at_one
    assert stops(1.7e308, rule) == at_one


def test_a_step_reported_again_near_the_float_maximum() -> None:
    st = rung.Study.create("m", {"x": rung.Float(0, 1)}, "loss", searcher="random",
                           scheduler="median", max_step=9, budget=rung.Budget(n_trials=5))
    t = st.ask()
    assert t is not None
    st.report(t.id, 1, {"loss": 1.7e308})
    st.report(t.id, 2, {"loss": 1.7e308})
    d = st.report(t.id, 2, {"loss": 1.6e308})  # the same step again replaces its result
    assert d.action is rung.Action.CONTINUE


def test_the_plain_formulas_where_they_do_not_overflow() -> None:
    for a, b in ((0.1, 0.7), (-3.0, 2.5), (1e-300, 3e-300)):
        assert midpoint(a, b) == (a + b) / 2.0
        assert interpolate_half(a, b) == b - (b - a) * 0.5
    vals = [0.1, 0.2, 0.7]
    assert fsum_total(vals)[0] == math.fsum(vals)
    assert mean(math.fsum(vals), sum(scaled(v) for v in vals), 3) == math.fsum(vals) / 3


def test_the_scaled_results_where_they_would() -> None:
    big = 1.7e308
    assert midpoint(big, big) == big and midpoint(-big, big) == 0.0
    assert interpolate_half(-big, big) == 0.0
    total, sc = fsum_total([big, big, -big])  # fsum itself raises here
    assert total == math.inf and math.isclose(mean(total, sc, 3), big / 3)
    assert mean(math.inf, math.inf, 2) == math.inf  # an infinite score: the mean is inf
