"""``LocalExecutor`` when things fail: objectives that raise, report NaN or exit, workers and
drivers killed with SIGKILL (the trial is interrupted and resumes from its checkpoint; no
worker outlives its driver).

As in ``test_local.py``, most tests use the ``fork`` start method and nothing waits on a clock:
interference is triggered from the driver's ``on_turn`` hook when the journal shows the state
it needs.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import objectives
import pytest
from _local_helpers import FAST, alive, ckpt_dir, make_study, runs

import rung
from rung import Budget, Float, Objective, Study, TrialStatus
from rung.core.engine import DRIVER_STOPPED, Engine
from rung.core.events import TrialEnded
from rung.core.records import Outcome
from rung.dbr.objective import ReturnsMetrics
from rung.errors import ConfigError
from rung.executors.base import RunContext
from rung.executors.local import LocalExecutor


# --- failures -----------------------------------------------------------------------------------
def test_failing_objective_is_recorded_and_the_search_goes_on(tmp_path: Path) -> None:
    study = make_study(tmp_path, "fail", 10, max_step=3)
    study.run(objectives.failing, n_workers=2, start_method=FAST)
    failed = study.trials(TrialStatus.FAILED)
    completed = study.trials(TrialStatus.COMPLETED)
    assert failed and completed and len(failed) + len(completed) == 10
    for t in failed:
        assert float(t.params["x"]) > 0.5
        assert t.error is not None and "Traceback" in t.error
        assert "ValueError: diverged" in t.error and "objectives.py" in t.error
        assert [r.step for r in t.results] == [1]  # its report before the error is kept


def test_nan_and_inf_metrics_fail_their_trial_and_the_search_goes_on(tmp_path: Path) -> None:
    study = make_study(tmp_path, "nan", 6, max_step=2)
    study.run(objectives.nan_loss, n_workers=2, start_method=FAST)
    again = Study.load("nan", tmp_path / "study.db")  # through the JSON journal too
    for s in (study, again):
        for t in s.trials():
            if t.id % 2 == 0:
                assert t.status is TrialStatus.FAILED
                assert t.error == "metric 'loss' is nan at step 1"
                assert math.isnan(t.results[0].metrics["loss"])
                assert t.score == math.inf and t.value is None
            else:
                assert t.status is TrialStatus.COMPLETED and math.isfinite(t.score)
        assert s.best_trial is not None and s.best_trial.id % 2 == 1


def test_nan_worst_records_nan_and_inf_and_scores_them_worst(tmp_path: Path) -> None:
    space: dict[str, Any] = {"x": Float(0.0, 1.0), "log": rung.Fixed(str(tmp_path))}
    study = Study.create("nan", space, Objective("loss", "min", nan="worst"),
                         searcher="random", scheduler="fifo", max_step=2,
                         budget=Budget(n_trials=6), seed=1, storage=tmp_path / "study.db")
    study.run(objectives.nan_loss, n_workers=2, start_method=FAST)
    again = Study.load("nan", tmp_path / "study.db")  # through the JSON journal too
    for s in (study, again):
        for t in s.trials():
            assert t.status is TrialStatus.COMPLETED
            if t.id % 2 == 0:
                assert math.isnan(t.results[0].metrics["loss"])
                assert t.results[1].metrics["loss"] == math.inf
                assert t.score == math.inf
            else:
                assert math.isfinite(t.score)
        assert s.best_trial is not None and s.best_trial.id % 2 == 1


def test_study_run_hands_its_objective_to_an_instance_built_without_one(tmp_path: Path) -> None:
    study = make_study(tmp_path, "noobj", 3, max_step=2)
    ex = LocalExecutor(n_workers=1, start_method=FAST)
    study.run(objectives.noop, executor=ex)
    # the study's objective, as the study runs it (a returned number becomes its metric)
    assert isinstance(ex.objective, ReturnsMetrics) and ex.objective.objective is objectives.noop
    assert all(t.status is TrialStatus.COMPLETED for t in study.trials())
    with pytest.raises(ConfigError, match="objective"):
        LocalExecutor(n_workers=1).start(RunContext("x", tmp_path, 1))


def test_objective_returning_metrics(tmp_path: Path) -> None:
    study = make_study(tmp_path, "ret", 3, max_step=1)
    study.run(objectives.returns_metrics, n_workers=2, start_method=FAST)
    for t in study.trials():
        assert t.status is TrialStatus.COMPLETED
        assert [r.step for r in t.results] == [1]
        assert t.metrics["loss"] == pytest.approx(float(t.params["x"]) ** 2)


@pytest.mark.slow  # spawn start-up
def test_sigkilled_worker_interrupts_its_trial_which_resumes_from_its_checkpoint(
    tmp_path: Path,
) -> None:
    study = make_study(tmp_path, "kill", 4, max_step=6, extra={"block_at": rung.Fixed(4)})
    ex = LocalExecutor(objectives.block_once, n_workers=2, checkpoint_every=2)
    killed: list[int] = []

    def on_turn(engine: Engine) -> None:
        # trial 0 blocks after its checkpoint at step 4: kill its worker mid-trial, once
        ckpt = engine.history.checkpoint(0) if 0 in engine.history else None
        if not killed and ckpt is not None and ckpt.step == 4:
            pid = ex.pid_of(0)
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    study.run(objectives.block_once, executor=ex, on_turn=on_turn)
    assert killed
    assert len(ex.worker_pids) == 3  # the killed worker was replaced
    t0 = study.trial(0)
    assert t0.status is TrialStatus.COMPLETED and t0.last_step == 6
    assert study.history.interruptions(0) == 1
    first, second = runs(tmp_path, 0)
    assert first["start_step"] == 1 and first["checkpoint"] is None
    assert first["pid"] == killed[0]
    # resumed from the step-4 checkpoint, with its saved content
    assert second["start_step"] == 4 + 1
    assert second["checkpoint"] == str((ckpt_dir(tmp_path, "kill") / "0" / "4").resolve())
    assert second["restored"] == {"step": 4, "trial": 0}
    ended = [r for r in study.journal.read("kill")
             if isinstance(r, TrialEnded) and r.trial_id == 0]
    assert [e.outcome for e in ended] == [Outcome.INTERRUPTED, Outcome.COMPLETED]
    assert ended[0].error is not None and "SIGKILL" in ended[0].error
    # the budget was finished
    assert len(study.trials()) == 4
    assert all(t.status is TrialStatus.COMPLETED for t in study.trials())


def test_os_exit_in_the_objective_interrupts_only_that_trial(tmp_path: Path) -> None:
    study = make_study(tmp_path, "exit", 6, max_step=3)
    ex = LocalExecutor(objectives.exit_hard, n_workers=2, start_method=FAST)
    study.run(objectives.exit_hard, executor=ex)
    ended = [r for r in study.journal.read("exit")
             if isinstance(r, TrialEnded) and r.trial_id == 1]
    assert ended[0].outcome is Outcome.INTERRUPTED
    assert ended[0].error is not None and "exited with code 3" in ended[0].error
    assert len(ex.worker_pids) == 3
    # resumed (from scratch: it had no checkpoint) and finished, like every other trial
    assert all(t.status is TrialStatus.COMPLETED for t in study.trials())
    assert len(study.trials()) == 6


DRIVER = """
import sys
sys.path.insert(0, {tests!r})
import objectives
import rung
from rung import Budget, Float, Objective, Study

def on_turn(engine):
    running = engine.history.count(rung.TrialStatus.RUNNING)
    if running == 2 and engine.history.n_results >= 2 and not getattr(on_turn, "said", False):
        on_turn.said = True
        print("RUNNING", flush=True)

study = Study.create("crash", {{"x": Float(0.0, 1.0), "log": rung.Fixed({log!r})}},
                     Objective("loss", "min"), searcher="random", scheduler="fifo", max_step=3,
                     budget=Budget(n_trials=6), seed=1, storage={db!r})
study.run(objectives.block_in_first_session, n_workers=2, start_method={method!r},
          on_turn=on_turn)
"""


# forkserver workers are not the driver's children (the kernel's parent-death signal does not
# reach them): they follow the driver's pid instead (they outlived it until their next report)
@pytest.mark.parametrize("method", ["fork", pytest.param("forkserver", marks=pytest.mark.slow)])
def test_sigkilled_driver_leaves_no_orphan_and_the_study_resumes(tmp_path: Path,
                                                                 method: str) -> None:
    import subprocess

    db = tmp_path / "study.db"
    script = DRIVER.format(tests=str(Path(__file__).parent), log=str(tmp_path), db=str(db),
                           method=method)
    env = {**os.environ, "RUNG_TEST_BLOCK": "1"}
    driver = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert driver.stdout is not None
        assert driver.stdout.readline().strip() == "RUNNING"  # both workers mid-trial
        workers = [r["pid"] for tid in (0, 1) for r in runs(tmp_path, tid)]
        assert len(workers) == 2 and all(alive(p) for p in workers)
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    finally:
        driver.kill()
        driver.wait()
    # the kernel kills the workers with their driver (PR_SET_PDEATHSIG); the signal is sent
    # as the driver exits but delivered asynchronously, so allow it a moment (bounded)
    for _ in range(1000):
        if not any(alive(p) for p in workers):
            break
        time.sleep(0.01)
    assert not any(alive(p) for p in workers)
    # resume: the two trials that were running end interrupted and are resumed; nothing is
    # lost and nothing is duplicated
    study = Study.load("crash", db)
    study.run(objectives.block_in_first_session, n_workers=2, start_method=FAST)
    trials = study.trials()
    assert len(trials) == 6 and all(t.status is TrialStatus.COMPLETED for t in trials)
    ends = [r for r in study.journal.read("crash") if isinstance(r, TrialEnded)]
    # interrupted by the driver's death, which does not count toward max_interruptions
    assert [e.trial_id for e in ends if e.outcome is Outcome.INTERRUPTED
            and e.error == DRIVER_STOPPED] == [0, 1]
    assert [study.history.interruptions(t.id) for t in trials] == [0] * 6
    finals = [e.trial_id for e in ends if e.outcome is Outcome.COMPLETED]
    assert sorted(finals) == list(range(6))
