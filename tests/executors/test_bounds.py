"""Issue 15: every run is bounded. ``max_time`` ends a run whose objective hangs (within
``max_time`` + 5 s), ``trial_timeout`` kills one trial run, both on real workers and on the
simulated executor's virtual clock; ``max_steps`` is overshot by at most one step per worker.
Wall-clock assertions here are bounds, never speeds."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import objectives
import pytest

import rung
from rung import Budget, Float, Objective, Study, TrialStatus
from rung.errors import RunFailed
from rung.executors.pool import MAX_TIME_GRACE

FAST = "fork"


def make(tmp_path: Path | None, n: int | None = None, max_step: int = 3,
         budget: Budget | None = None, **kw: Any) -> Study:
    space: dict[str, Any] = {"x": Float(0.0, 1.0)}
    return Study.create("b", space, Objective("loss"), searcher="random", scheduler="fifo",
                        max_step=max_step, budget=budget or Budget(n_trials=n), seed=1,
                        storage=None if tmp_path is None else tmp_path / "b.db", **kw)


def test_a_hung_objective_ends_within_max_time(tmp_path: Path) -> None:
    study = make(tmp_path, budget=Budget(n_trials=10, max_time=2.0))
    t0 = time.monotonic()
    with pytest.raises(RunFailed) as e:
        study.run(objectives.hang_forever, n_workers=2, start_method=FAST)
    assert time.monotonic() - t0 <= 2.0 + 5.0
    # the budget's time ended every trial, not the objective (it said "2 of 2 trials failed")
    assert str(e.value).startswith(
        "no trial produced the objective metric 'loss' before the budget's max_time (2 s) "
        "ended the run: 2 trials were cut by it before a first result (a step takes longer "
        "than that: raise Budget.max_time)")
    trials = study.trials()
    assert len(trials) == 2  # no launch after max_time
    for t in trials:
        assert t.status is TrialStatus.FAILED
        assert t.error == (f"timeout: still running {MAX_TIME_GRACE:g} s after max_time "
                           "(2 s) was reached")


def test_a_hung_cli_run_exits_1_within_max_time(tmp_path: Path) -> None:
    import subprocess
    import sys

    spec = tmp_path / "spec.yaml"
    here = Path(__file__).resolve().parent
    spec.write_text(
        "name: hung\nobjective: objectives:hang_forever\n"
        f"path: {here}\n"
        "space:\n  x: {type: float, low: 0.0, high: 1.0}\n"
        "metric: loss\nsearcher: random\nscheduler: fifo\n"
        "budget: {n_trials: 10, max_time: 2}\nn_workers: 2\n"
        f"storage: {tmp_path / 'hung.db'}\n"
    )
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "rung.cli", "run", str(spec), "--no-live"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    took = time.monotonic() - t0
    assert p.returncode == 1, p.stderr
    assert "no trial produced the objective metric 'loss'" in p.stderr
    assert p.stderr.count("failed before its first report: timeout") == 2
    assert "Traceback" not in p.stderr
    # spawned workers' start-up (imports) is not counted by max_time; bound it generously
    assert took <= 2.0 + 5.0 + 30.0


def test_trial_timeout_kills_one_run_and_the_search_goes_on(tmp_path: Path) -> None:
    study = make(tmp_path, 4, trial_timeout=1.5)
    t0 = time.monotonic()
    study.run(objectives.hang_odd, n_workers=2, start_method=FAST)
    assert time.monotonic() - t0 <= 2 * 1.5 + 5.0
    for t in study.trials():
        if t.id % 2:
            assert t.status is TrialStatus.FAILED
            assert t.error == "timeout: trial_timeout of 1.5 s reached"
            assert [r.step for r in t.results] == [1]
        else:
            assert t.status is TrialStatus.COMPLETED
    study.close()
    again = Study.load("b", tmp_path / "b.db")  # persisted with the spec
    assert again.spec.trial_timeout == 1.5


class SlowForOdd:
    """Steps take 1 virtual second, 10 for odd x-buckets."""

    max_step = 27

    def evaluate(self, params: Any, step: int) -> tuple[dict[str, float], float]:
        x = float(params["x"])
        return {"loss": x}, 10.0 if x > 0.5 else 1.0


def test_simulated_trial_timeout_on_the_virtual_clock() -> None:
    study = make(None, 12, max_step=5, trial_timeout=20.0)
    study.simulate(SlowForOdd(), n_workers=3)
    for t in study.trials():
        if float(t.params["x"]) > 0.5:
            assert t.status is TrialStatus.FAILED
            assert t.error == "timeout: trial_timeout of 20 s reached"
            # step 2 would end at 20 s too: the deadline, scheduled first, wins the tie
            assert [r.step for r in t.results] == [1]
        else:
            assert t.status is TrialStatus.COMPLETED


def test_simulated_max_time_is_a_hard_bound() -> None:
    study = make(None, budget=Budget(max_time=35.0), max_step=5)
    study.simulate(SlowForOdd(), n_workers=2)
    ex = study.last_executor
    assert ex.now() <= 35.0 + MAX_TIME_GRACE
    ends = {t.status for t in study.trials()}
    assert TrialStatus.LAUNCHED not in ends and TrialStatus.RUNNING not in ends


@pytest.mark.parametrize("n_workers", [1, 4, 16])
def test_max_steps_overshoot_is_at_most_one_step_per_worker(n_workers: int) -> None:
    study = Study.create("s", {"x": Float(0.0, 1.0)}, "loss", searcher="random",
                         scheduler=rung.ASHA(reduction_factor=3), max_step=27,
                         budget=Budget(max_steps=500), seed=3)
    study.simulate(SlowForOdd(), n_workers=n_workers)
    consumed = study.history.steps_consumed
    assert 500 <= consumed <= 500 + n_workers


class TenSecondSteps:
    """Every step takes 10 virtual seconds."""

    max_step = 5

    def evaluate(self, params: Any, step: int) -> tuple[dict[str, float], float]:
        return {"loss": float(params["x"]) / step}, 10.0


def test_trials_cut_by_max_time_after_reporting_do_not_fail_the_run() -> None:
    # both trials report steps 1 and 2 (at 10 s and 20 s) and are killed at 26 s, in step 3
    study = make(None, budget=Budget(max_time=25.0), max_step=5)
    study.simulate(TenSecondSteps(), n_workers=2)  # no RunFailed: results were produced
    trials = study.trials()
    assert len(trials) == 2
    for t in trials:
        assert t.status is TrialStatus.FAILED  # the cut itself is still reported as such
        assert t.error is not None and t.error.startswith("timeout: still running")
        assert [r.step for r in t.results] == [1, 2]
    assert study.best_trial is not None and study.best_trial.results[-1].step == 2


@pytest.mark.parametrize("max_failures", [1, 0.5])
def test_trials_cut_by_max_time_do_not_count_toward_max_failures(
    max_failures: float
) -> None:
    # the two trials are cut at 26 s, in step 3: the budget ended, neither failed by itself
    study = make(None, budget=Budget(max_time=25.0), max_step=5, max_failures=max_failures)
    study.simulate(TenSecondSteps(), n_workers=2)  # no RunFailed
    assert [t.status for t in study.trials()] == [TrialStatus.FAILED] * 2
    # a trial that fails by itself still counts
    with pytest.raises(RunFailed, match=r"^1 trial failed in this run \(max_failures=1\)"):
        make(None, n=3, max_failures=1).simulate(FailsFirst(), n_workers=1)


class FailsFirst:
    """Every trial fails at its first step (a NaN loss)."""

    max_step = 3

    def evaluate(self, params: Any, step: int) -> tuple[dict[str, float], float]:
        return {"loss": float("nan")}, 1.0


def test_a_wall_clock_jump_times_no_trial_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """trial_timeout and max_time's grace are measured on the monotonic clock: an NTP step
    or a laptop waking from suspend moves the wall clock by an hour, and every running
    trial was killed as timed out ('timeout: trial_timeout of 30 s reached')."""
    study = make(None, n=4, max_step=4, trial_timeout=30.0)
    real = time.time

    def on_turn(engine: Any) -> None:
        if engine.history.n_results >= 1:  # workers are forked: only the driver's clock jumps
            monkeypatch.setattr(time, "time", lambda: real() + 3600.0)

    study.run(objectives.sleepy, n_workers=2, start_method=FAST, on_turn=on_turn)
    assert [(t.status, t.error) for t in study.trials()] == [(TrialStatus.COMPLETED, None)] * 4
