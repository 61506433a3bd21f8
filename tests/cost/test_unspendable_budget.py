"""A ``max_cost`` / ``max_gpu_hours`` the trials would never spend is refused from the Python
API as from a spec (``rung.core.pricing.check_spendable``, one check and one message): by
``Study.create`` when ``resources_per_trial`` is given, and by ``Study.run`` / ``simulate`` on an
executor that does not say what a trial holds. One line naming the key, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import rung
from rung.core.engine import Engine
from rung.errors import ConfigError
from rung.executors.simulated import SimulatedExecutor
from rung.storage import SQLiteJournal

NEVER_COST = ("budget.max_cost: would never be spent: a trial holds cpu=1 (no "
              "resources_per_trial: one CPU) and prices {'gpu:A100': 3.2} charge none of it")
NEVER_GPU = ("budget.max_gpu_hours: would never be spent: a trial holds cpu=1 (no "
             "resources_per_trial: one CPU); say what it holds, e.g. resources_per_trial: "
             "{gpu: 1}")


class Bench:
    max_step = 3

    def evaluate(self, params: dict[str, Any], step: int) -> tuple[dict[str, float], float]:
        return {"loss": params["x"] + 1.0 / step}, 60.0


def train(ctx: rung.TrialContext) -> None:
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=float(ctx.params["x"]) + 1.0 / step)


def _bounded(turns: int) -> Callable[[Engine], None]:
    """An ``on_turn`` that ends a run that would otherwise never end (before the fix)."""
    seen = [0]

    def on_turn(engine: Engine) -> None:
        seen[0] += 1
        if seen[0] > turns:
            raise AssertionError(f"still running after {turns} turns: "
                                 f"{len(engine.history)} trials, cost {engine.meter.cost}")

    return on_turn


def _study(db: Path, **kwargs: Any) -> rung.Study:
    return rung.Study.create("s", {"x": rung.Float(0.0, 1.0)}, objective="loss",
                             searcher="random", scheduler="fifo", max_step=3, storage=db,
                             **kwargs)


def _records(db: Path) -> int:
    with SQLiteJournal(db, readonly=True) as j:
        return len(list(j.read("s")))


def test_the_readme_fragment_is_refused_by_simulate(tmp_path: Path) -> None:
    """README's cost example: A100 prices and a money budget, no resources_per_trial."""
    db = tmp_path / "s.db"
    study = _study(db, prices=rung.Prices({"gpu:A100": 3.2}), budget=rung.Budget(max_cost=40))
    with pytest.raises(ConfigError) as e:
        study.simulate(Bench(), n_workers=2, on_turn=_bounded(2000))
    assert str(e.value) == NEVER_COST and e.value.key == "budget.max_cost"
    study.close()
    assert _records(db) == 0


def test_local_run_refuses_before_starting_a_worker(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    study = _study(db, prices={"gpu:A100": 3.2}, budget={"max_cost": 40})
    with pytest.raises(ConfigError) as e:
        study.run(train, executor="local", n_workers=1, progress=False, on_turn=_bounded(200))
    assert str(e.value) == NEVER_COST
    study.close()
    assert _records(db) == 0


def test_max_gpu_hours_without_resources_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    study = _study(db, budget=rung.Budget(max_gpu_hours=1))
    with pytest.raises(ConfigError) as e:
        study.simulate(Bench(), n_workers=2, on_turn=_bounded(2000))
    assert str(e.value) == NEVER_GPU and e.value.key == "budget.max_gpu_hours"
    with pytest.raises(ConfigError) as e:  # an executor instance that says nothing either
        study.run(train, executor=SimulatedExecutor(Bench(), 2), progress=False,
                  on_turn=_bounded(2000))
    assert str(e.value) == NEVER_GPU
    study.close()
    assert _records(db) == 0


def test_given_resources_are_checked_when_the_study_is_created(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with pytest.raises(ConfigError) as e:
        _study(db, prices={"gpu:A100": 3}, resources_per_trial={"cpu": 2},
               budget=rung.Budget(max_cost=1, n_trials=5))
    assert str(e.value) == ("budget.max_cost: would never be spent: a trial holds cpu=2 "
                            "(resources_per_trial) and prices {'gpu:A100': 3.0} charge none "
                            "of it")
    assert not db.exists()


def test_an_executor_that_says_what_a_trial_holds_spends_the_budget(tmp_path: Path) -> None:
    """The same README study on a simulated executor whose trials hold an A100: run, not
    refused, and it ends because the money is spent (60 s steps at 3.2/h; 2 workers)."""
    study = _study(tmp_path / "s.db", prices={"gpu:A100": 3.2},
                   budget=rung.Budget(max_cost=1.0))
    ex = SimulatedExecutor(Bench(), 2, resources_per_trial={"gpu:A100": 1})
    study.run(train, executor=ex, progress=False, on_turn=_bounded(2000))
    spent = study.engine.meter.cost
    assert 1.0 <= spent <= 1.0 + 2 * 60.0 / 3600 * 3.2 + 1e-9
    study.close()
