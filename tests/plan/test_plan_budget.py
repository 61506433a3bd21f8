"""``rung.plan`` / ``rung plan`` on pilots with a money or GPU-hour budget, a stop rule or
resources reported by the executor; repeated worker counts; the help text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from planhelp import PowerLawBench, pilot

import rung
from rung import Budget, Objective, Study
from rung.cli.main import main
from rung.cli.plan import plan_text
from rung.errors import ConfigError
from rung.storage import MemoryJournal, SQLiteJournal


def _money_pilot(storage: Any = None) -> Study:
    """A FIFO pilot of 1-second steps (3 per trial) stopped by max_cost=60 at 3600 per
    CPU-hour: one money per second of a trial."""
    bench = PowerLawBench(max_step=3, constant=1.0)
    study = Study.create(
        "mc", bench.space, Objective("loss", "min"), searcher="random", scheduler="fifo",
        max_step=3, budget=Budget(max_cost=60.0), seed=0, prices={"cpu": 3600.0},
        storage=MemoryJournal() if storage is None else storage,
    )
    return study.simulate(bench, n_workers=2)


def test_the_planned_max_cost_is_charged_at_the_planned_prices() -> None:
    study = _money_pilot()
    assert study.engine.meter.cost == 61.0
    # at twice the price the same 60 buys half the work: 30 one-second steps on one worker;
    # on two workers one in-flight step each past the limit (2 x 1 s x 2 per second)
    p = rung.plan(study, workers=[1, 2], seeds=2, prices={"cpu": 7200.0})
    assert [r.wall_clocks for r in p.rows] == [(30.0, 30.0), (16.0, 16.0)]
    assert [r.cost for r in p.rows] == [60.0, 64.0]
    assert [r.steps for r in p.rows] == [30.0, 31.0]
    # at the pilot's own prices: 60 steps
    same = rung.plan(study, workers=[1], seeds=1)
    assert same.rows[0].wall_clock == 60.0 and same.rows[0].cost == 60.0


@pytest.mark.parametrize(("kwargs", "key", "needle"), [
    ({"prices": {"gpu": 2.0}}, "prices",
     "max_cost=60 would never be spent: one trial (cpu=1) costs nothing under prices "
     "{'gpu': 2.0}"),
    ({"resources": {"gpu:A100": 1}, "prices": {"cpu": 1.0}}, "prices",
     "one trial (gpu:A100=1) costs nothing"),
])
def test_a_planned_budget_that_is_never_spent_is_refused(
    kwargs: dict[str, Any], key: str, needle: str
) -> None:
    study = _money_pilot()
    with pytest.raises(ConfigError) as e:
        rung.plan(study, workers=[1], seeds=1, **kwargs)
    assert e.value.key == key and needle in str(e.value)


def test_a_gpu_hour_budget_without_a_gpu_is_refused() -> None:
    bench = PowerLawBench(max_step=2, constant=60.0)
    study = Study.create(
        "g", bench.space, Objective("loss", "min"), searcher="random", scheduler="fifo",
        max_step=2, budget=Budget(max_gpu_hours=0.2), seed=0,
        resources_per_trial={"gpu": 1}, storage=MemoryJournal(),
    ).simulate(bench, n_workers=1)
    with pytest.raises(ConfigError) as e:
        rung.plan(study, workers=[1], seeds=1, resources={"cpu": 4})
    assert e.value.key == "resources_per_trial"
    assert str(e.value) == ("resources_per_trial: the planned budget max_gpu_hours=0.2 would "
                            "never be spent: one trial (cpu=4) holds no GPU")
    # the pilot's own GPU: 0.2 h of 60-second steps, one step past it (12 x 60 s falls short
    # of 0.2 h by a rounding error), as the pilot itself ran
    ok = rung.plan(study, workers=[1], seeds=1)
    assert ok.rows[0].wall_clock == 780.0 and ok.rows[0].steps == 13.0
    assert study.engine.meter.gpu_hours == pytest.approx(780.0 / 3600, rel=1e-12)


def test_the_cli_refuses_a_never_spent_budget(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "m.db"
    _money_pilot(storage=db).close()
    before = len(SQLiteJournal(db, readonly=True).read("mc"))
    capsys.readouterr()
    assert main(["plan", "mc", "--storage", str(db), "--prices", "gpu=2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    # named by the option the user passed (it was the table's key, ``prices:``)
    assert err == ["rung: error: --prices: the planned budget max_cost=60 would never be "
                   "spent: one trial (cpu=1) costs nothing under prices {'gpu': 2.0}"]
    assert len(SQLiteJournal(db, readonly=True).read("mc")) == before


def test_resources_default_to_what_the_executor_reported() -> None:
    """The pilot's executor said each trial holds an A100 (the ledger charges it): the plan
    costs the A100, not the spec's one CPU."""
    from rung.executors.simulated import SimulatedExecutor

    bench = PowerLawBench(max_step=2, constant=360.0)
    study = Study.create(
        "r", bench.space, Objective("loss", "min"), searcher="random", scheduler="fifo",
        max_step=2, budget=Budget(n_trials=4), seed=0, storage=MemoryJournal(),
        prices={"cpu": 1.0, "gpu:A100": 10.0}, resources_per_trial={"cpu": 1},
    )
    study.run(lambda ctx: None, executor=SimulatedExecutor(
        bench, 2, resources_per_trial={"gpu:A100": 1}), progress=False)
    assert study.ledger().devices == pytest.approx({"gpu:A100": 0.8})
    p = rung.plan(study, workers=[2], seeds=1)
    assert dict(p.resources) == {"gpu:A100": 1.0} and p.rate == 10.0
    # 4 trials x 2 steps x 0.1 h on 2 workers: 0.4 h, 2 A100s at 10 per hour
    assert p.rows[0].wall_clock == pytest.approx(1440.0) and p.rows[0].cost == pytest.approx(8.0)
    given = rung.plan(study, workers=[2], seeds=1, resources={"cpu": 1})
    assert dict(given.resources) == {"cpu": 1.0} and given.rate == 1.0


def test_repeated_worker_counts_are_refused(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    study = pilot(PowerLawBench(max_step=2, constant=1.0), n_trials=3)
    with pytest.raises(ConfigError) as e:
        rung.plan(study, workers=[8, 1, 8])
    assert e.value.key == "workers" and str(e.value) == "workers: 8 given twice in [8, 1, 8]"
    db = tmp_path / "p.db"
    pilot(PowerLawBench(max_step=2, constant=1.0), n_trials=3, storage=db).close()
    capsys.readouterr()
    assert main(["plan", "pilot", "--storage", str(db), "--workers", "2,2"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "rung: error: --workers: 2 given twice in '2,2'"]


def test_the_header_names_the_stop_rule() -> None:
    bench = PowerLawBench(max_step=2, constant=1.0)
    study = Study.create(
        "s", bench.space, Objective("loss", "min"), searcher="random", scheduler="fifo",
        max_step=2, budget=Budget(n_trials=6, stop={"name": "auto", "params": {"every": 2}}),
        seed=0, storage=MemoryJournal(),
    ).simulate(bench, n_workers=2)
    text = plan_text(rung.plan(study, workers=[1], seeds=1))
    assert text.splitlines()[0] == ("plan for s: budget n_trials=6, stop=auto(every=2); 1 "
                                    "simulated run(s) per row, median [10%-90%]")


def test_help_names_the_interval(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["plan", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "%%" not in out
    assert "with an 80% prediction interval for one run ([10%-90%]: order statistics" in out


@pytest.mark.parametrize(("argv", "line"), [
    (["--seeds", "5000"], "--seeds: expected one integer in 1..1000, got '5000'"),
    (["--trials", "2.5"], "--trials: expected an integer > 0, got '2.5'"),
    (["--max-time", "inf"], "--max-time: expected a number of seconds > 0, got 'inf'"),
    (["--max-time", "nan"], "--max-time: expected a number of seconds > 0, got 'nan'"),
    (["--max-steps", "0"], "--max-steps: expected an integer > 0, got '0'"),
    (["--resources", "cpu=1,cpu=2"], "--resources: cpu given twice in 'cpu=1,cpu=2'"),
    (["--prices", "gpu=1,gpu=3"], "--prices: gpu given twice in 'gpu=1,gpu=3'"),
])
def test_bad_options_name_the_option(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     argv: list[str], line: str) -> None:
    db = tmp_path / "p.db"
    pilot(PowerLawBench(max_step=2, constant=1.0), n_trials=3, storage=db).close()
    capsys.readouterr()
    assert main(["plan", "pilot", "--storage", str(db), "--workers", "1", *argv]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"rung: error: {line}"]


def test_plan_to_frame_without_pandas_names_the_dataframe_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    p = rung.plan(pilot(PowerLawBench(max_step=2, constant=1.0), n_trials=3), workers=[1],
                  seeds=1)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError) as e:
        p.to_frame()
    assert str(e.value) == "Plan.to_frame needs pandas: pip install 'rung[dataframe]'"
