"""Rungs are drawn and named only for a scheduler that has them: FIFO, the median rule and PBT
decide at no rungs, so neither the learning curves (figure and dashboard) nor the dashboard's
overview show rung steps for them; ASHA's are shown."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.benchmarks import MFBranin

SPACE = {"x1": rung.Float(-5, 10), "x2": rung.Float(0, 15)}


def _study(name: str, scheduler: object, storage: object) -> rung.Study:
    s = rung.Study.create(name, SPACE, objective="loss", searcher="random",
                          scheduler=scheduler, max_step=27, budget=rung.Budget(n_trials=12),
                          seed=0, storage=storage)
    return s.simulate(MFBranin(max_step=27), n_workers=4)


WITHOUT = {"fifo": "fifo", "median": "median", "pbt": rung.PBT(perturbation_interval=3)}


@pytest.mark.parametrize("name", sorted(WITHOUT))
def test_no_rungs_drawn_for_a_scheduler_without_them(name: str) -> None:
    pytest.importorskip("matplotlib")
    from rung import plot as P

    ax = P.learning_curves(_study(name, WITHOUT[name], None)).axes[0]
    assert [a.get_gid() for a in ax.lines if (a.get_gid() or "").startswith("rung-")] == []
    assert "rung" not in ax.get_title()


def test_asha_rungs_are_drawn() -> None:
    pytest.importorskip("matplotlib")
    from rung import plot as P

    ax = P.learning_curves(_study("asha", rung.ASHA(reduction_factor=3), None)).axes[0]
    assert sorted(a.get_gid() for a in ax.lines if (a.get_gid() or "").startswith("rung-")) == [
        "rung-1", "rung-3", "rung-9"]


def test_dashboard_names_rungs_only_where_there_are(tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from rung.dashboard import create_app

    db = tmp_path / "r.db"
    for name, sched in WITHOUT.items():
        _study(name, sched, db).close()
    _study("asha", rung.ASHA(reduction_factor=3), db).close()
    c = TestClient(create_app(db))
    for name in WITHOUT:
        assert c.get(f"/api/study/{name}").json()["rung_steps"] == []
        assert c.get(f"/api/study/{name}/curves").json()["rung_steps"] == []
    assert c.get("/api/study/asha").json()["rung_steps"] == [1, 3, 9, 27]
    assert c.get("/api/study/asha/curves").json()["rung_steps"] == [1, 3, 9, 27]
