"""The stop-searching rule (Makarova et al. 2022): scripted sequences, exact trial counts."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

import rung
from rung.cli.ledger import render
from rung.core.events import StopSearch
from rung.cost import stop_rule
from rung.cost.ledger import ledger
from rung.storage import MemoryJournal

SPACE = {"x": rung.Float(0.0, 1.0), "y": rung.Float(0.0, 1.0)}


def _noise(i: int) -> float:
    """Deterministic pseudo-noise in [-1, 1]."""
    return math.sin(12.9898 * i * 78.233)


def _ask_tell(
    f: Callable[[int, dict[str, Any]], float], n: int, journal: MemoryJournal | None = None,
    **params: Any,
) -> rung.Study:
    study = rung.Study.create(
        "s", SPACE, objective="loss", searcher="random", scheduler="fifo",
        budget=rung.Budget(n_trials=n, stop=rung.StopRule(**params)), storage=journal,
    )
    i = 0
    while (t := study.ask()) is not None:
        study.tell(t.id, "completed", {"loss": f(i, dict(t.params))})
        i += 1
    return study


def test_stops_on_a_flat_objective_within_a_bounded_number_of_trials() -> None:
    journal = MemoryJournal()
    study = _ask_tell(lambda i, p: 1.0 + 0.01 * _noise(i), 200, journal)
    # a flat objective (noise of sd 0.007 around 1.0): stopped after exactly 46 trials,
    # well inside the budget of 200
    assert len(study.trials()) == 46
    verdict = study.engine.stopped
    assert verdict is not None
    ev = verdict.evidence
    assert ev["regret_bound"] <= ev["threshold"] == ev["noise"]
    assert 0.005 < ev["noise"] < 0.01  # the GP found the noise
    assert verdict.reason.startswith("regret bound ")
    assert "Makarova et al. 2022" in verdict.reason
    # journaled, with its evidence; nothing more is asked for
    notes = [r for r in journal.read("s") if isinstance(r, StopSearch)]
    assert notes == [StopSearch(verdict.reason, dict(ev))]
    assert study.ask() is None
    # replay reproduces the decision
    again = rung.Study.load("s", journal)
    assert again.engine.stopped == verdict
    # `rung ledger` shows the verdict and every number of its evidence
    text = render(ledger(study.spec, journal.read("s")), "s")
    assert f"stopped by the stop rule: {verdict.reason}" in text
    shown = next(ln for ln in text.splitlines() if ln.startswith("  evidence: "))
    assert f"regret_bound={ev['regret_bound']:.4g}" in shown
    assert shown.count("=") == len(ev)


@pytest.mark.parametrize(
    "f",
    [
        lambda i, p: p["x"] + p["y"],  # smooth: random search keeps finding lower corners
        lambda i, p: -math.exp(-((p["x"] - 0.7) ** 2 + (p["y"] - 0.2) ** 2) / 0.01),  # a needle
    ],
    ids=["linear", "needle"],
)
def test_does_not_stop_while_the_objective_still_improves(
    f: Callable[[int, dict[str, Any]], float],
) -> None:
    study = _ask_tell(f, 80)
    assert len(study.trials()) == 80
    assert study.engine.stopped is None


def test_min_trials_and_threshold() -> None:
    # a user threshold as large as the objective's range stops at min_trials exactly
    study = _ask_tell(lambda i, p: p["x"], 50, min_trials=12, threshold=10.0)
    assert len(study.trials()) == 12
    assert study.engine.stopped is not None
    assert study.engine.stopped.evidence["threshold"] == 10.0
    assert "<= threshold 10" in study.engine.stopped.reason


class _Bench:
    max_step = 3

    def evaluate(self, params: dict[str, Any], step: int) -> tuple[dict[str, float], float]:
        return {"loss": params["x"] + params["y"] + 1.0 / step}, 60.0


@pytest.mark.parametrize(("value", "trials"), [(1e-3, 10), (1e9, 30)])
def test_value_of_improvement_against_cost_per_trial(value: float, trials: int) -> None:
    """Each trial costs 3 steps x 60 s x 3600 per hour = 180; an improvement worth 1e-3 per
    unit is never worth that (stop at min_trials); one worth 1e9 always is."""
    study = rung.Study.create(
        "v", SPACE, objective="loss", searcher="random", scheduler="fifo", max_step=3,
        budget=rung.Budget(n_trials=30, stop={"name": "auto",
                                              "params": {"min_trials": 10, "value": value}}),
        prices={"cpu": 3600.0},
    )
    study.simulate(_Bench(), n_workers=1)
    assert len(study.trials()) == trials
    if value < 1:
        v = study.engine.stopped
        assert v is not None and v.evidence["cost_per_trial"] == pytest.approx(180.0)
        assert v.reason.startswith("expected improvement ")
    else:
        assert study.engine.stopped is None


def test_replay_takes_the_journaled_verdict() -> None:
    """Replay does not re-run the rule: a verdict whose evidence differs in its last bits from
    what this process computes (another BLAS, other threads) still replays, unchanged."""
    from dataclasses import replace

    journal = MemoryJournal()
    study = _ask_tell(lambda i, p: 1.0 + 0.01 * _noise(i), 200, journal)
    assert study.engine.stopped is not None
    records = journal.read("s")
    altered = MemoryJournal()
    altered.create_study("s", journal.load_study("s"))
    tweaked = [
        replace(r, evidence={k: v * (1 + 1e-15) for k, v in r.evidence.items()})
        if isinstance(r, StopSearch) else r
        for r in records
    ]
    altered.append("s", tweaked)
    again = rung.Study.load("s", altered)
    note = next(r for r in tweaked if isinstance(r, StopSearch))
    assert again.engine.stopped is not None
    assert dict(again.engine.stopped.evidence) == dict(note.evidence)
    assert again.ask() is None


def test_the_bound_is_in_the_objectives_units() -> None:
    """The GP sees standardized scores; its bound and parts are mapped back: an objective
    ``10 f + 3`` has ten times the bound, its confidence bounds moved to ``10 ucb + 3``, and the
    same model (lengthscales, beta, where the lower bound lies)."""
    def f(i: int, p: dict[str, Any]) -> float:
        return float((p["x"] - 0.3) ** 2 + p["y"] + 0.05 * _noise(i))

    base = _ask_tell(f, 30, threshold=0.0)
    scaled = _ask_tell(lambda i, p: 10.0 * f(i, p) + 3.0, 30, threshold=0.0)
    assert base.engine.stopped is None and scaled.engine.stopped is None
    a = stop_rule.assess(base, threshold=0.0)
    b = stop_rule.assess(scaled, threshold=0.0)
    assert a is not None and b is not None
    assert a["regret_bound"] == pytest.approx(a["ucb"] - a["lcb"]) and a["regret_bound"] > 0
    for k in ("regret_bound", "bound_noise", "signal_sd", "expected_improvement"):
        assert b[k] == pytest.approx(10.0 * a[k], rel=1e-6), k
    for k in ("ucb", "lcb", "best"):
        assert b[k] == pytest.approx(10.0 * a[k] + 3.0, rel=1e-6), k
    for k in ("lengthscale_min", "beta", "lcb_observed", "fitted", "trials"):
        assert b[k] == pytest.approx(a[k], rel=1e-6), k
    # the least lower bound (over the space) lies below the incumbent's score
    assert a["lcb"] < a["best"]


def test_the_bound_is_a_function_of_the_history() -> None:
    """No fit outlives its data: the running rule's evidence equals a new rule's (fitted now)
    at every check. From trial 20 to 40 the best half is ``min_trials`` (20) points, and an
    objective that improves with every trial replaces one of them per trial (a rule that kept
    its fit until the count grew decided on the first 20 trials' fit up to trial 49)."""
    def f(i: int, p: dict[str, Any]) -> float:
        return float(1.0 - 0.01 * i + 0.05 * (p["x"] - 0.5) ** 2 + 0.02 * p["y"])

    for n in (22, 25):
        study = _ask_tell(f, n, threshold=0.0)
        assert study.engine.stopped is None and len(study.trials()) == n
        rule = study.engine.stop_rule
        assert isinstance(rule, rung.StopRule)
        h = study.engine.history
        step = h.steps()[-1]
        running = stop_rule.evidence(h, step, rule)  # the rule that ran the checks
        fresh = stop_rule.assess(study, threshold=0.0)  # a new rule
        assert running is not None and fresh is not None
        assert running["fitted"] == fresh["fitted"] == 20.0
        assert running == fresh, n


def test_assess_prices_a_trial_as_the_engine_does_on_a_live_study() -> None:
    """``assess`` on a study with trials still running: ``cost_per_trial`` is the money spent
    so far over the runs that ended (``StopRequest.ended``), not over every run."""
    study = rung.Study.create(
        "live", SPACE, objective="loss", searcher="random", scheduler="fifo",
        budget=rung.Budget(n_trials=30), prices={"cpu": 3600.0},
    )
    running = []
    for i in range(22):
        t = study.ask()
        assert t is not None
        if i < 20:
            study.tell(t.id, "completed", {"loss": 0.5 + 0.1 * _noise(i)})
        else:
            running.append(t.id)
    led = study.ledger()
    assert led.by_outcome["completed"].runs == 20 and led.by_outcome["running"].runs == 2
    assert led.total.cost > 0
    ev = stop_rule.assess(study)
    assert ev is not None and ev["trials"] == 20.0
    assert ev["cost_per_trial"] == pytest.approx(led.total.cost / 20, rel=1e-12)


def _constrained(f: Callable[[dict[str, Any]], float], c: Callable[[dict[str, Any]], float],
                 n: int, **params: Any) -> rung.Study:
    study = rung.Study.create(
        "s", SPACE, objective="loss", searcher="random", scheduler="fifo",
        budget=rung.Budget(n_trials=n, stop=rung.StopRule(**params)), constraints=["c <= 0.5"],
    )
    while (t := study.ask()) is not None:
        p = dict(t.params)
        study.tell(t.id, "completed", {"loss": f(p), "c": c(p)})
    return study


def test_with_constraints_the_incumbent_is_the_best_feasible_result() -> None:
    # lower loss lies where the constraint c = y <= 0.5 fails: the bound is taken at the best
    # feasible result, not at the lowest loss
    study = _constrained(lambda p: p["x"] - p["y"], lambda p: p["y"], 50, min_trials=12,
                         threshold=10.0)
    assert study.engine.stopped is not None and len(study.trials()) == 12
    ev = study.engine.stopped.evidence
    losses = [(t.params["x"] - t.params["y"], t.params["y"]) for t in study.trials()]
    best_feasible = min(v for v, y in losses if y <= 0.5)
    assert min(v for v, _ in losses) < best_feasible  # the test has power
    assert ev["best"] == pytest.approx(best_feasible, abs=1e-12)


def test_with_constraints_and_no_feasible_result_the_rule_never_stops() -> None:
    # the same threshold stops an unconstrained study at min_trials; here nothing is feasible
    study = _constrained(lambda p: p["x"], lambda p: 1.0, 30, min_trials=12, threshold=10.0)
    assert len(study.trials()) == 30
    assert study.engine.stopped is None
