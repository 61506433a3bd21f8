"""A planned ``max_time`` that ends every simulated run before any trial reports a step is
refused as the budget's fault: ``rung plan NAME --max-time 1e-300`` said "no trial produced the
objective metric 'loss'" with exit code 1, as if the pilot's study were broken."""

from __future__ import annotations

from pathlib import Path

import pytest
from planhelp import PowerLawBench, pilot

import rung
from rung import Budget
from rung.cli.main import main
from rung.errors import ConfigError
from rung.storage import SQLiteJournal

#: steps of 5 s: longer than the simulated executor's grace after max_time (1 s)
BENCH = PowerLawBench(max_step=3, constant=5.0)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    pilot(BENCH, storage=path).close()
    return path


def test_a_max_time_that_lets_nothing_finish_is_one_line_naming_the_option(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SQLiteJournal(db, readonly=True) as j:  # closed: it leaves no -wal/-shm behind
        before = len(j.read("pilot"))
    files = sorted(p.name for p in db.parent.iterdir())
    assert main(["plan", "pilot", "--storage", str(db), "--max-time", "1e-300"]) == 2
    assert capsys.readouterr() == ("", (
        "rung: error: --max-time: max_time=1e-300 s ends a simulated run before any trial "
        "reports its first step (1 worker(s), seed 0: 1 trial(s) started, none finished a "
        "step): plan a longer max_time\n"))
    assert sorted(p.name for p in db.parent.iterdir()) == files
    with SQLiteJournal(db, readonly=True) as j:
        assert len(j.read("pilot")) == before


def test_the_python_api_raises_it_keyed_budget_max_time(db: Path) -> None:
    with pytest.raises(ConfigError) as e:
        rung.plan("pilot", storage=db, workers=[4], seeds=1, budget=Budget(max_time=3.0))
    assert (e.value.key, e.value.message) == ("budget.max_time", (
        "max_time=3 s ends a simulated run before any trial reports its first step (4 "
        "worker(s), seed 0: 4 trial(s) started, none finished a step): plan a longer max_time"))


def test_a_max_time_that_lets_a_step_finish_still_plans(db: Path) -> None:
    p = rung.plan("pilot", storage=db, workers=[4], seeds=1, budget=Budget(max_time=6.0))
    assert p.rows[0].trials == 4 and p.rows[0].wall_clock == 7.0
