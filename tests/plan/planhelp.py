"""Scripted benchmarks and pilots for the planner's tests (deterministic, virtual time)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import rung
from rung import Budget, Objective, Study
from rung.storage import MemoryJournal


class PowerLawBench:
    """``loss(x, s) = x + 0.5 * s ** -0.7`` (no noise) and steps that cost ``1 + 2x`` seconds
    each, or a constant when ``constant`` is set, or ``cost(x)`` when given: a deterministic
    benchmark."""

    name = "power-law"

    def __init__(self, max_step: int = 9, constant: float | None = None,
                 cost: Callable[[float], float] | None = None) -> None:
        self.space = rung.SearchSpace({"x": rung.Float(0.0, 1.0)})
        self.max_step = max_step
        self.metric = "loss"
        self.mode = "min"
        self.optimum = 0.0
        self.constant = constant
        self.cost = cost

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        x = float(params["x"])
        if self.cost is not None:
            return {"loss": x + 0.5 * step**-0.7}, self.cost(x)
        cost = self.constant if self.constant is not None else 1.0 + 2.0 * x
        return {"loss": x + 0.5 * step**-0.7}, cost


def pilot(
    bench: PowerLawBench,
    n_trials: int = 8,
    workers: int = 2,
    scheduler: Any = "fifo",
    storage: Any = None,
    name: str = "pilot",
    seed: int = 0,
) -> Study:
    """A finished pilot of ``n_trials`` random configurations on ``bench``."""
    study = Study.create(
        name, bench.space, Objective("loss", "min"), searcher="random", scheduler=scheduler,
        max_step=bench.max_step, budget=Budget(n_trials=n_trials), seed=seed,
        storage=MemoryJournal() if storage is None else storage,
    )
    return study.simulate(bench, n_workers=workers)
