"""Every scheduler of issue 3, in every variant, passes the public conformance suite and touches
no clock and no global random state."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from random_world import SmallBench

import rung
from rung import Budget, Study
from rung.core.components import Scheduler
from rung.core.registry import lookup
from rung.schedulers import (
    ASHA,
    PB2,
    PBT,
    AsyncHyperband,
    Hyperband,
    MedianStoppingRule,
    SuccessiveHalving,
)
from rung.testing import check_scheduler, forbid_impurity

VARIANTS: dict[str, Callable[[], Scheduler]] = {
    "asha-stopping": lambda: ASHA(3),
    "asha-promotion": lambda: ASHA(3, variant="promotion"),
    "asha-stopping-guard": lambda: ASHA(2, min_step=2, guard=True),
    "asha-promotion-guard": lambda: ASHA(3, variant="promotion", guard=True),
    "successive-halving": lambda: SuccessiveHalving(3),
    "successive-halving-small": lambda: SuccessiveHalving(2, 3, n_configs=5, iterations=3),
    "hyperband": lambda: Hyperband(3),
    "hyperband-guard": lambda: Hyperband(2, guard=True),
    "async-hyperband": lambda: AsyncHyperband(3),
    "async-hyperband-promotion-guard": lambda: AsyncHyperband(
        3, variant="promotion", guard=True
    ),
    "median": lambda: MedianStoppingRule(),
    "median-strict": lambda: MedianStoppingRule(4, 1),
    "pbt": lambda: PBT(),
    "pbt-small": lambda: PBT(3, 2, 0.5, 1.0),
    "pb2": lambda: PB2(),
    "pb2-small": lambda: PB2(3, 2, 0.5, 1.0),
}


#: variants whose conformance run takes seconds (PB2 fits a GP at every exploit: about 6 s)
SLOW = {"pb2", "pb2-small"}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in sorted(VARIANTS)]
)
def test_conformance(name: str) -> None:
    check_scheduler(VARIANTS[name])


@pytest.mark.parametrize(
    "name", ["asha", "hyperband", "successive_halving", "async_hyperband", "median", "pbt", "pb2"]
)
def test_registered_by_name_and_built_from_a_spec(name: str) -> None:
    cls = lookup("scheduler", name)
    study = Study.create("n", SmallBench(9).space, "loss", scheduler={"name": name},
                         max_step=9, budget=Budget(n_trials=10, max_steps=200))
    assert isinstance(study.engine.scheduler, cls)
    assert getattr(rung, cls.__name__) is cls  # exported from rung


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_no_clock_and_no_global_rng(name: str) -> None:
    study = Study.create("p", SmallBench(9).space, "loss", scheduler=VARIANTS[name](),
                         max_step=9, budget=Budget(n_trials=30, max_steps=300), seed=3)
    with forbid_impurity():
        study.simulate(SmallBench(9), n_workers=5)
    assert study.best_trial is not None
