"""A planned budget so large that its runs would pass their share of the plan's limits many
times over (``--max-time 1e300``, ``max_cost=1e308``) is refused in closed form, before
anything is simulated: one line naming the key and about the largest value a plan takes,
exit code 2. Before, the runs were simulated until one passed its share or the plan its CPU
limit (five minutes with TPE)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from planhelp import PowerLawBench, pilot

from rung.cli.main import main
from rung.errors import ConfigError
from rung.planning import plan, planner


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    pilot(PowerLawBench(max_step=3, constant=2.0), storage=path).close()
    return path


@pytest.fixture
def no_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a simulated run was started")

    monkeypatch.setattr(planner, "simulate_once", refuse)


@pytest.mark.parametrize(("value", "steps"), [("1e300", "about 4e+300"),
                                              ("1e308", "more than a float counts of")])
def test_a_huge_max_time_is_refused_before_simulating(
    db: Path, capsys: pytest.CaptureFixture[str], no_simulation: None, value: str, steps: str
) -> None:
    args = ["plan", "pilot", "--storage", str(db), "--workers", "1,8", "--seeds", "2",
            "--max-time", value]
    assert main(args) == 2
    # slowest step 2 s, 8 workers: 4 steps a second; share 5e6 / 4 runs = 1,250,000 steps
    assert capsys.readouterr().err.strip().splitlines() == [
        f"rung: error: --max-time: max_time={float(value):g} allows {steps} simulated steps "
        "a run (every step taking the pilot's slowest, 2 s, no worker idle), past 10 times a "
        "run's share of the plan's limit (1,250,000 of 5,000,000 steps): plan a max_time of "
        "at most about 3.12e+06 s with 8 worker(s), or an n_trials or max_steps"]


def test_inf_is_refused_as_not_a_number_of_seconds(db: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "pilot", "--storage", str(db), "--max-time", "inf"]) == 2
    assert capsys.readouterr().err.strip() == (
        "rung: error: --max-time: expected a number of seconds > 0, got 'inf'")


@pytest.mark.parametrize(("budget", "line"), [
    ({"max_cost": 1e300}, "budget.max_cost: max_cost=1e+300 allows about 1.8e+303 simulated "
     "steps a run"),
    ({"max_cost": 1e308}, "budget.max_cost: max_cost=1e+308 allows more than a float counts of "
     "simulated steps a run"),
    ({"max_gpu_hours": 1e300}, "budget.max_gpu_hours: max_gpu_hours=1e+300 allows about "
     "1.8e+303 simulated steps a run"),
])
def test_huge_money_and_gpu_budgets_are_refused_before_simulating(
    db: Path, no_simulation: None, budget: dict[str, float], line: str
) -> None:
    with pytest.raises(ConfigError) as err:
        plan("pilot", storage=db, workers=[1], seeds=2, budget=budget,
             prices={"gpu": 1.0}, resources={"gpu": 1})
    assert str(err.value).startswith(line)


def test_a_large_budget_within_the_margin_is_simulated(db: Path) -> None:
    # 600 s on 8 workers at 2 s a step is at most 2,400 steps a run: simulated as before
    p = plan("pilot", storage=db, workers=[8], seeds=2, budget={"max_time": 600.0})
    assert p.rows[0].steps > 0 and p.rows[0].wall_clock <= 600.0 + 2 * 2.0
