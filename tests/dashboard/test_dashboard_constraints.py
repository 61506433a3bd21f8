"""The overview names the study's constraints (its best trial is the best feasible one)."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung

pytest.importorskip("starlette")


def test_overview_names_the_constraints(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from rung.dashboard.app import create_app

    for name, cons in (("con", ["mem >= 0.5", "lat <= 2.5e-3"]), ("free", [])):
        s = rung.Study.create(name, {"x": rung.Float(-1, 1)}, searcher="random",
                              scheduler="fifo", budget=rung.Budget(n_trials=10), seed=0,
                              constraints=cons, storage=tmp_path / f"{name}.db")
        while (t := s.ask()) is not None:
            x = t.params["x"]
            s.tell(t.id, "completed", {"loss": x * x, "mem": abs(x), "lat": 0.0})
        s.close()
    c = TestClient(create_app(tmp_path))
    assert c.get("/api/study/con").json()["constraints"] == ["mem >= 0.5", "lat <= 0.0025"]
    assert c.get("/api/study/free").json()["constraints"] == []
