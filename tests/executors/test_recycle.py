"""``LocalExecutor(max_trials_per_worker=n)``: a worker that has served ``n`` runs is retired
and a fresh process takes its place (``rung.executors.recycle``); the option is checked where
every local executor option is (the constructor, ``Study.run``, a spec's
``executor_options``)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from _local_helpers import FAST, alive, make_study

import rung
from rung.cli.spec import SpecError, parse_spec
from rung.errors import ConfigError
from rung.executors import recycle
from rung.executors.local import LocalExecutor

CLI_TESTS = Path(__file__).resolve().parents[1] / "cli"


def pid_quadratic(ctx: rung.TrialContext) -> dict[str, float]:
    """``(x - 0.3)^2``, and the process that ran it."""
    x = float(ctx.params["x"])
    return {"loss": (x - 0.3) ** 2, "pid": float(os.getpid())}


def pid_lingering(ctx: rung.TrialContext) -> dict[str, float]:
    """``pid_quadratic``, leaving a non-daemon thread behind: the worker cannot exit when asked
    to (the interpreter waits for the thread), so recycling must kill it."""
    threading.Thread(target=time.sleep, args=(3600,), daemon=False).start()
    time.sleep(0.6)  # the worker before this one outlives its grace period meanwhile
    return pid_quadratic(ctx)


def run(tmp_path: Path, name: str, objective: Any, n_trials: int, **options: Any) -> Any:
    study = make_study(tmp_path, name, n_trials)
    ex = LocalExecutor(objective, n_workers=1, start_method=FAST, **options)
    study.run(objective, executor=ex)
    return study, ex


def test_workers_are_recycled_after_max_trials_per_worker_runs(tmp_path: Path) -> None:
    study, ex = run(tmp_path, "recycled", pid_quadratic, 6, max_trials_per_worker=2)
    trials = sorted(study.trials(), key=lambda t: t.id)
    assert all(t.status is rung.TrialStatus.COMPLETED for t in trials)
    pids = [int(t.metrics["pid"]) for t in trials]
    assert len(set(pids)) == 3
    assert all(pids.count(p) == 2 for p in set(pids))  # two runs each, in turn
    assert set(pids) <= set(ex.worker_pids)
    assert not any(alive(p) for p in ex.worker_pids)  # and every one is gone after the run
    # the results are those of a run without recycling (same seed, same trials)
    plain, _ = run(tmp_path / "plain", "plain", pid_quadratic, 6)
    again = sorted(plain.trials(), key=lambda t: t.id)
    assert len({int(t.metrics["pid"]) for t in again}) == 1
    assert [(t.params["x"], t.value) for t in again] == [(t.params["x"], t.value)
                                                          for t in trials]


def test_max_trials_per_worker_1_gives_every_run_a_fresh_process(tmp_path: Path) -> None:
    study, ex = run(tmp_path, "fresh", pid_quadratic, 4, max_trials_per_worker=1)
    pids = [int(t.metrics["pid"]) for t in study.trials()]
    assert len(set(pids)) == 4
    assert not any(alive(p) for p in ex.worker_pids)


def test_a_retired_worker_that_does_not_exit_is_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(recycle, "RETIRE_GRACE", 0.2)
    study, ex = run(tmp_path, "linger", pid_lingering, 3, max_trials_per_worker=1)
    assert all(t.status is rung.TrialStatus.COMPLETED for t in study.trials())
    assert len({int(t.metrics["pid"]) for t in study.trials()}) == 3
    assert not any(alive(p) for p in ex.worker_pids)
    killed = [r.getMessage() for r in caplog.records if "after it was retired" in r.getMessage()]
    assert len(killed) >= 2, killed  # (the last one may be ended by shutdown instead)
    assert all("did not exit 0.2 s after" in m for m in killed), killed


@pytest.mark.parametrize("value", [0, -1, 1.5, "2", True])
def test_bad_max_trials_per_worker_is_refused(tmp_path: Path, value: Any) -> None:
    shown = repr(value) if isinstance(value, str) else value
    want = f"max_trials_per_worker: must be an integer >= 1, got {shown}"
    with pytest.raises(ConfigError) as e:
        LocalExecutor(pid_quadratic, max_trials_per_worker=value)
    assert str(e.value).startswith(want) and "\n" not in str(e.value)
    study = make_study(tmp_path, "refused", 1)
    with pytest.raises(ConfigError) as e:
        study.run(pid_quadratic, n_workers=1, start_method=FAST, max_trials_per_worker=value)
    assert str(e.value).startswith(want)
    assert study.trials() == []  # refused before anything ran


def test_a_spec_takes_max_trials_per_worker() -> None:
    top = {"name": "recyclespec", "objective": "cli_objectives:train", "path": str(CLI_TESTS),
           "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}}, "metric": "loss",
           "scheduler": "fifo", "searcher": "random", "budget": {"n_trials": 2}}
    spec = parse_spec({**top, "executor_options": {"max_trials_per_worker": 3}})
    assert spec.executor_options() == {"max_trials_per_worker": 3}
    with pytest.raises(SpecError) as e:
        parse_spec({**top, "executor_options": {"max_trials_per_worker": 0}})
    assert str(e.value) == ("spec.executor_options.max_trials_per_worker: must be an integer "
                            ">= 1, got 0")


@pytest.mark.slow  # spawn start-up, per run
def test_spawn_workers_are_recycled(tmp_path: Path) -> None:
    study = make_study(tmp_path, "spawned", 3)
    ex = LocalExecutor(pid_quadratic, n_workers=1, max_trials_per_worker=1)
    study.run(pid_quadratic, executor=ex)
    assert all(t.status is rung.TrialStatus.COMPLETED for t in study.trials())
    assert len({int(t.metrics["pid"]) for t in study.trials()}) == 3
    assert not any(alive(p) for p in ex.worker_pids)
