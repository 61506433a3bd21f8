"""The dashboard's overview says when the stop rule (``Budget.stop``) ended the search, with
its journaled reason, as ``rung show`` and ``rung ledger`` do: it showed "n_trials 6 / 200, 3%
spent" and nothing else, as if the study had been interrupted."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.benchmarks import MFBranin


def test_overview_says_the_stop_rule_ended_it(tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from rung.dashboard import create_app

    db = tmp_path / "s.db"
    s = rung.Study.create("stop", {"x1": rung.Float(-5, 10), "x2": rung.Float(0, 15)},
                          objective="loss", searcher="random", scheduler="asha", max_step=9,
                          budget=rung.Budget(n_trials=200,
                                             stop=rung.StopRule(min_trials=5, threshold=1e6)),
                          seed=0, storage=db)
    s.simulate(MFBranin(max_step=9), n_workers=2)
    reason = s.summary()["stopped"]
    s.close()
    assert reason is not None and reason.startswith("regret bound ")
    c = TestClient(create_app(db))
    assert c.get("/api/study/stop").json()["stopped"] == reason
    assert 'the stop rule ended the search: ${esc(s.stopped)}' in c.get("/static/app.js").text


def test_overview_of_a_study_its_budget_ended(tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from rung.dashboard import create_app

    db = tmp_path / "b.db"
    s = rung.Study.create("b", {"x": rung.Float(0, 1)}, searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=2), storage=db)
    while (t := s.ask()) is not None:
        s.tell(t.id, "completed", {"loss": t.params["x"]})
    s.close()
    assert TestClient(create_app(db)).get("/api/study/b").json()["stopped"] is None
