"""Prices and amounts, each finite, whose hourly rate overflows a float are refused where they
meet (``rung.core.pricing.check_rate``): ``Study.create``, a spec's ``rung run``, ``rung plan
--prices/--resources``; one line naming the price, exit code 2, nothing written. And ``rung
plan`` says, as ``rung ledger`` does, when the prices charge nothing a trial holds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plan"))
from planhelp import PowerLawBench, pilot

import rung
from rung.cli.main import main
from rung.core.pricing import check_rate
from rung.errors import ConfigError

WHY = ("is not a finite hourly rate (it overflows a float): price in larger units of money, "
       "or hold fewer devices")


def test_check_rate_names_the_price_it_overflows_at() -> None:
    assert check_rate({"cpu": 2.0, "gpu": 3.0}, {"cpu": 4.0, "gpu:T4": 1.0}) == 11.0
    with pytest.raises(ConfigError) as err:
        check_rate({"cpu": 1e308}, {"cpu": 2.0})
    assert str(err.value) == f"prices.cpu: 1e+308 per device-hour for cpu=2 a trial holds {WHY}"
    with pytest.raises(ConfigError) as err:  # each product finite, their sum not
        check_rate({"cpu": 1e308, "gpu": 1e308}, {"cpu": 1.0, "gpu:T4": 1.0})
    assert str(err.value) == ("prices.gpu: 1e+308 per device-hour for gpu:T4=1 a trial holds "
                              f"(with the devices before it) {WHY}")


def test_study_create_refuses_it_before_writing(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with pytest.raises(ConfigError) as err:
        rung.Study.create("s", rung.SearchSpace({"x": rung.Float(0.0, 1.0)}), "loss",
                          max_step=3, budget=rung.Budget(n_trials=3),
                          prices=rung.Prices({"cpu": 1e308}), resources_per_trial={"cpu": 2},
                          storage=db)
    assert str(err.value) == f"prices.cpu: 1e+308 per device-hour for cpu=2 a trial holds {WHY}"
    assert not db.exists()


@pytest.mark.parametrize("budget", ["{n_trials: 5}", "{max_cost: 1.0e+300}"])
def test_rung_run_refuses_the_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str], budget: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(
        "name: inf\nexecutor: simulated\nbenchmark: mf-branin\nsearcher: random\n"
        "scheduler: asha\nn_workers: 2\nprices: {cpu: 1e308}\nresources_per_trial: {cpu: 2}\n"
        f"budget: {budget}\n")
    assert main(["run", "s.yaml", "--no-live"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"rung: error: spec.prices.cpu: 1e+308 per device-hour for cpu=2 a trial holds {WHY}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    pilot(PowerLawBench(max_step=3, constant=1.0), storage=path).close()
    return path


def test_rung_plan_refuses_it(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(p.name for p in db.parent.iterdir())
    args = ["plan", "pilot", "--storage", str(db), "--workers", "1", "--seeds", "2"]
    assert main([*args, "--prices", "cpu=1e308", "--resources", "cpu=2"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"rung: error: --prices: prices.cpu: 1e+308 per device-hour for cpu=2 a trial holds "
        f"{WHY}"]
    assert sorted(p.name for p in db.parent.iterdir()) == files


def test_rung_plan_says_when_the_prices_charge_nothing_held(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    note = ("prices {'gpu': 1.0} charge none of what a trial holds (cpu=1): cost is 0 (the "
            "worker-hours are predicted)")
    args = ["plan", "pilot", "--storage", str(db), "--workers", "1", "--seeds", "2",
            "--prices", "gpu=1"]
    assert main(args) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"note: {note}"
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["notes"] == [note]
    assert main([*args[:-1], "cpu=1"]) == 0  # charged: no note
    assert "note: " not in capsys.readouterr().out
