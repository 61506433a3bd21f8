"""A simulated PBT or PB2 study says, once, what a stateless benchmark leaves out: a fork is
evaluated from its own params, its donor's trained state plays no part."""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest

from rung import ASHA, Budget, Float, Objective, SearchSpace, Study
from rung.executors import simulated
from rung.schedulers import PB2, PBT

SPACE = SearchSpace({"lr": Float(1e-4, 0.1, log=True)})


class Drift:
    """Accuracy grows with the step, best near lr = 0.01 (a stateless ``Benchmark``)."""

    name = "drift"
    space = SPACE
    max_step = 12
    metric = "acc"
    mode = "max"
    optimum = None

    def evaluate(self, params: dict[str, Any], step: int) -> tuple[dict[str, float], float]:
        return {"acc": step - 3 * (math.log10(params["lr"]) + 2) ** 2}, 1.0


def _simulate(scheduler: Any, name: str = "s") -> Study:
    study = Study.create(name, SPACE, objective=Objective("acc", "max"), searcher="random",
                         scheduler=scheduler, max_step=12, budget=Budget(n_trials=4), seed=0)
    return study.simulate(Drift(), n_workers=4)


@pytest.mark.parametrize("make", [PBT, PB2])
def test_a_simulated_pbt_study_warns_once(
    make: type[PBT], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(simulated, "_WARNED", set())
    with caplog.at_level(logging.WARNING, logger="rung.simulate"):
        _simulate(make(4, 4), "first")
        _simulate(make(4, 4), "second")
    notes = [r.getMessage() for r in caplog.records if r.name == "rung.simulate"]
    assert notes == [
        f"study first: {make.__name__} is simulated with a stateless benchmark: each fork's "
        "results are the benchmark's for the fork's explored hyperparameters as if it had "
        "trained with them from step 1; the donor's trained state (the checkpoint it copies) "
        "plays no part. The exploit and explore decisions, donors, lineage and budget are "
        "simulated as in a real run; the gain from copying a better member's weights is not."
    ]


def test_a_scheduler_without_forks_says_nothing(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(simulated, "_WARNED", set())
    with caplog.at_level(logging.WARNING, logger="rung.simulate"):
        _simulate(ASHA())
    assert not [r for r in caplog.records if r.name == "rung.simulate"]
