"""The dashboard's trials table says why a failed trial failed: the line of its error that
names the exception (the detail page keeps the whole traceback), and the filter finds it."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.testclient import TestClient

from rung.dashboard import create_app

TRACEBACK = """Traceback (most recent call last):
  File "train.py", line 12, in train
    loss = model.fit(x)
ValueError: shapes (3,4) and (5,) not aligned
"""


def test_failed_trials_show_their_error_in_the_table(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    s = rung.Study.create("f", {"x": rung.Float(0, 1)}, searcher="random", scheduler="fifo",
                          max_step=3, budget=rung.Budget(n_trials=3), storage=db)
    for i in range(3):
        t = s.ask()
        assert t is not None
        s.report(t.id, 1, {"loss": t.params["x"]})
        if i == 1:
            s.tell(t.id, "failed", error=TRACEBACK)
        else:
            s.tell(t.id, "completed", {"loss": t.params["x"]})
    s.close()
    c = TestClient(create_app(db))
    d = c.get("/api/study/f/trials").json()
    assert "error" in d["columns"]
    assert [r["error"] for r in d["rows"]] == [
        None, "ValueError: shapes (3,4) and (5,) not aligned", None]
    found = c.get("/api/study/f/trials?q=valueerror").json()
    assert [r["trial_id"] for r in found["rows"]] == [1]
    assert c.get("/api/study/f/trial/1").json()["error"] == TRACEBACK
