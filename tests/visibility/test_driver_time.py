"""The dashboard's overview counts time as ``rung show`` and ``Budget.max_time`` do: driver
time summed over sessions (``Study.summary()["elapsed"]``), not the span from the first record
to the last, which takes in the hours a crashed study waited to be resumed; its throughput is
per driver time too."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.core.events import CapacityChanged, ResultReported, TrialEnded, TrialStarted
from rung.core.records import Outcome
from rung.driver import turn


def test_overview_time_is_driver_time(tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from rung.dashboard import create_app

    db = tmp_path / "g.db"
    s = rung.Study.create("gap", {"x": rung.Float(0, 1)}, searcher="random", scheduler="fifo",
                          max_step=3, budget=rung.Budget(n_trials=1), seed=0, storage=db)

    def feed(*events: object) -> None:
        for ev in events:
            turn(s.engine, s.journal, s.name, [ev])  # type: ignore[list-item]

    feed(CapacityChanged(1, 0.0, new_session=True), TrialStarted(0, 1.0),
         ResultReported(0, 1, {"loss": 0.5}, 2.0))
    # the driver dies; the study is resumed an hour later
    feed(CapacityChanged(0, 3600.0, new_session=True),
         TrialEnded(0, Outcome.INTERRUPTED, 3600.0, "the driver stopped while it ran"),
         CapacityChanged(1, 3600.0, new_session=True), TrialStarted(0, 3601.0),
         ResultReported(0, 2, {"loss": 0.4}, 3602.0), ResultReported(0, 3, {"loss": 0.3}, 3603.0),
         TrialEnded(0, Outcome.COMPLETED, 3603.0))
    summary = s.summary()
    s.close()
    # each session's clock runs from its first trial start: 1 s, then 2 s
    assert summary["elapsed"] == pytest.approx(3.0)
    o = TestClient(create_app(db)).get("/api/study/gap").json()
    assert o["elapsed"] == pytest.approx(summary["elapsed"])
    assert o["throughput"]["results_per_s"] == pytest.approx(3 / 3.0)
    assert o["throughput"]["trials_per_min"] == pytest.approx(60 * 1 / 3.0)
