"""``LocalExecutor``: real searches on real worker processes.

Objectives live in ``objectives.py`` because spawn workers import them by name. Most tests use
the ``fork`` start method, which starts a worker in milliseconds instead of re-importing rung;
the tests marked ``spawn`` cover the default start method end to end. Nothing here waits on a
clock: every test ends when the study's budget is spent, and interference (killing a worker)
is triggered from the driver's ``on_turn`` hook when the journal shows the state it needs.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
import types
from pathlib import Path
from typing import Any

import objectives
import pytest

import rung
from rung import ASHA, Budget, Float, Objective, Study, TrialStatus
from rung.core.engine import DRIVER_STOPPED, Engine
from rung.core.events import Cancel, Launch, ResultReported, TrialEnded, TrialStarted
from rung.core.records import Outcome
from rung.dbr.objective import ReturnsMetrics
from rung.errors import ConfigError, RungError
from rung.executors.base import Executor, RunContext
from rung.executors.local import LocalExecutor
from rung.executors.pipe import FrameReader, PipeChannel
from rung.executors.pipe import frame as _frame
from rung.executors.protocol import RESULT

FAST = "fork"  # start method of the tests that are not about spawn itself

FINAL = {TrialStatus.COMPLETED, TrialStatus.STOPPED, TrialStatus.FAILED}


def make_study(tmp_path: Path, name: str, n_trials: int, max_step: int = 9,
               scheduler: Any = "fifo", extra: dict[str, Any] | None = None) -> Study:
    space: dict[str, Any] = {"x": Float(0.0, 1.0), "log": rung.Fixed(str(tmp_path))}
    space.update(extra or {})
    return Study.create(
        name, space, Objective("loss", "min"), searcher="random", scheduler=scheduler,
        max_step=max_step, budget=Budget(n_trials=n_trials), seed=1,
        storage=tmp_path / "study.db",
    )


def ckpt_dir(tmp_path: Path, name: str) -> Path:
    return tmp_path / "study-checkpoints" / name


def on_disk(root: Path) -> set[str]:
    """``trial/step`` of every checkpoint directory under ``root`` (temporaries included)."""
    if not root.exists():
        return set()
    return {f"{t.name}/{s.name}" for t in root.iterdir() if t.is_dir() for s in t.iterdir()}


def runs(tmp_path: Path, trial_id: int) -> list[dict[str, Any]]:
    lines = (tmp_path / f"{trial_id}.runs").read_text().splitlines()
    return [json.loads(line) for line in lines]


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# --- searches -----------------------------------------------------------------------------------
@pytest.mark.slow  # spawn start-up
def test_asha_search_on_spawned_workers_completes_its_budget(tmp_path: Path) -> None:
    study = make_study(tmp_path, "asha", 30, scheduler=ASHA(reduction_factor=3))
    ex = LocalExecutor(objectives.quadratic, n_workers=2)
    assert isinstance(ex, Executor)
    study.run(objectives.quadratic, executor=ex)
    trials = study.trials()
    assert len(trials) == 30 and all(t.status in FINAL for t in trials)
    assert {t.status for t in trials} == {TrialStatus.COMPLETED, TrialStatus.STOPPED}
    assert ex.worker_pids and len(ex.worker_pids) == 2  # reused for all 30 trials
    assert not any(alive(p) for p in ex.worker_pids)  # and gone after the run
    best = study.best_trial
    assert best is not None and best.status is TrialStatus.COMPLETED
    # the journal holds the whole run: a reload replays to the same state
    again = Study.load("asha", tmp_path / "study.db")
    assert again.summary()["by_status"] == study.summary()["by_status"]
    assert again.best_trial is not None and again.best_trial.id == best.id


def test_bad_configs_stop_exactly_at_a_rung(tmp_path: Path) -> None:
    study = make_study(tmp_path, "rungs", 24, scheduler=ASHA(reduction_factor=3))
    study.run(objectives.quadratic, n_workers=2, start_method=FAST)
    stopped = study.trials(TrialStatus.STOPPED)
    completed = study.trials(TrialStatus.COMPLETED)
    assert stopped and completed and len(stopped) + len(completed) == 24
    for t in stopped:
        # the worker waited at the rung for the decision: it never trained past it
        assert t.last_step in (1, 3)
        assert [r.step for r in t.results] == list(range(1, t.last_step + 1))
    for t in completed:
        assert [r.step for r in t.results] == list(range(1, 10))
    # the loss depends on the params: survivors are, on average, the configurations nearer
    # x = 0.3 (not each of them: the first trial to reach a rung always passes it)
    def mean_dist(ts: list[rung.Trial]) -> float:
        return sum(abs(float(t.params["x"]) - 0.3) for t in ts) / len(ts)

    assert mean_dist(completed) < mean_dist(stopped)


def test_pause_and_resume_from_checkpoint_with_promotion_asha(tmp_path: Path) -> None:
    sched = ASHA(reduction_factor=3, variant="promotion")
    study = make_study(tmp_path, "promo", 12, scheduler=sched)
    study.run(objectives.checkpointed, n_workers=2, start_method=FAST)
    resumed = [t for t in study.trials() if len(runs(tmp_path, t.id)) > 1]
    assert resumed, "the promotion variant resumed no paused trial"
    for t in resumed:
        rs = runs(tmp_path, t.id)
        assert rs[0]["start_step"] == 1 and rs[0]["checkpoint"] is None
        for r in rs[1:]:
            # the run restarts right after the checkpoint, whose content is the saved state
            assert r["checkpoint"] is not None
            assert r["restored"] == {"step": r["start_step"] - 1, "trial": t.id}
            assert r["checkpoint"].endswith(f"{t.id}/{r['start_step'] - 1}")
        # and the resumed runs reported from there on
        assert {r["start_step"] for r in rs[1:]} <= {res.step for res in t.results}


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


# --- commands -----------------------------------------------------------------------------------
def collect(ex: LocalExecutor, until: Any) -> list[Any]:
    """Poll until an event matching ``until`` arrives (the poll timeout bounds each wait)."""
    got: list[Any] = []
    for _ in range(200):
        got += ex.poll(5.0)
        if any(until(e) for e in got):
            return got
    raise AssertionError(f"never saw the event; got {got!r}")


def test_cancel_kills_the_worker_and_ends_the_trial_stopped(tmp_path: Path) -> None:
    ex = LocalExecutor(objectives.hang, n_workers=1, start_method=FAST)
    first = ex.start(RunContext("c", tmp_path, 3))
    assert first[0].capacity == 1 and first[0].new_session
    try:
        ex.submit([Launch(0, {"x": 0.5}, 1, 3, 3)])
        got = collect(ex, lambda e: isinstance(e, ResultReported))
        assert isinstance(got[0], TrialStarted)
        pid = ex.pid_of(0)
        assert pid is not None and alive(pid)
        ex.submit([Cancel(0, "cancelled by the user")])
        got = collect(ex, lambda e: isinstance(e, TrialEnded))
        end = got[-1]
        assert (end.trial_id, end.outcome, end.error) == (0, Outcome.STOPPED,
                                                         "cancelled by the user")
        assert not alive(pid) and ex.pid_of(0) is None
        assert ex.idle
        # a fresh worker took the slot and serves the next trial
        ex.submit([Launch(1, {"x": 0.5}, 1, 3, 3)])
        collect(ex, lambda e: isinstance(e, ResultReported) and e.trial_id == 1)
        assert len(ex.worker_pids) == 2 and ex.pid_of(1) == ex.worker_pids[1]
    finally:
        ex.shutdown()
    assert not any(alive(p) for p in ex.worker_pids)


def test_keyboard_interrupt_in_the_driver_leaves_no_worker_behind(tmp_path: Path) -> None:
    study = make_study(tmp_path, "ctrlc", 10, max_step=3)
    ex = LocalExecutor(objectives.hang, n_workers=2, start_method=FAST)

    def on_turn(engine: Engine) -> None:
        if engine.history.n_results >= 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        study.run(objectives.hang, executor=ex, on_turn=on_turn)
    assert ex.worker_pids and not any(alive(p) for p in ex.worker_pids)
    ex.shutdown()  # idempotent


# --- checkpoints --------------------------------------------------------------------------------
def test_checkpoints_of_stopped_trials_are_deleted_and_the_best_kept(tmp_path: Path) -> None:
    # one worker: arrivals at the rungs come in trial order, so which trials stop where is
    # fixed by the seed (with two, the order of arrival, and so the decisions, may vary)
    study = make_study(tmp_path, "ck", 12, scheduler=ASHA(reduction_factor=3))
    study.run(objectives.checkpointed, n_workers=1, checkpoint_every=1, start_method=FAST)
    saved = [r for r in study.journal.read("ck") if type(r).__name__ == "CheckpointSaved"]
    # every trial that went on past a step saved there (a STOP comes before the save: a trial
    # stopped at step 1 has nothing worth keeping)
    assert {r.trial_id for r in saved} == {t.id for t in study.trials() if t.last_step > 1}
    assert any(t.status is TrialStatus.STOPPED and t.last_step == 3 for t in study.trials())
    left = on_disk(ckpt_dir(tmp_path, "ck"))
    assert len(left) == 1  # keep_checkpoints=1: the best finished trial's last checkpoint
    (path,) = left
    owner = [t for t in study.trials() if t.checkpoint is not None and t.checkpoint.path == path]
    assert owner and owner[0].status in FINAL
    assert study.summary()["checkpoints"] == 1
    assert study.summary()["checkpoint_bytes"] == sum(
        f.stat().st_size for f in (ckpt_dir(tmp_path, "ck") / path).iterdir())


def test_checkpoint_every_saves_on_schedule(tmp_path: Path) -> None:
    study = make_study(tmp_path, "every", 2, max_step=8)
    study.run(objectives.checkpointed, n_workers=2, checkpoint_every=3, start_method=FAST)
    saved = [r for r in study.journal.read("every") if type(r).__name__ == "CheckpointSaved"]
    for tid in (0, 1):
        steps = [r.step for r in saved if r.trial_id == tid]
        assert steps == [3, 6, 8]  # every 3 steps and the last one
        assert all(r.path == f"{tid}/{r.step}" and r.size > 0
                   for r in saved if r.trial_id == tid)


# --- transport ----------------------------------------------------------------------------------
def test_frames_survive_partial_reads_and_batches() -> None:
    r, w = os.pipe()
    try:
        msgs = [(RESULT, 1, 2, {"loss": 0.5}, 1.0), ("x" * 300_000,), None, (RESULT, 2)]
        data = b"".join(_frame(m) for m in msgs)
        reader = FrameReader(r)
        got: list[Any] = []
        for i in range(0, len(data), 7000):  # arrives in pieces, frames cut anywhere
            os.write(w, data[i:i + 7000])
            assert reader.fill()
            got += reader.messages()
        assert got == msgs
        os.close(w)
        w = -1
        assert not reader.fill()  # end-of-file
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_pipe_channel_round_trip() -> None:
    import multiprocessing

    a, b = multiprocessing.Pipe(duplex=True)
    left, right = PipeChannel(a), PipeChannel(b)
    assert not right.poll()
    left.send((1, "one"))
    left.send((2, {"two": 2.0}))
    assert right.poll()
    assert right.recv() == (1, "one")
    assert right.poll()  # the second frame came with the first read
    assert right.recv() == (2, {"two": 2.0})
    assert not right.poll()
    a.close()
    with pytest.raises(EOFError):
        right.recv()
    b.close()


# --- configuration errors -----------------------------------------------------------------------
def test_an_objective_spawn_workers_cannot_import_is_a_clear_error() -> None:
    def nested(ctx: rung.TrialContext) -> None:
        pass

    with pytest.raises(ConfigError, match="nested"):
        LocalExecutor(nested)
    with pytest.raises(ConfigError, match="lambda"):
        LocalExecutor(lambda ctx: None)
    LocalExecutor(nested, start_method="fork")  # fork takes any callable
    with pytest.raises(ConfigError, match="n_workers"):
        LocalExecutor(objectives.noop, n_workers=0)
    with pytest.raises(ConfigError, match="checkpoint_every"):
        LocalExecutor(objectives.noop, checkpoint_every=0)
    with pytest.raises(ConfigError, match="start_method"):
        LocalExecutor(objectives.noop, start_method="teleport")


@pytest.mark.slow  # spawn start-up
def test_objective_missing_in_the_worker_raises_instead_of_looping(tmp_path: Path) -> None:
    # a module that exists only in the driver: pickles by name, fails to import in the worker
    mod = types.ModuleType("rung_test_ghost_module")
    exec("def train(ctx):\n    pass\n", mod.__dict__)
    sys.modules[mod.__name__] = mod
    try:
        study = make_study(tmp_path, "ghost", 2)
        with pytest.raises(RungError, match="cannot load the objective"):
            study.run(mod.train, n_workers=1)
    finally:
        del sys.modules[mod.__name__]


@pytest.mark.parametrize(("threads", "user", "want"), [(1, None, 1.0), (3, None, 3.0),
                                                        (None, None, 0.0), (1, "4", 4.0)])
def test_threads_per_worker_limits_blas_threads_unless_the_user_set_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threads: int | None, user: str | None,
    want: float,
) -> None:
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(v, raising=False)
    if user is not None:
        monkeypatch.setenv("OMP_NUM_THREADS", user)
    study = make_study(tmp_path, "threads", 1)
    ex = LocalExecutor(objectives.thread_env, n_workers=1, threads_per_worker=threads,
                       start_method=FAST)
    study.run(objectives.thread_env, executor=ex)
    (t,) = study.trials()
    assert t.metrics["omp"] == want
    if user is None:
        assert t.metrics["openblas"] == want
    # the driver's own environment is left as it was
    assert os.environ.get("OMP_NUM_THREADS") == user
    with pytest.raises(ConfigError, match="threads_per_worker"):
        LocalExecutor(objectives.thread_env, threads_per_worker=0)


def test_run_with_constraints_and_two_objectives() -> None:
    """rung.run takes a list of metrics with their modes and outcome constraints: the best
    trial is the most accurate feasible one, and the Pareto front holds feasible trials only."""
    study = rung.run(
        objectives.accuracy_latency, {"x": rung.Float(0.0, 1.0)},
        metric=["accuracy", "latency_ms"], mode=["max", "min"],
        constraints=[rung.Constraint("latency_ms", "<=", 70.0)],
        n_trials=12, n_workers=2, seed=3,
    )
    trials = study.trials()
    assert len(trials) == 12 and all(t.status is rung.TrialStatus.COMPLETED for t in trials)
    feasible = [t for t in trials if t.metrics["latency_ms"] <= 70.0]
    assert feasible and len(feasible) < len(trials)  # the constraint bites for this seed
    best = study.best_trial
    assert best is not None and best.id == max(feasible, key=lambda t: t.metrics["accuracy"]).id
    front = study.pareto_front()
    assert front and {t.id for t in front} <= {t.id for t in feasible}
    assert [o.metric for o in study.spec.objectives] == ["accuracy", "latency_ms"]
