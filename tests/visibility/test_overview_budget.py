"""The dashboard's overview shows every budget a study has, a money budget and a GPU-hour
budget too, spent as the engine meters them (``Study.summary()``); it showed only n_trials,
max_steps and max_time, so a study that a money budget would end showed no budget at all."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.benchmarks import MFBranin


def test_money_and_gpu_budgets_are_shown(tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from rung.dashboard import create_app

    db = tmp_path / "c.db"
    s = rung.Study.create("cost", {"x1": rung.Float(-5, 10), "x2": rung.Float(0, 15)},
                          objective="loss", searcher="random", scheduler="asha", max_step=9,
                          budget=rung.Budget(max_cost=0.5, max_gpu_hours=1.0),
                          prices=rung.Prices({"gpu:A100": 3.6}),
                          resources_per_trial={"gpu:A100": 1}, seed=0, storage=db)
    s.simulate(MFBranin(max_step=9, seconds_per_step=30.0), n_workers=2)
    summary = s.summary()
    s.close()
    assert summary["cost"] >= 0.5  # the money budget ended it
    budget = TestClient(create_app(db)).get("/api/study/cost").json()["budget"]
    assert budget == {
        "max_cost": {"used": pytest.approx(summary["cost"]), "limit": 0.5},
        "max_gpu_hours": {"used": pytest.approx(summary["gpu_hours"]), "limit": 1.0},
    }
