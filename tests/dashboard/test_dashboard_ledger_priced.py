"""The ledger page's data says whether money measures the study (``priced``) by the rule
``rung ledger`` follows (``Ledger.priced``): prices that charge none of what the trials held
(prices for GPUs, trials on CPUs) make every amount 0, and both then speak in device-hours.
The page decided by the prices alone and showed a saving of 0 money."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.cli.ledger import render
from rung.dashboard import ledger as L


class _Bench:
    max_step = 9

    def evaluate(self, params: dict[str, float], step: int) -> tuple[dict[str, float], float]:
        return {"loss": params["x"] + 1.0 / step}, 30.0


def _study(path: Path, name: str, run: bool = True, **cost: object) -> rung.Study:
    study = rung.Study.create(name, {"x": rung.Float(0.0, 1.0)}, objective="loss",
                              searcher="random", scheduler=rung.ASHA(reduction_factor=3),
                              max_step=9, budget=rung.Budget(n_trials=9), storage=path, seed=3,
                              **cost)  # type: ignore[arg-type]
    if run:
        study.simulate(_Bench(), n_workers=3)
    return study


@pytest.mark.parametrize(("name", "cost", "run", "priced"), [
    ("gpu_prices_cpu_trials", {"prices": {"gpu": 2.0}, "resources_per_trial": {"cpu": 2}},
     True, False),
    ("no_prices", {}, True, False),
    ("gpu_prices_gpu_trials", {"prices": {"gpu": 2.0},
                               "resources_per_trial": {"cpu": 2, "gpu": 1}}, True, True),
    ("nothing_ran_yet", {"prices": {"cpu": 0.5}}, False, True),
])
def test_the_page_data_says_priced_as_rung_ledger_decides(
    tmp_path: Path, name: str, cost: dict[str, object], run: bool, priced: bool
) -> None:
    db = tmp_path / "cost.db"
    study = _study(db, name, run, **cost)
    led = study.ledger()
    study.close()
    L._CACHE.clear()
    got = L.ledger_view(db, name)
    assert got["priced"] is priced
    assert led.priced is priced and led.to_json()["priced"] is priced
    text = render(led, name)
    saving = next(ln for ln in text.splitlines() if ln.startswith("trained to max_step"))
    if priced:
        assert " would have cost " in saving
    else:
        assert " would have taken " in saving and saving.count("device-h") == 2


def test_prices_that_charge_nothing_held_leave_money_at_0_and_say_so(tmp_path: Path) -> None:
    db = tmp_path / "cost.db"
    _study(db, "cpu", prices={"gpu": 2.0}, resources_per_trial={"cpu": 2}).close()
    L._CACHE.clear()
    got = L.ledger_view(db, "cpu")
    assert got["prices"] == {"gpu": 2.0}
    assert got["total"]["cost"] == 0.0 and got["total"]["device_hours"] > 0.0
    assert got["full_cost"] == 0.0 and got["saving"] == 0.0  # what the page showed as money
    assert got["priced"] is False
    assert got["notes"] == ["prices {'gpu': 2.0} charge none of what the trials held (cpu): "
                            "money is 0 (device-hours are measured)"]
