"""The ledger page's answer while a study grows: folded incrementally, it equals the whole
journal's fold (``Study.ledger``) at every look, runs still going included, and a look reads
only the records appended since the last one (none for an idle study)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rung
from rung.dashboard import data
from rung.dashboard import ledger as L


def _grow(study: rung.Study, n: int, keep_running: bool = False) -> None:
    """Ask, report and tell ``n`` trials; the last one left running if ``keep_running``."""
    for i in range(n):
        t = study.ask()
        assert t is not None
        x = t.params["x"]
        for step in range(1, 4):
            d = study.report(t.id, step, {"loss": x + 1 / step})
            if keep_running and i == n - 1:
                return
            if d.action.value != "continue":
                study.tell(t.id, "stopped")
                break
        else:
            study.tell(t.id, "completed")


def test_incremental_ledger_equals_the_whole_fold(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "grow.db"
    s = rung.Study.create("grow", {"x": rung.Float(0, 1)}, objective="loss", searcher="random",
                          scheduler=rung.ASHA(reduction_factor=2), max_step=3,
                          budget=rung.Budget(n_trials=100), prices={"cpu": 3.0}, seed=1,
                          storage=db)
    read: list[int] = []
    real = data.read_records

    def counting(path: Path, name: str, after: int, limit: int) -> list[Any]:
        out = real(path, name, after, limit)
        read.append(len(out))
        return out

    monkeypatch.setattr(data, "read_records", counting)
    L._CACHE.clear()
    seen = 0
    for n, running in ((5, False), (7, True), (1, False), (9, False)):
        _grow(s, n, keep_running=running)
        total = sum(1 for _ in s.journal.read("grow"))
        got = L.ledger_view(db, "grow")
        want = rung.Study.load("grow", storage=db, readonly=True).ledger().to_json()
        assert {k: v for k, v in got.items() if k not in ("name", "metric", "mode")} == want
        assert (got["name"], got["metric"], got["mode"]) == ("grow", "loss", "min")
        assert sum(read) == total  # each record read once over all the looks
        assert read[-1] == total - seen  # this look read the new ones only
        seen = total
    # an idle study: answered without reading a record
    before = list(read)
    assert L.ledger_view(db, "grow") == got
    assert read == before
    s.close()
