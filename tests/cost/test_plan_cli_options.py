"""``rung plan --json`` and ``Plan.to_json``; bad ``--prices`` / ``--resources`` / ``--seeds``
name the option (one line, exit 2, nothing written); a planned budget without a limit says
which limits there are."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plan"))
from planhelp import PowerLawBench, pilot

import rung
from rung.cli.main import main
from rung.errors import ConfigError
from rung.storage import SQLiteJournal


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    pilot(PowerLawBench(max_step=3, constant=1.0), storage=path).close()
    return path


def test_plan_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """4 trials x 3 steps x 1 s: 12 s on one worker, 6 s on two; 3.6 per CPU-hour: 0.012."""
    assert main(["plan", "pilot", "--storage", str(db), "--workers", "1,2", "--seeds", "2",
                 "--trials", "4", "--prices", "CPU=3.6", "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert data["study"] == "pilot" and data["seeds"] == 2 and data["priced"] is True
    assert data["budget"]["n_trials"] == 4
    assert data["resources"] == {"cpu": 1.0} and data["rate"] == pytest.approx(3.6)
    assert data["pilot_trials"] == 8 and set(data["prior"]) >= {"log_alpha", "noise"}
    assert [r["workers"] for r in data["rows"]] == [1, 2]
    one, two = data["rows"]
    assert one["wall_clocks"] == pytest.approx([12.0, 12.0])
    assert two["wall_clocks"] == pytest.approx([6.0, 6.0])
    assert one["cost"] == pytest.approx(0.012) and two["cost"] == pytest.approx(0.012)
    assert one["utilization"] == pytest.approx(1.0) and one["trials"] == 4


def test_to_json_writes_a_non_finite_number_as_null(db: Path) -> None:
    p = rung.plan("pilot", storage=db, workers=[1], seeds=1, budget=rung.Budget(n_trials=2))
    row = dataclasses.replace(p.rows[0], regret=math.nan, regret_low=math.inf)
    data = dataclasses.replace(p, rows=(row,)).to_json()
    assert data["rows"][0]["regret"] is None and data["rows"][0]["regret_low"] is None
    json.dumps(data, allow_nan=False)


@pytest.mark.parametrize(("argv", "line"), [
    (["--prices", "tpu=1"], "--prices: prices.tpu: unknown device (use 'cpu', 'gpu' or "
     "'gpu:<TYPE>', e.g. 'gpu:A100'; a type is letters, digits and _ . -)"),
    (["--prices", "cpu=1,CPU=2"], "--prices: prices.CPU: device 'cpu' given twice"),
    (["--prices", "cpu=-1"], "--prices: prices.cpu: must be a finite number >= 0, got -1.0"),
    (["--resources", "fpga=1"], "--resources: resources_per_trial.fpga: unknown device (use "
     "'cpu', 'gpu' or 'gpu:<TYPE>', e.g. 'gpu:A100'; a type is letters, digits and _ . -)"),
    (["--seeds", "0"], "--seeds: expected one integer in 1..1000, got '0'"),
    (["--seeds", "2.5"], "--seeds: expected one integer in 1..1000, got '2.5'"),
    (["--seeds", "x"], "--seeds: expected one integer in 1..1000, got 'x'"),
    (["--workers", "0"], "--workers: expected positive integers, got '0'"),
    (["--workers", "1.5"], "--workers: expected positive integers, got '1.5'"),
])
def test_bad_options_name_the_option(
    db: Path, capsys: pytest.CaptureFixture[str], argv: list[str], line: str
) -> None:
    before = len(SQLiteJournal(db, readonly=True).read("pilot"))
    files = sorted(p.name for p in db.parent.iterdir())
    assert main(["plan", "pilot", "--storage", str(db), *argv]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"rung: error: {line}"]
    assert len(SQLiteJournal(db, readonly=True).read("pilot")) == before
    assert sorted(p.name for p in db.parent.iterdir()) == files


def test_a_planned_budget_without_a_limit_names_every_limit(db: Path) -> None:
    with pytest.raises(ConfigError) as e:
        rung.plan("pilot", storage=db, workers=[1], seeds=1, budget={"stop": "auto"})
    assert str(e.value) == ("budget: the planned study needs a limit (n_trials, max_time, "
                            "max_steps, max_cost or max_gpu_hours): give "
                            "budget=rung.Budget(n_trials=...)")
