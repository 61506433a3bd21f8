"""What ``rung plan`` says when one trial holds nothing (``resources={}``): the word, not a
blank."""

from __future__ import annotations

import logging

import pytest
from planhelp import PowerLawBench, pilot

import rung
from rung.cli.plan import plan_text
from rung.errors import ConfigError


def test_a_trial_holding_nothing_is_named() -> None:
    study = pilot(PowerLawBench(max_step=3), n_trials=4)
    p = rung.plan(study, workers=[1], seeds=1, resources={}, prices={"cpu": 1.0},
                  budget={"n_trials": 2})
    assert p.resources == {} and p.rate == 0.0 and p.rows[0].cost == 0.0
    assert plan_text(p).splitlines()[1] == "cost: 0 per worker-hour; one trial holds nothing"
    with pytest.raises(ConfigError) as e:
        rung.plan(study, workers=[1], seeds=1, resources={}, prices={"cpu": 1.0},
                  budget={"max_cost": 1.0})
    assert str(e.value) == ("prices: the planned budget max_cost=1 would never be spent: one "
                            "trial (nothing) costs nothing under prices {'cpu': 1.0}")


def test_failures_of_the_simulated_runs_are_counted_not_printed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The pilot's trial_timeout (40 s) applies to the planned study: trials whose 9 steps of
    1 + 2x seconds take longer fail in the simulated runs too. The plan counts them per row;
    it printed one 'rung: trial N failed after step 7: timeout ...' line per failed trial of
    every simulated run."""
    from rung import Budget, Objective, Study

    bench = PowerLawBench(max_step=9, cost=lambda x: 2.0 + 6.0 * x)
    study = Study.create("t", bench.space, Objective("loss", "min"), searcher="random",
                         scheduler="fifo", max_step=9, budget=Budget(n_trials=8), seed=0,
                         trial_timeout=40.0)
    study.simulate(bench, n_workers=2)
    assert any(t.status.value == "failed" for t in study.trials())
    caplog.clear()
    with caplog.at_level(logging.INFO):
        p = rung.plan(study, workers=[1, 2], seeds=2, budget={"n_trials": 8})
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert all(r.failed > 0 for r in p.rows)
    line = plan_text(p).splitlines()[-1]
    assert line == ("failed trial runs per simulated run (median): " + ", ".join(
        f"{r.failed:g} with {r.workers} worker(s)" for r in p.rows)
        + "; the pilot's trial_timeout applies to the planned study")
