"""``rung plan NAME``: the table for a small simulated pilot, and bad inputs (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from planhelp import PowerLawBench, pilot

from rung.cli.main import main
from rung.cli.plan import parse_table
from rung.errors import ConfigError
from rung.storage import SQLiteJournal


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    pilot(PowerLawBench(max_step=3, constant=1.0), storage=path).close()
    return path


def test_prints_the_table(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["plan", "pilot", "--storage", str(db), "--workers", "1,2", "--seeds", "2",
                 "--trials", "4", "--prices", "cpu=3.6"])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == ("plan for pilot: budget n_trials=4; 2 simulated run(s) per row, "
                        "median [10%-90%]")
    assert lines[1] == "cost: 3.6 per worker-hour; one trial holds cpu=1"
    header = lines[3].split()
    assert header == ["workers", "wall-clock", "cost", "worker-hours", "utilization",
                      "regret", "trials"]
    one, two = lines[4].split(), lines[5].split()
    # 4 trials x 3 steps x 1 s: 12 s on one worker, 6 s on two; 0.012 either way
    assert one[:4] == ["1", "12s", "[12s-12s]", "0.012"]
    assert two[:4] == ["2", "6s", "[6s-6s]", "0.012"]
    assert one[6] == two[6] == "100%"
    assert "from 8 pilot trials: power-law curves" in out
    assert "step costs from the parameters (log-normal spread 0)" in out  # constant costs


def test_without_prices_costs_are_zero(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "pilot", "--storage", str(db), "--workers", "3", "--seeds", "1"]) == 0
    out = capsys.readouterr().out
    assert "budget n_trials=8" in out  # the pilot's own budget
    assert "no prices (cost 0" in out
    row = next(ln for ln in out.splitlines() if ln.startswith("3 "))
    assert row.split()[1:4] == ["9s", "[9s-9s]", "0"]


@pytest.mark.parametrize(("argv", "needle"), [
    (["--workers", "0"], "--workers"),
    (["--workers", "1,x"], "--workers"),
    (["--seeds", "1,2"], "--seeds"),
    (["--seeds", "-1"], "--seeds"),
    (["--prices", "cpu"], "--prices"),
    (["--prices", "cpu=abc"], "--prices"),
    (["--prices", "tpu=1"], "prices.tpu"),
    (["--resources", "cpu=-2"], "resources_per_trial.cpu"),
    (["--trials", "-3"], "--trials"),
    (["--max-time", "soon"], "--max-time"),
])
def test_bad_inputs_exit_2_naming_the_key(
    db: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    before = len(SQLiteJournal(db, readonly=True).read("pilot"))
    assert main(["plan", "pilot", "--storage", str(db), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rung: error: ") and needle in err
    assert len(err.strip().splitlines()) == 1
    assert len(SQLiteJournal(db, readonly=True).read("pilot")) == before  # nothing written


def test_unknown_study_exits_2(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "nope", "--storage", str(db)]) == 2
    assert "no study named 'nope'" in capsys.readouterr().err


def test_parse_table() -> None:
    assert parse_table("cpu=0.04, gpu:A100=3.2", "--prices") == {"cpu": 0.04, "gpu:A100": 3.2}
    with pytest.raises(ConfigError) as e:
        parse_table("cpu=inf", "--prices")
    assert e.value.key == "--prices"
