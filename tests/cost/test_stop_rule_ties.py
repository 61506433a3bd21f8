"""The stop rule on values that tie: a constant objective, a best half at the same value. Ties
carry no scale, so the rule does not invent one (it standardized by 1 instead of a spread of 0,
and a constant stopped or not by float luck: 0.005 at trial 24, 0.5 and 5000 never)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import rung
from rung.cost.stop_evidence import TIE_RTOL, spread
from rung.cost.stop_rule import StopRule, assess

SPACE = rung.SearchSpace({"x": rung.Float(0.0, 1.0), "y": rung.Float(0.0, 1.0)})


class _Bench:
    """One step of 60 s; ``f(params)`` is the loss."""

    max_step = 1
    space = SPACE

    def __init__(self, f: Any) -> None:
        self.f = f

    def evaluate(self, params: dict[str, float], step: int) -> tuple[dict[str, float], float]:
        return {"loss": self.f(params)}, 60.0


def _run(f: Any, n_trials: int, stop: Any = "auto") -> rung.Study:
    study = rung.Study.create("t", SPACE, objective="loss", searcher="random",
                              scheduler="fifo", max_step=1, seed=0,
                              budget=rung.Budget(n_trials=n_trials, stop=stop))
    return study.simulate(_Bench(f), n_workers=1)


@pytest.mark.parametrize("c", [0.005, 0.5, 5000.0, -3.0])
def test_a_constant_objective_stops_at_min_trials_whatever_the_constant(c: float) -> None:
    study = _run(lambda p: c, 40)
    assert len(study.trials()) == 20  # min_trials: the rule's minimum evidence
    verdict = study.engine.stopped
    assert verdict is not None
    assert verdict.reason == ("regret bound 0 (the best 20 results tie) <= observed noise 0 "
                              "after 20 trials at step 1 (Makarova et al. 2022)")
    ev = verdict.evidence
    assert (ev["regret_bound"], ev["threshold"], ev["noise"], ev["gp_noise"]) == (0, 0, 0, 0)
    assert (ev["tie"], ev["signal_sd"], ev["bound_noise"], ev["expected_improvement"]) == (
        1.0, 0.0, 0.0, 0.0)
    assert ev["ucb"] == ev["lcb"] == ev["best"] == c


def test_float_rounding_of_a_constant_is_a_tie() -> None:
    """0.1 + 0.2 and 0.3 differ in their last bit: still one value."""
    study = _run(lambda p: 0.3 if p["x"] < 0.5 else 0.1 + 0.2, 40)
    assert len(study.trials()) == 20
    assert study.engine.stopped is not None
    assert study.engine.stopped.evidence["tie"] == 1.0
    assert spread(np.array([0.3, 0.1 + 0.2])) == 0.0
    assert spread(np.array([5000.0, 5000.0 * (1 + 2 * TIE_RTOL)])) > 0.0
    assert spread(np.array([0.0, 0.0])) == 0.0 and spread(np.array([0.0, 1e-100])) > 0.0


def _rate(p: dict[str, float]) -> float:
    """An error rate on 300 examples: 0 errors on half the space, up to 10% on the other."""
    x = p["x"]
    rng = np.random.default_rng(int(x * 1e9))
    return float(rng.binomial(300, 0.0 if x < 0.5 else 0.1 * x) / 300)


def test_a_best_half_at_zero_errors_stops_once_it_ties() -> None:
    """Half the space makes no error on 300 examples: once the best half is all 0, the bound
    is 0 (it was 0.0033 on a unit scale, above the binomial error 0.0024 at 0 errors, and the
    search stopped only at trial 187)."""
    study = _run(_rate, 200)
    assert len(study.trials()) == 39
    assert sum(t.value == 0.0 for t in study.trials()) == 20
    verdict = study.engine.stopped
    assert verdict is not None
    assert verdict.reason == (
        "regret bound 0 (the best 20 results tie) <= binomial error of the incumbent's rate 0 "
        "on 300 validation examples (read off the values' grid) 0.002351 after 39 trials at "
        "step 1 (Makarova et al. 2022)")
    assert verdict.evidence["n_val"] == 300.0


def test_the_tie_bound_is_in_the_objectives_units() -> None:
    """Without a tie nothing changes: ``10 f + 3`` has ten times the bound of ``f``; with a
    tie both are 0 and the incumbent is the tie."""
    def f(p: dict[str, float]) -> float:
        return p["x"] * p["y"]

    a = assess(_run(f, 30, None), min_trials=20)
    b = assess(_run(lambda p: 10 * f(p) + 3, 30, None), min_trials=20)
    assert a is not None and b is not None
    assert a["tie"] == b["tie"] == 0.0
    assert b["regret_bound"] == pytest.approx(10 * a["regret_bound"], rel=1e-6)
    flat = assess(_run(lambda p: 7.0, 30, None))
    assert flat is not None
    assert (flat["regret_bound"], flat["best"], flat["lengthscale_min"]) == (0.0, 7.0, 0.0)


def test_the_rule_version_says_what_changed() -> None:
    assert StopRule.version == 4
    assert StopRule.changes[4].startswith("values that tie (equal up to float rounding) "
                                          "have no scale")
