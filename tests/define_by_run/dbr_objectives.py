"""Define-by-run objectives that Ray workers import by module name (standard library only)."""

from __future__ import annotations

from typing import Any


def branching(trial: Any) -> None:
    opt = trial.suggest_categorical("opt", ["adam", "sgd"])
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    momentum = trial.suggest_float("momentum", 0.0, 0.9) if opt == "sgd" else 0.0
    for step in range(trial.start_step, trial.max_step + 1):
        trial.report(step, lr + momentum / step)
