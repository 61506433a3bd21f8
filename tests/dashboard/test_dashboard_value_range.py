"""The dashboard's learning curves leave far outliers on the bad side off the value axis, as
``rung plot`` does (``rung.bulk_range``): the curves JSON carries the range and the note the
page shows."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.testclient import TestClient

from rung.dashboard import create_app


def _study(db: Path, outlier: float | None) -> None:
    """20 trials of 3 steps, value x + 1/step; trial 5's results all ``outlier``."""
    s = rung.Study.create("o", {"x": rung.Float(0, 1)}, objective="loss", searcher="random",
                          scheduler="fifo", max_step=3, budget=rung.Budget(n_trials=20), seed=0,
                          storage=db)
    while (t := s.ask()) is not None:
        for step in (1, 2, 3):
            v = t.params["x"] + 1 / step
            s.report(t.id, step, {"loss": outlier if t.id == 5 and outlier is not None else v})
        s.tell(t.id, "completed")
    s.close()


def test_a_diverged_trial_is_left_above_the_curves_axis(tmp_path: Path) -> None:
    _study(tmp_path / "o.db", 1e6)
    d = TestClient(create_app(tmp_path)).get("/api/study/o/curves").json()
    vr = d["value_range"]
    values = [y for t in d["trials"] for y in t["y"] if y != 1e6]
    assert vr["left_out"] == 3 and vr["high"] < 10
    assert vr["low"] <= min(values) and vr["high"] >= max(values)
    assert vr["note"] == f"3 results above the axis (worse than {max(values):.4g})"


def test_without_outliers_the_page_keeps_its_own_range(tmp_path: Path) -> None:
    _study(tmp_path / "o.db", None)
    d = TestClient(create_app(tmp_path)).get("/api/study/o/curves").json()
    assert d["value_range"] is None
