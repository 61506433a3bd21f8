"""Following a live study costs what is new, not the whole study again: the learning curves'
cut-offs read only the decisions appended since the last refresh (each refresh read every
decision's reason again), their stop and pause marks are those of the trials drawn; the workers
page asks the ledger only when new records arrived (it asked at every refresh, under the lock
the other pages wait for). The answers are the ones computed from scratch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import rung
from rung.dashboard import charts, data
from rung.dashboard import ledger as L
from rung.dashboard.workers import workers_page
from rung.journal_fold import decision_marks
from rung.plot._cutoffs import decision_cutoffs


def _grow(study: rung.Study, n: int) -> None:
    for _ in range(n):
        t = study.ask()
        assert t is not None
        for step in range(1, 10):
            d = study.report(t.id, step, {"loss": t.params["x"] + 1 / step})
            if d.action.value != "continue":
                study.tell(t.id, "stopped")
                break
        else:
            study.tell(t.id, "completed")


def _stops(snap: data.Snapshot) -> int:
    return sum(d.action in ("stop", "pause") for d in snap.fold.decisions)


def test_a_refresh_reads_only_the_new_decisions_and_asks_the_ledger_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "grow.db"
    s = rung.Study.create("grow", {"x": rung.Float(0, 1)}, objective="loss", searcher="random",
                          scheduler=rung.ASHA(reduction_factor=3), max_step=9, seed=4,
                          budget=rung.Budget(n_trials=200), storage=db)
    monkeypatch.setattr(charts, "MAX_CURVES", 12)  # draw a sample: the marks of those only
    monkeypatch.setattr(charts, "BEST_CURVES", 4)
    reasons: list[str] = []
    real_threshold = charts.threshold_value

    def counting_threshold(reason: str, objective: Any) -> float | None:
        reasons.append(reason)
        return real_threshold(reason, objective)

    monkeypatch.setattr(charts, "threshold_value", counting_threshold)
    asked: list[str] = []
    real_ledger = L.ledger_view

    def counting_ledger(path: Path, name: str) -> dict[str, Any]:
        asked.append(name)
        return real_ledger(path, name)

    monkeypatch.setattr(L, "ledger_view", counting_ledger)
    L._CACHE.clear()
    cat = data.Catalog(db, snapshots=False)
    stops = 0
    for n in (20, 5, 1, 30):
        _grow(s, n)
        del reasons[:], asked[:]
        curves = cat.view("grow", charts.curves)
        now = cat.view("grow", _stops)
        assert len(reasons) == now - stops  # the new stops and pauses only
        stops = now
        # what a fresh catalog computes from the whole journal, and the library's own folds
        fresh = data.Catalog(db, snapshots=False)
        assert json.dumps(fresh.view("grow", charts.curves)) == json.dumps(curves)
        assert cat.view("grow", charts.cutoffs) == fresh.view(
            "grow", lambda snap: decision_cutoffs(snap.history, snap.fold))
        drawn = {c["trial_id"] for c in curves["trials"]}
        assert 0 < len(drawn) <= 12
        assert sorted((m["trial_id"], m["step"], m["action"], m["reason"])
                      for m in curves["decisions"]) == sorted(
            (d.trial_id, d.step, d.action, d.reason)
            for d in fresh.view("grow", lambda snap: decision_marks(snap.history, snap.fold))
            if d.trial_id in drawn)
        # the workers page: the ledger is asked once for these records, then not again
        del asked[:]
        pages = [cat.view("grow", workers_page) for _ in range(3)]
        assert asked == ["grow"]
        assert pages[0] == pages[1] == pages[2]
        assert pages[0]["utilization"] == real_ledger(db, "grow")["utilization"]
    assert stops > 20
    s.close()
