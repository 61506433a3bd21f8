"""The ledger page of a study deleted and created again under the same name shows the new
study, never the fold it kept of the old one (it rebuilt only when the journal got shorter:
re-created with as many records or more, it showed the old prices and money)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rung
from rung.dashboard import ledger as L


class _Bench:
    max_step = 3
    space = rung.SearchSpace({"x": rung.Float(0.0, 2.0)})

    def evaluate(self, params: dict[str, float], step: int) -> tuple[dict[str, float], float]:
        return {"loss": 1.0 / step + params["x"]}, 60.0


def _make(db: Path, n_trials: int, price: float, seed: int = 0) -> dict[str, Any]:
    """Delete the journal, create study ``d`` anew, run it; its ledger as ``rung ledger``
    folds it."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    study = rung.Study.create("d", _Bench.space, objective="loss", searcher="random",
                              scheduler="fifo", max_step=3, seed=seed, storage=db,
                              budget=rung.Budget(n_trials=n_trials), prices={"cpu": price})
    study.simulate(_Bench(), n_workers=1)
    study.close()
    out: dict[str, Any] = rung.Study.load("d", storage=db, readonly=True).ledger().to_json()
    return out


def _page(db: Path) -> dict[str, Any]:
    got = L.ledger_view(db, "d")
    return {k: v for k, v in got.items() if k not in ("name", "metric", "mode")}


@pytest.mark.parametrize("second", [20, 30], ids=["same-size", "longer"])
def test_a_recreated_study_is_folded_anew(tmp_path: Path, second: int) -> None:
    db = tmp_path / "d.db"
    L._CACHE.clear()
    first = _make(db, 20, 1.0)
    assert _page(db) == first
    assert first["prices"] == {"cpu": 1.0} and first["total"]["cost"] == pytest.approx(1.0)
    again = _make(db, second, 100.0)  # same seed: with 20 trials, the same records
    assert _page(db) == again  # the new prices, the new money, the new trials
    assert again["prices"] == {"cpu": 100.0}
    assert again["total"]["cost"] == pytest.approx(100.0 * second / 20)
    assert again["trials"] == second

