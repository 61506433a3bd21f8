"""Every page of the dashboard serves a study whatever its name: one holding a "/" (which
the page sends as %2F), spaces, non-ASCII letters, "?" and "#"."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

import rung

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.testclient import TestClient

from rung.dashboard import create_app

NAMES = ["runs/2024 lr", "with space", "ünïcode", "x?y#z"]


def test_pages_of_studies_with_any_name(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    for name in NAMES:
        s = rung.Study.create(name, {"x": rung.Float(0, 1)}, searcher="random",
                              scheduler="fifo", budget=rung.Budget(n_trials=2), storage=db)
        while (t := s.ask()) is not None:
            s.tell(t.id, "completed", {"loss": t.params["x"]})
        s.close()
    c = TestClient(create_app(db))
    assert [s["name"] for s in c.get("/api/studies").json()["studies"]] == NAMES
    for name in NAMES:
        base = "/api/study/" + quote(name, safe="")  # as the page's encodeURIComponent
        assert c.get(base).json()["name"] == name
        assert c.get(base + "/trials").json()["total"] == 2
        assert c.get(base + "/trial/1").json()["trial_id"] == 1
        assert c.get(base + "/trial/7").status_code == 404
        for page in ("curves", "parallel", "workers", "pareto"):
            assert c.get(f"{base}/{page}").status_code == 200, (name, page)
        assert c.get(base + "/ledger").json()["name"] == name
    assert c.get("/api/study/" + quote("runs/2024", safe="")).json() == {
        "error": "no study named 'runs/2024'"}
