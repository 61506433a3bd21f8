"""``LocalExecutor``: real searches on real worker processes.

Objectives live in ``objectives.py`` because spawn workers import them by name. Most tests use
the ``fork`` start method, which starts a worker in milliseconds instead of re-importing rung;
the tests marked ``spawn`` cover the default start method end to end. Nothing here waits on a
clock: every test ends when the study's budget is spent, and interference (killing a worker)
is triggered from the driver's ``on_turn`` hook when the journal shows the state it needs.
Failures (raising objectives, killed workers and drivers) are ``test_local_failures.py``.
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Any

import objectives
import pytest
from _local_helpers import FAST, FINAL, alive, ckpt_dir, make_study, on_disk, runs

import rung
from rung import ASHA, Study, TrialStatus
from rung.core.engine import Engine
from rung.core.events import Cancel, Launch, ResultReported, TrialEnded, TrialStarted
from rung.core.records import Outcome
from rung.errors import ConfigError, RungError
from rung.executors.base import Executor, RunContext
from rung.executors.local import LocalExecutor
from rung.executors.pipe import FrameReader, PipeChannel
from rung.executors.pipe import frame as _frame
from rung.executors.protocol import RESULT


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
        LocalExecutor(nested, start_method="spawn")
    with pytest.raises(ConfigError, match="lambda"):
        LocalExecutor(lambda ctx: None, start_method="forkserver")
    LocalExecutor(nested, start_method="fork")  # fork takes any callable
    # the default chooses fork for them, spawn for what spawn workers can import
    assert LocalExecutor(nested)._method == "fork"
    assert LocalExecutor(objectives.noop)._method == "spawn"
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
