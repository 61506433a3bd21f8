"""The dashboard's JSON API and its incremental journal reading (no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.benchmarks import get_benchmark

pytest.importorskip("starlette")
pytest.importorskip("httpx")
pytest.importorskip("plotly")
from starlette.testclient import TestClient

from rung.dashboard import create_app
from rung.dashboard.data import Catalog


def _asha(db: Path, n_trials: int = 30) -> None:
    b = get_benchmark("mf-hartmann3")
    s = rung.Study.create("asha", b.space, objective=rung.Objective(b.metric, b.mode),
                          searcher="random", scheduler=rung.ASHA(reduction_factor=3),
                          max_step=b.max_step, budget=rung.Budget(n_trials=n_trials), seed=0,
                          storage=db)
    s.simulate(b, n_workers=3)
    s.close()


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    _asha(tmp_path / "a.db")
    s = rung.Study.create("mo", {"x": rung.Float(0, 1)}, objective=["a", "b"],
                          searcher="random", scheduler="fifo", budget=rung.Budget(n_trials=12),
                          storage=tmp_path / "b.db")
    while (t := s.ask()) is not None:
        s.tell(t.id, "completed", {"a": t.params["x"], "b": 1 - t.params["x"] ** 2})
    s.close()
    return TestClient(create_app(tmp_path))


def test_pages_and_api(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "/static/plotly.min.js" in page.text
    assert "cdn" not in page.text.lower()
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/../app.py").status_code == 404
    studies = client.get("/api/studies").json()["studies"]
    assert {s["name"] for s in studies} == {"asha", "mo"}
    ov = client.get("/api/study/asha").json()
    assert ov["trials"] == 30 and ov["budget"]["n_trials"] == {"used": 30, "limit": 30}
    assert ov["rung_steps"] == [1, 3, 9, 27] and ov["best_value"] is not None
    rows = client.get("/api/study/asha/trials").json()["rows"]
    assert len(rows) == 30
    stopped = [r for r in rows if r["status"] == "stopped"]
    assert stopped and all("not in the top" in r["reason"] for r in stopped)
    t = client.get(f"/api/study/asha/trial/{stopped[0]['trial_id']}").json()
    assert t["decisions"][-1]["action"] == "stop" and t["decisions"][-1]["reason"]
    assert t["results"][-1]["decision"] == "stop"
    cur = client.get("/api/study/asha/curves").json()
    assert len(cur["trials"]) == 30 and cur["cutoffs"] and len(cur["decisions"]) == len(stopped)
    w = client.get("/api/study/asha/workers").json()
    assert w["slots"] == 3 and len(w["runs"]) == 30 and 0 < w["utilization"] <= 1
    p = client.get("/api/study/mo/pareto").json()
    assert len(p["points"]) == 12 and p["front"]
    assert client.get("/api/study/asha/pareto").json()["points"] == []
    assert client.get("/api/study/nope").status_code == 404
    assert client.get("/api/study/asha/trial/999").status_code == 404


def test_catalog_follows_a_growing_journal_incrementally(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    s = rung.Study.create("g", {"x": rung.Float(0, 1)}, searcher="random",
                          scheduler=rung.ASHA(reduction_factor=2), max_step=4,
                          budget=rung.Budget(n_trials=20), storage=db)
    cat = Catalog(db)

    def work(n: int) -> None:
        for _ in range(n):
            t = s.ask()
            assert t is not None
            for step in range(1, 5):
                d = s.report(t.id, step, {"loss": t.params["x"] + 1 / step})
                if d.action.value != "continue":
                    s.tell(t.id, "stopped")
                    break
            else:
                s.tell(t.id, "completed")

    work(5)
    first = cat.snapshot("g")
    assert len(first.history) == 5 and first.live  # the writer holds the study
    engine = first.engine
    work(7)
    second = cat.snapshot("g")
    assert second.engine is engine and len(second.history) == 12  # the same engine, fed on
    full = rung.Study.load("g", db, readonly=True)
    assert [full.history.score(i) for i in full.history] == [
        second.history.score(i) for i in second.history]
    assert second.fold.n_records == len(full.journal.read("g"))
    full.close()
    s.close()
    assert not cat.snapshot("g").live
