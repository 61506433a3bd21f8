"""Every plan is bounded (``rung.planning.planner``'s limits): ``rung plan --trials 1e10``,
huge ``--workers`` or ``--seeds`` ran practically forever or exhausted memory. Past a limit:
one line naming the option and the limit, exit code 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from planhelp import PowerLawBench, pilot

import rung
from rung import Budget
from rung.cli.main import main
from rung.errors import ConfigError
from rung.planning import planner
from rung.storage import SQLiteJournal

#: 100 worker counts x 1,000 seeds: 100,000 runs, whose share of the plan's 200,000 trials
#: and 5,000,000 steps is 2 trials and 50 steps each
MANY = ["--workers", ",".join(str(w) for w in range(1, 101)), "--seeds", "1000"]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    pilot(PowerLawBench(max_step=3, constant=1.0), storage=path).close()
    return path


def test_the_limits_are_the_documented_ones() -> None:
    assert (planner.MAX_WORKERS, planner.MAX_WORKER_COUNTS, planner.MAX_SEEDS,
            planner.MAX_SIMULATED_TRIALS, planner.MAX_SIMULATED_STEPS,
            planner.MAX_PLAN_CPU_SECONDS) == (10_000, 100, 1_000, 200_000, 5_000_000, 300.0)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "cost.md").read_text()
    assert ("at most 10,000 workers per worker count, 100 worker counts and 1,000 seeds, and "
            "200,000 simulated trials and 5,000,000 simulated steps in all") in " ".join(
        docs.split())
    assert "5 minutes of CPU in all" in " ".join(docs.split())


def test_a_plan_past_its_cpu_stops_naming_the_searcher(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TPE pilot planned with 3,333 trials a run (within the trial limit) took 34 s a run,
    11 minutes for 20 runs: the trial and step limits bound the simulation, not the searcher."""
    from rung.planning import plan_inputs

    monkeypatch.setattr(plan_inputs, "MAX_PLAN_CPU_SECONDS", 0.0)
    before = len(SQLiteJournal(db, readonly=True).read("pilot"))
    assert main(["plan", "pilot", "--storage", str(db), "--trials", "50"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == (
        "rung: error: --trials: the plan's simulated runs passed 0 s of CPU, its limit (the "
        "random searcher's proposals cost more as the trials of a run accumulate; this run "
        "had 1): plan a smaller budget, fewer seeds or fewer worker counts\n")
    assert len(SQLiteJournal(db, readonly=True).read("pilot")) == before


@pytest.mark.parametrize(("argv", "line"), [
    (["--trials", "10000000000"],
     "--trials: 10,000,000,000 trials x 20 seed(s) x 3 worker count(s) is 600,000,000,000 "
     "simulated trials, past the limit of 200,000 per plan: plan fewer trials, seeds or worker "
     "counts"),
    (["--trials", "3334"],  # 3,333 x 60 runs is within the limit
     "--trials: 3,334 trials x 20 seed(s) x 3 worker count(s) is 200,040 simulated trials, "
     "past the limit of 200,000 per plan: plan fewer trials, seeds or worker counts"),
    (["--max-steps", "100000000000", "--seeds", "1", "--workers", "1"],
     "--max-steps: 100,000,000,000 steps x 1 seed(s) x 1 worker count(s) is 100,000,000,000 "
     "simulated steps, past the limit of 5,000,000 per plan: plan fewer steps, seeds or worker "
     "counts"),
    (["--workers", "1,1000000000"], "--workers: at most 10,000 workers, got 1,000,000,000"),
    (["--workers", "10001"], "--workers: at most 10,000 workers, got 10,001"),
    (["--workers", ",".join(str(w) for w in range(1, 102))],
     "--workers: at most 100 worker counts in one plan, got 101"),
    (["--seeds", "1001"], "--seeds: expected one integer in 1..1000, got '1001'"),
    (["--seeds", "10000000000"], "--seeds: expected one integer in 1..1000, got '10000000000'"),
    (MANY, "budget.n_trials (the pilot's; plan another with --trials): 8 trials x 1000 seed(s) "
     "x 100 worker count(s) is 800,000 simulated trials, past the limit of 200,000 per plan: "
     "plan fewer trials, seeds or worker counts"),
])
def test_past_a_limit_is_one_line_exit_2_before_the_pilot_is_fitted(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    argv: list[str], line: str,
) -> None:
    def never(study: object) -> None:
        raise AssertionError("the pilot was fitted")

    monkeypatch.setattr(planner, "fit_pilot", never)
    with SQLiteJournal(db, readonly=True) as j:  # closed: it leaves no -wal/-shm behind
        before = len(j.read("pilot"))
    files = sorted(p.name for p in db.parent.iterdir())
    assert main(["plan", "pilot", "--storage", str(db), *argv]) == 2
    assert capsys.readouterr() == ("", f"rung: error: {line}\n")
    assert sorted(p.name for p in db.parent.iterdir()) == files
    with SQLiteJournal(db, readonly=True) as j:
        assert len(j.read("pilot")) == before


def test_a_max_time_the_runs_would_never_end_stops_at_the_first_run_past_its_share(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(SQLiteJournal(db, readonly=True).read("pilot"))
    assert main(["plan", "pilot", "--storage", str(db), "--max-time", "1e300", *MANY]) == 2
    # refused in closed form, before any run is simulated (test_plan_huge_limits.py)
    assert capsys.readouterr() == ("", (
        "rung: error: --max-time: max_time=1e+300 allows about 1e+302 simulated steps a run "
        "(every step taking the pilot's slowest, 1 s, no worker idle), past 10 times a run's "
        "share of the plan's limit (50 of 5,000,000 steps): plan a max_time of at most about "
        "5 s with 100 worker(s), or an n_trials or max_steps\n"))
    assert len(SQLiteJournal(db, readonly=True).read("pilot")) == before


def test_the_python_api_names_its_keys() -> None:
    study = pilot(PowerLawBench(max_step=2, constant=1.0), n_trials=3)
    cases: list[tuple[dict[str, object], str, str]] = [
        ({"workers": [10**9]}, "workers", "at most 10,000 workers, got 1,000,000,000"),
        ({"seeds": 10**9}, "seeds", "must be an integer in 1..1000, got 1000000000"),
        ({"budget": Budget(n_trials=10**10), "workers": [1], "seeds": 1}, "budget.n_trials",
         "10,000,000,000 trials x 1 seed(s) x 1 worker count(s) is 10,000,000,000 simulated "
         "trials, past the limit of 200,000 per plan: plan fewer trials, seeds or worker "
         "counts"),
        ({"budget": Budget(max_time=1e300), "workers": list(range(1, 101)), "seeds": 1000},
         "budget.max_time", "max_time=1e+300 allows about 1e+302 simulated steps a run "
         "(every step taking the pilot's slowest, 1 s, no worker idle), past 10 times a run's "
         "share of the plan's limit (50 of 5,000,000 steps): plan a max_time of at most about "
         "5 s with 100 worker(s), or an n_trials or max_steps"),
    ]
    for kwargs, key, message in cases:
        with pytest.raises(ConfigError) as e:
            rung.plan(study, **kwargs)  # type: ignore[arg-type]
        assert (e.value.key, e.value.message) == (key, message)


def test_within_the_limits_a_plan_runs(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = rung.plan("pilot", storage=db, workers=[1], seeds=1, budget=Budget(n_trials=4))
    assert p.rows[0].trials == 4
    # 2 trials x 1,000 seeds x 100 worker counts: exactly the limit, accepted
    planner._check_size(Budget(n_trials=2), 1000, 100)
    with pytest.raises(ConfigError):
        planner._check_size(Budget(n_trials=3), 1000, 100)
