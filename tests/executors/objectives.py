"""Objectives for the executor tests. They live in an importable module because spawn worker
processes import the objective by name."""

from __future__ import annotations

import json
import math
import os
import signal
from pathlib import Path
from typing import Any

import rung


def noop(ctx: rung.TrialContext) -> None:
    """One report per step of a loss that depends on ``x``, and no work at all."""
    x = float(ctx.params["x"])
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=x / step)


def quadratic(ctx: rung.TrialContext) -> None:
    """Loss depends on params: (x - 0.3)^2 shrinking with steps; good configs keep going."""
    x = float(ctx.params["x"])
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=(x - 0.3) ** 2 + 1.0 / step)


def _state_saver(state: dict[str, Any]) -> Any:
    def save(d: str) -> None:
        Path(d, "state.json").write_text(json.dumps(state))

    return save


def _load(ctx: rung.TrialContext) -> dict[str, Any]:
    if ctx.checkpoint is None:
        return {"step": 0, "resumed_from": None}
    state: dict[str, Any] = json.loads(Path(ctx.checkpoint, "state.json").read_text())
    return state


def _log_run(ctx: rung.TrialContext, **fields: Any) -> None:
    """Records this run's start: one JSON line ``{"start_step": ..., **fields}`` appended to
    ``<params["log"]>/<trial id>.runs``."""
    with open(Path(str(ctx.params["log"])) / f"{ctx.trial_id}.runs", "a") as f:
        f.write(json.dumps({"start_step": ctx.start_step, **fields}) + "\n")


def checkpointed(ctx: rung.TrialContext) -> None:
    """Saves ``{"step": s, "trial": id}`` at every checkpoint; records every run's start in a
    log directory given by the ``log`` param (one JSON line per run)."""
    state = _load(ctx)
    _log_run(ctx, checkpoint=ctx.checkpoint, restored=state, pid=os.getpid())
    x = float(ctx.params["x"])
    for step in range(ctx.start_step, ctx.max_step + 1):
        state = {"step": step, "trial": ctx.trial_id}
        ctx.report(step, loss=(x - 0.3) ** 2 + 1.0 / step, save=_state_saver(state))


def block_once(ctx: rung.TrialContext) -> None:
    """Like ``checkpointed``; the first run of trial 0 blocks after its report at
    ``params["block_at"]`` (checkpointed by then with ``checkpoint_every``) until the test kills
    its worker."""
    state = _load(ctx)
    _log_run(ctx, checkpoint=ctx.checkpoint, restored=state, pid=os.getpid())
    block_at = int(ctx.params["block_at"])
    for step in range(ctx.start_step, ctx.max_step + 1):
        state = {"step": step, "trial": ctx.trial_id}
        ctx.report(step, loss=float(ctx.params["x"]) + 1.0 / step, save=_state_saver(state))
        if ctx.trial_id == 0 and step == block_at and ctx.checkpoint is None:
            while True:
                signal.pause()


def exit_hard(ctx: rung.TrialContext) -> None:
    """The first run of trial 1 ends its worker with ``os._exit(3)`` at step 2 (a marker file
    in ``params["log"]`` remembers it); every other run completes."""
    marker = Path(str(ctx.params["log"])) / "exited"
    for step in range(ctx.start_step, ctx.max_step + 1):
        if ctx.trial_id == 1 and step == 2 and not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(3)
        ctx.report(step, loss=float(ctx.params["x"]))


def failing(ctx: rung.TrialContext) -> None:
    """Trials with x > 0.5 raise after one report; the others complete."""
    x = float(ctx.params["x"])
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=x)
        if x > 0.5:
            raise ValueError(f"diverged at x={x:.3f}")


def nan_loss(ctx: rung.TrialContext) -> None:
    """Even trials report NaN (then inf), odd ones a finite loss."""
    for step in range(ctx.start_step, ctx.max_step + 1):
        bad = ctx.trial_id % 2 == 0
        ctx.report(step, loss=(math.nan if step == 1 else math.inf) if bad
                   else float(ctx.params["x"]))


def returns_metrics(ctx: rung.TrialContext) -> dict[str, float]:
    """Single-fidelity: no report, the final metrics are returned."""
    return {"loss": float(ctx.params["x"]) ** 2}


def hang(ctx: rung.TrialContext) -> None:
    """Reports once, then blocks forever (until cancelled or killed)."""
    ctx.report(ctx.start_step, loss=1.0)
    signal.pause()


def block_in_first_session(ctx: rung.TrialContext) -> None:
    """Reports step 1, then, while ``RUNG_TEST_BLOCK`` is set in the environment (the first
    driver session of the crash test), blocks until its worker dies; otherwise completes."""
    _log_run(ctx, pid=os.getpid())
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=float(ctx.params["x"]) / step)
        if os.environ.get("RUNG_TEST_BLOCK"):
            while True:
                signal.pause()


def thread_env(ctx: rung.TrialContext) -> dict[str, float]:
    """Reports the BLAS/OpenMP thread limits the worker was started with (0: unset)."""
    import os

    return {
        "loss": 0.0,
        "omp": float(os.environ.get("OMP_NUM_THREADS", "0")),
        "openblas": float(os.environ.get("OPENBLAS_NUM_THREADS", "0")),
    }


def accuracy_latency(ctx: rung.TrialContext) -> None:
    """Two outcomes that trade off: accuracy grows with ``x``, so does latency (100 * x ms)."""
    x = float(ctx.params["x"])
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, accuracy=x, latency_ms=100.0 * x + 20.0)


# --- issue 15: failures, bounds, retries ------------------------------------------------------
def always_fails(ctx: rung.TrialContext) -> None:
    """Reports nothing; raises at once."""
    raise ValueError(f"boom in trial {ctx.trial_id}")


def fails_at_2(ctx: rung.TrialContext) -> None:
    """Reports step 1 (without the objective metric), raises at step 2."""
    ctx.report(1, acc=0.5)
    raise RuntimeError("exploded at step 2")


def typo_metric(ctx: rung.TrialContext) -> None:
    """Reports ``los`` instead of ``loss``."""
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, los=float(ctx.params["x"]))


def string_metric(ctx: rung.TrialContext) -> None:
    """Reports the loss as a string."""
    ctx.report(1, loss="0.5")


def hang_forever(ctx: rung.TrialContext) -> None:
    """Reports nothing and never returns (until its worker is killed)."""
    while True:
        signal.pause()


def hang_odd(ctx: rung.TrialContext) -> None:
    """Odd trials report step 1, then hang; even trials complete at once."""
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=float(ctx.params["x"]))
        if ctx.trial_id % 2 == 1:
            while True:
                signal.pause()


def dies_until_allowed(ctx: rung.TrialContext) -> None:
    """Reports with a save callback at every step; dies (``os._exit``) at step 2 while no
    file ``allowed`` is in ``params["log"]``. Records every run's start."""
    log_dir = Path(str(ctx.params["log"]))
    _log_run(ctx)
    for step in range(ctx.start_step, ctx.max_step + 1):
        if step == 2 and not (log_dir / "allowed").exists():
            os._exit(5)
        state = {"step": step, "trial": ctx.trial_id}
        ctx.report(step, loss=1.0 / step, save=_state_saver(state))


def _start_child(ctx: rung.TrialContext, own_session: bool | None = None) -> None:
    """Starts a process of the trial's own (``sleep 60``, as a data loader or a server the
    objective started) and records its pid as ``<log>/child-<trial id>-<pid>``. With
    ``own_session`` (default: the trial's parameter ``own_session``, else false) it starts in
    a session of its own (``start_new_session=True``), outside its worker's process group."""
    import subprocess

    if own_session is None:
        own_session = bool(ctx.params.get("own_session", False))
    child = subprocess.Popen(["sleep", "60"], start_new_session=own_session)
    (Path(str(ctx.params["log"])) / f"child-{ctx.trial_id}-{child.pid}").write_text("")


def _exit_once_then_complete(ctx: rung.TrialContext, wait: float = 0.0) -> None:
    """Ends its worker with ``os._exit(3)`` after ``wait`` seconds on trial 0's first run (a
    marker file remembers it); every other run completes."""
    import time

    marker = Path(str(ctx.params["log"])) / "exited"
    if ctx.trial_id == 0 and not marker.exists():
        marker.write_text("")
        time.sleep(wait)
        os._exit(3)
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=float(ctx.params["x"]))


def child_then_exit(ctx: rung.TrialContext) -> None:
    """Starts a child process, then ends its worker with ``os._exit(3)`` on its first run
    (trial 0 only; a marker file remembers it); every run completes otherwise. A child in a
    session of its own is given 2.5 s first (the worker's warden notes such processes once
    a second)."""
    _start_child(ctx)
    _exit_once_then_complete(ctx, wait=2.5 if ctx.params.get("own_session") else 0.0)


def child_then_hang(ctx: rung.TrialContext) -> None:
    """Starts a child process, reports step 1, then hangs (trial_timeout kills it)."""
    _start_child(ctx)
    ctx.report(1, loss=float(ctx.params["x"]))
    while True:
        signal.pause()


def child_then_complete(ctx: rung.TrialContext) -> None:
    """Starts a child process and leaves it running; the trial completes."""
    _start_child(ctx)
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=float(ctx.params["x"]))


def children_then_hold_the_gil(ctx: rung.TrialContext) -> None:
    """Starts a process in its worker's group and one outside it, reports step 1, then sums
    10^13 integers in one C call that never lets go of the GIL (hours)."""
    _start_child(ctx, own_session=False)
    _start_child(ctx, own_session=True)
    ctx.report(1, loss=float(ctx.params["x"]))
    sum(range(10**13))


def hangs_in_save(ctx: rung.TrialContext) -> None:
    """Trial 0's save at step 1 writes half its checkpoint, then hangs (trial_timeout kills
    it mid-save); every other trial saves and completes."""
    def save(d: str) -> None:
        Path(d, "half").write_text("x" * 1000)
        if ctx.trial_id == 0:
            while True:
                signal.pause()

    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=float(ctx.params["x"]), save=save)


def sleepy(ctx: rung.TrialContext) -> None:
    """Sleeps 50 ms before each report (trials are running whenever the driver looks)."""
    import time

    for step in range(ctx.start_step, ctx.max_step + 1):
        time.sleep(0.05)
        ctx.report(step, loss=float(ctx.params["x"]) / step)


def counts_its_children(ctx: rung.TrialContext) -> None:
    """Reports ``children``: how many child processes its worker has (``/proc``'s list of
    the worker's children; the objective started none)."""
    pid = os.getpid()
    kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    ctx.report(1, children=float(len(kids)))


def gpu_env(ctx: rung.TrialContext) -> None:
    """Records the worker's ``CUDA_VISIBLE_DEVICES`` (``null`` when unset), its pid and the
    run's wall-clock span in ``<params["log"]>/<trial id>.runs``; trial 0's first run kills
    its worker (``os._exit``) when ``params["die"]`` is true."""
    import time

    start = time.time()
    time.sleep(0.15)  # long enough for the two workers' runs to overlap
    x = float(ctx.params["x"])
    died = Path(str(ctx.params["log"]), "died")
    if ctx.params.get("die") and ctx.trial_id == 0 and not died.exists():
        died.write_text("")
        os._exit(3)
    _log_run(ctx, device=os.environ.get("CUDA_VISIBLE_DEVICES"), pid=os.getpid(),
             start=start, end=time.time())
    ctx.report(ctx.max_step, loss=x)


def chatty(ctx: rung.TrialContext) -> None:
    """Prints a line, a progress bar redrawn with ``\\r``, a line in two writes, a line on
    stderr and a line from a child process writing to the descriptor directly."""
    import subprocess
    import sys

    print(f"hello from {ctx.trial_id}")
    sys.stdout.write("bar 10%\rbar 100%\n")
    sys.stdout.write("two ")
    sys.stdout.write("writes\n")
    print("on stderr", file=sys.stderr)
    sys.stdout.flush()
    subprocess.run(["echo", "from a child"], check=True)
    ctx.report(ctx.max_step, loss=float(ctx.params["x"]))


_HELD: list[bytearray] = []  # what ``hog`` keeps between trials on a worker


def hog(ctx: rung.TrialContext) -> None:
    """Holds ``params["mb"]`` MB more for as long as its worker lives (touched, so resident;
    ``params["later"]``: from 0.3 s after its run ended), then waits ``params["wait"]``
    seconds and reports."""
    import threading
    import time

    mb = int(ctx.params["mb"])
    if ctx.params.get("later"):  # once the trial has ended: the worker idle
        later = float(ctx.params["wait"]) + 0.3
        threading.Timer(later, lambda: _HELD.append(bytearray(mb * 10**6))).start()
    else:
        _HELD.append(bytearray(mb * 10**6))  # zero-filled: every page written
    time.sleep(float(ctx.params["wait"]))
    ctx.report(ctx.max_step, loss=float(mb))
