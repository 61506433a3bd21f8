"""A live dashboard's trials table follows a paused trial its scheduler stops with no decision
record naming it (successive halving's losers when their rung completes, told "paused" without
a checkpoint): the row turns stopped, with that stop and the scheduler's reason as its
decision, as the overview counts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import rung

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.testclient import TestClient

from rung.dashboard import create_app


def test_rows_of_trials_stopped_while_paused_follow(tmp_path: Path) -> None:
    db = tmp_path / "sh.db"
    s = rung.Study.create("sh", {"x": rung.Float(0, 1)}, searcher="random",
                          scheduler="successive_halving", max_step=3,
                          budget=rung.Budget(n_trials=3), seed=0, storage=db)
    c = TestClient(create_app(db))
    for _ in range(2):
        t = s.ask()
        assert t is not None
        assert s.report(t.id, 1, {"loss": t.params["x"]}).action.value == "pause"
        s.tell(t.id, "paused")
    rows = c.get("/api/study/sh/trials").json()["rows"]
    assert [(r["trial_id"], r["status"]) for r in rows] == [(0, "paused"), (1, "paused")]
    t = s.ask()
    assert t is not None
    s.report(t.id, 1, {"loss": t.params["x"]})  # the rung completes: one goes on
    want = {x.id: x.status.value for x in s.trials()}
    assert sorted(want.values()) == ["running", "stopped", "stopped"]
    rows = c.get("/api/study/sh/trials").json()["rows"]
    assert {r["trial_id"]: r["status"] for r in rows} == want
    for r in rows:
        if r["status"] == "stopped":
            assert r["decision"] == "stop"
            assert re.fullmatch(r"bracket 0 rung 0 \(step 1\): rank [23]/3, not in the top 1",
                                r["reason"]), r["reason"]
    assert c.get("/api/study/sh").json()["by_status"] == {"running": 1, "stopped": 2}
