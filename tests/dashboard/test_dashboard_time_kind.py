"""The overview says what the study's time measures, as ``rung show`` does
(``rung.time_kind``): a study run on the simulated executor has a simulated clock (its card
said "driver time", 26.6 s for a run of 0.1 s), one driven by ask / tell real seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.benchmarks import get_benchmark

pytest.importorskip("starlette")


def test_overview_says_what_its_time_measures(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from rung.dashboard.app import create_app

    sim = rung.Study.create("sim", get_benchmark("mf-branin", max_step=3).space,
                            objective="loss", max_step=3, searcher="random", scheduler="fifo",
                            budget=rung.Budget(n_trials=4), seed=0, storage=tmp_path / "sim.db")
    sim.simulate(get_benchmark("mf-branin", max_step=3), n_workers=2)
    sim.close()
    told = rung.Study.create("told", {"x": rung.Float(-1, 1)}, searcher="random",
                             scheduler="fifo", budget=rung.Budget(n_trials=2), seed=0,
                             storage=tmp_path / "told.db")
    while (t := told.ask()) is not None:
        told.tell(t.id, "completed", {"loss": t.params["x"] ** 2})
    told.close()
    c = TestClient(create_app(tmp_path))
    got = c.get("/api/study/sim").json()
    assert got["time_kind"] == "simulated" and got["elapsed"] > 0
    assert c.get("/api/study/told").json()["time_kind"] == "driver"
