"""What ``rung plan`` says when one trial holds nothing (``resources={}``): the word, not a
blank."""

from __future__ import annotations

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
