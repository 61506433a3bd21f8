"""Objectives for the Ray executor tests.

Ray workers cannot import this module by name (the tests directory is not on their path): the
tests register it with ``ray.cloudpickle.register_pickle_by_value``, so the functions travel by
value. Every run appends one JSON line to ``<log>/<trial>.runs`` saying where it ran and what it
restored; the log directory is the test's ``tmp_path`` (the test cluster's nodes share this
machine's filesystem, which the tests use for instrumentation only: checkpoints never go
through it).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import rung


def _node() -> str:
    import ray

    return str(ray.get_runtime_context().get_node_id())


def _restore(ctx: rung.TrialContext) -> dict[str, Any] | None:
    if ctx.checkpoint is None:
        return None
    state: dict[str, Any] = json.loads(Path(ctx.checkpoint, "state.json").read_text())
    return state


def _log(ctx: rung.TrialContext, **extra: Any) -> None:
    line = {"trial": ctx.trial_id, "start_step": ctx.start_step, "checkpoint": ctx.checkpoint,
            "node": _node(), "pid": os.getpid(), **extra}
    with open(Path(str(ctx.params["log"])) / f"{ctx.trial_id}.runs", "a") as f:
        f.write(json.dumps(line) + "\n")


def _saver(state: dict[str, Any]) -> Any:
    def save(d: str) -> None:
        Path(d, "state.json").write_text(json.dumps(state))
        Path(d, "sub").mkdir()
        Path(d, "sub", "weights.bin").write_bytes(bytes(range(256)) * 4)

    return save


def _barrier(ctx: rung.TrialContext, n: int) -> None:
    """Wait (at most a minute) until ``n`` different worker processes have run a trial, so a
    test sees every actor busy at once however unevenly they started."""
    log_dir = Path(str(ctx.params["log"]))
    (log_dir / f"pid-{os.getpid()}").touch()
    deadline = time.monotonic() + 60.0
    while len(list(log_dir.glob("pid-*"))) < n and time.monotonic() < deadline:
        time.sleep(0.02)


def quick(ctx: rung.TrialContext) -> None:
    """Reports ``loss = x + 1/step`` at every step; logs where it ran. With a ``barrier``
    param ``n``, its first run waits until ``n`` actors run trials."""
    _log(ctx)
    if ctx.params.get("barrier"):
        _barrier(ctx, int(ctx.params["barrier"]))
    x = float(ctx.params["x"])
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=x + 1.0 / step)


def checkpointed(ctx: rung.TrialContext) -> None:
    """Restores ``{"trial", "step"}`` from its checkpoint (and checks the extra file came back
    intact), sleeps ``params["sleep"]`` seconds per step, saves its state at every checkpoint
    the scheduler (or ``checkpoint_every``) asks for."""
    restored = _restore(ctx)
    if ctx.checkpoint is not None:
        blob = Path(ctx.checkpoint, "sub", "weights.bin").read_bytes()
        assert blob == bytes(range(256)) * 4, "checkpoint payload damaged in transit"
    _log(ctx, restored=restored)
    x = float(ctx.params["x"])
    pause = float(ctx.params.get("sleep", 0.0))
    for step in range(ctx.start_step, ctx.max_step + 1):
        if pause:
            time.sleep(pause)
        state = {"trial": ctx.trial_id, "step": step}
        ctx.report(step, loss=(x - 0.3) ** 2 + 1.0 / step, save=_saver(state))


def gpu_probe(ctx: rung.TrialContext) -> None:
    """Logs the GPUs Ray gave the actor, then reports."""
    import ray

    _log(ctx, gpus=[str(g) for g in ray.get_gpu_ids()],
         cuda=os.environ.get("CUDA_VISIBLE_DEVICES"))
    if ctx.params.get("barrier"):
        _barrier(ctx, int(ctx.params["barrier"]))
    for step in range(ctx.start_step, ctx.max_step + 1):
        time.sleep(0.05)
        ctx.report(step, loss=float(ctx.params["x"]))


def _refuse_to_load() -> Any:
    raise RuntimeError("this objective cannot be loaded here")


class Unloadable:
    """Pickles fine on the driver, fails to unpickle on a worker."""

    def __call__(self, ctx: rung.TrialContext) -> None:  # pragma: no cover - never loaded
        ctx.report(1, loss=0.0)

    def __reduce__(self) -> Any:
        return (_refuse_to_load, ())


def reserving(ctx: rung.TrialContext) -> None:
    """Logs the resources Ray reserved for the actor (``get_assigned_resources``), then
    reports ``loss = x`` at every step."""
    import ray

    _log(ctx, reserved=ray.get_runtime_context().get_assigned_resources())  # type: ignore[no-untyped-call]
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=float(ctx.params["x"]))
