"""The executor conformance suite: ``check_executor(make_executor)``.

Every executor must honour the same contract with the driver, whatever carries the messages
(a pipe, a Ray actor, a virtual clock). The suite drives a fresh executor per check with
scripted commands, no engine and no journal, and asserts on the events it returns:

- **lease**: below a trial's lease results stream without a reply; at the lease the worker
  blocks until the reply for that step, which extends the lease.
- **replies keyed by step**: a reply for an earlier step never releases a worker waiting at
  its lease, and a reply for a trial that is not running is dropped.
- **cancel**: a cancelled trial ends ``stopped`` with the cancel's reason, and nothing of it
  follows.
- **worker death** (``worker_death=True``): a worker that dies mid-trial ends the trial
  ``interrupted`` (after none, some or all of the results it sent before, in order), and the
  slot runs the next trial.
- **checkpoint round trip**: a PAUSE saves a checkpoint and ends the trial ``paused``; a launch
  from that checkpoint starts after its step (with ``real_checkpoints=True``, the objective
  sees the saved directory and reads back what it wrote; a ``DeleteCheckpoint`` removes it).

The trials run ``scripted_objective`` (for executors that run Python objectives: it reaches
them through ``RunContext.objective``) or ``ScriptedBenchmark`` (for the simulated executor);
both report ``scripted_metrics(params, step)``, so the same trial gives the same results on
every executor.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rung.core.events import (
    Action,
    Cancel,
    CapacityChanged,
    CheckpointSaved,
    Decision,
    DeleteCheckpoint,
    Event,
    Launch,
    Reply,
    ResultReported,
    TrialEnded,
)
from rung.core.records import Outcome
from rung.executors.base import Executor, RunContext
from rung.executors.worker import TrialContext

#: How long a real executor gets to show it is blocked at a lease (no result arrives).
QUIET = 0.5


def scripted_metrics(params: Mapping[str, Any], step: int) -> dict[str, float]:
    """The deterministic metrics of a scripted trial at ``step``: a loss that falls with the
    step, ordered by ``params["x"]`` (lower ``x``, lower loss)."""
    x = float(params.get("x", 0.5))
    return {"loss": round(x + 1.0 / step, 12)}


class ScriptedBenchmark:
    """A ``Benchmark`` (for the simulated executor) reporting ``scripted_metrics``; every step
    takes ``params["seconds"]`` (default 1) virtual seconds."""

    max_step = 1_000

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        return scripted_metrics(params, step), float(params.get("seconds", 1.0))


def scripted_objective(ctx: TrialContext) -> None:
    """The suite's objective: reports ``scripted_metrics`` at every step; saves
    ``{"step": s}`` into its checkpoints and, when restored, reports the saved step as the
    ``restored`` metric. ``params["die_at"]``: the worker process exits at that step (a crash);
    ``params["sleep"]``: seconds each step takes."""
    restored = None
    if ctx.checkpoint is not None:
        restored = json.loads(Path(ctx.checkpoint, "state.json").read_text())["step"]
    for step in range(ctx.start_step, ctx.max_step + 1):
        if ctx.params.get("die_at") == step:
            os._exit(3)
        time.sleep(float(ctx.params.get("sleep", 0.0)))

        def save(path: str, step: int = step) -> None:
            Path(path, "state.json").write_text(json.dumps({"step": step}))

        metrics: dict[str, Any] = scripted_metrics(ctx.params, step)
        if restored is not None:
            metrics["restored"] = restored
        ctx.report(step, save=save, **metrics)


class _Session:
    """One started executor and every event it returned so far."""

    def __init__(self, ex: Executor, ctx: RunContext, timeout: float) -> None:
        self.ex = ex
        self.timeout = timeout
        self.events: list[Event] = list(ex.start(ctx))
        assert self.events and isinstance(self.events[0], CapacityChanged), self.events
        assert self.events[0].new_session, "start() must open with CapacityChanged(new_session)"

    def until(self, pred: Callable[[list[Event]], bool], what: str) -> list[Event]:
        """Poll until ``pred(events)`` holds; fail after ``timeout`` seconds or when the
        executor goes idle without it."""
        deadline = time.monotonic() + self.timeout
        while not pred(self.events):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; events: {self.events}")
            got = self.ex.poll(0.2)
            self.events += got
            if not got and self.ex.idle and not pred(self.events):
                raise AssertionError(f"idle before {what}; events: {self.events}")
        return self.events

    def quiet(self) -> list[Event]:
        """Poll for ``QUIET`` seconds (a virtual clock: until nothing is left) and return
        what arrived."""
        got: list[Event] = []
        deadline = time.monotonic() + QUIET
        while time.monotonic() < deadline:
            more = self.ex.poll(0.05)
            got += more
            if not more and self.ex.idle:
                break
        self.events += got
        return got

    def results(self, tid: int) -> list[ResultReported]:
        return [e for e in self.events if isinstance(e, ResultReported) and e.trial_id == tid]

    def ended(self, tid: int) -> TrialEnded | None:
        ends = [e for e in self.events if isinstance(e, TrialEnded) and e.trial_id == tid]
        assert len(ends) <= 1, f"trial {tid} ended more than once: {ends}"
        return ends[0] if ends else None


def _steps(s: _Session, tid: int) -> list[int]:
    return [r.step for r in s.results(tid)]


def _launch(tid: int, until: int, max_step: int, start: int = 1, ckpt: str | None = None,
            **params: Any) -> Launch:
    return Launch(tid, {"x": 0.1 * (tid + 1), **params}, start, until, max_step, ckpt)


def check_lease(s: _Session) -> None:
    s.ex.submit([_launch(0, until=3, max_step=5)])
    s.until(lambda ev: len(s.results(0)) >= 3, "results 1..3 streamed below the lease")
    s.quiet()
    assert _steps(s, 0) == [1, 2, 3], f"a worker at its lease ran on: {_steps(s, 0)}"
    assert s.ended(0) is None
    for r in s.results(0):
        assert r.metrics["loss"] == scripted_metrics({"x": 0.1}, r.step)["loss"], r
    s.ex.submit([Reply(0, 3, Decision.proceed(5))])
    s.until(lambda ev: s.ended(0) is not None, "the trial to end after the reply")
    assert _steps(s, 0) == [1, 2, 3, 4, 5]
    end = s.ended(0)
    assert end is not None and end.outcome is Outcome.COMPLETED, end


def check_replies_keyed_by_step(s: _Session) -> None:
    s.ex.submit([_launch(1, until=2, max_step=4)])
    s.until(lambda ev: len(s.results(1)) >= 2, "results up to the lease")
    s.ex.submit([Reply(1, 1, Decision.proceed(4))])  # for an earlier step: no release
    s.quiet()
    assert _steps(s, 1) == [1, 2], f"a reply for step 1 released the lease at 2: {_steps(s, 1)}"
    s.ex.submit([Reply(1, 2, Decision.proceed(4))])
    s.until(lambda ev: s.ended(1) is not None, "the end after the reply at the lease")
    assert _steps(s, 1) == [1, 2, 3, 4]
    n = len(s.events)
    s.ex.submit([Reply(1, 4, Decision.stop("stale"))])  # the trial is over: dropped
    s.quiet()
    assert all(getattr(e, "trial_id", None) != 1 for e in s.events[n:]), s.events[n:]


def check_cancel(s: _Session) -> None:
    s.ex.submit([_launch(2, until=2, max_step=6)])
    s.until(lambda ev: len(s.results(2)) >= 2, "results up to the lease")
    s.ex.submit([Cancel(2, "cancelled by the suite")])
    s.until(lambda ev: s.ended(2) is not None, "the cancelled trial's end")
    end = s.ended(2)
    assert end is not None and end.outcome is Outcome.STOPPED, end
    assert end.error == "cancelled by the suite", end
    s.quiet()
    assert _steps(s, 2) == [1, 2], _steps(s, 2)
    s.ex.submit([_launch(3, until=2, max_step=2)])  # the slot is free again
    s.until(lambda ev: s.ended(3) is not None, "a trial after the cancel")
    assert _steps(s, 3) == [1, 2]


def check_worker_death(s: _Session) -> None:
    s.ex.submit([_launch(4, until=5, max_step=5, die_at=3)])
    s.until(lambda ev: s.ended(4) is not None, "the dead worker's trial to end")
    end = s.ended(4)
    assert end is not None and end.outcome is Outcome.INTERRUPTED, end
    # results sent before the death arrive in order (a transport that batches them, like
    # Ray calls, may lose the batch the worker had not handed over yet); none after it
    steps = _steps(s, 4)
    assert steps == [1, 2][: len(steps)], steps
    s.ex.submit([_launch(5, until=2, max_step=2)])
    s.until(lambda ev: s.ended(5) is not None, "a trial on the replacement worker")
    end = s.ended(5)
    assert end is not None and end.outcome is Outcome.COMPLETED, end


def check_checkpoint_round_trip(s: _Session, root: Path | None) -> None:
    s.ex.submit([_launch(6, until=2, max_step=4)])
    s.until(lambda ev: len(s.results(6)) >= 2, "results up to the lease")
    s.ex.submit([Reply(6, 2, Decision(Action.PAUSE, None, False, "paused by the suite"))])
    s.until(lambda ev: s.ended(6) is not None, "the paused trial's end")
    end = s.ended(6)
    assert end is not None and end.outcome is Outcome.PAUSED, end
    saved = [e for e in s.events if isinstance(e, CheckpointSaved) and e.trial_id == 6]
    assert [c.step for c in saved] == [2], saved
    assert s.events.index(saved[0]) < s.events.index(end), "the checkpoint must precede the end"
    path = saved[0].path
    if root is not None:
        assert (root / path / "state.json").is_file(), f"no checkpoint at {root / path}"
    n = len(s.results(6))
    s.ex.submit([_launch(6, until=4, max_step=4, start=3, ckpt=path)])
    s.until(lambda ev: len([e for e in ev if isinstance(e, TrialEnded)
                            and e.trial_id == 6]) == 2, "the resumed trial's end")
    resumed = s.results(6)[n:]
    assert [r.step for r in resumed] == [3, 4], resumed
    if root is not None:
        assert all(r.metrics.get("restored") == 2 for r in resumed), resumed
        s.ex.submit([DeleteCheckpoint(6, path)])
        s.quiet()
        assert not (root / path).exists(), f"{root / path} survived DeleteCheckpoint"


def check_executor(
    make_executor: Callable[[], Executor],
    tmp_dir: str | os.PathLike[str],
    *,
    worker_death: bool = True,
    real_checkpoints: bool = True,
    timeout: float = 60.0,
) -> None:
    """Run every check of the suite, each on a fresh executor from ``make_executor()``.

    Args:
        make_executor: builds an executor with at least one slot that runs the suite's trials:
            one built without an objective (it gets ``scripted_objective`` through
            ``RunContext.objective``), or a simulated one over ``ScriptedBenchmark()``.
        tmp_dir: an empty directory; checkpoints go below it.
        worker_death: the executor runs real worker processes whose death can be tested
            (``params["die_at"]`` makes the worker exit).
        real_checkpoints: checkpoints are directories written by the objective's ``save``
            under the run's checkpoint directory (not a simulation's virtual paths).
        timeout: seconds any one wait may take.

    Raises:
        AssertionError: naming the broken rule and the events seen.
    """
    checks: list[tuple[str, Callable[[_Session, Path | None], None]]] = [
        ("lease", lambda s, _r: check_lease(s)),
        ("replies", lambda s, _r: check_replies_keyed_by_step(s)),
        ("cancel", lambda s, _r: check_cancel(s)),
        ("checkpoint", check_checkpoint_round_trip),
    ]
    if worker_death:
        checks.append(("death", lambda s, _r: check_worker_death(s)))
    for name, check in checks:
        root = Path(tmp_dir, name).resolve()
        ctx = RunContext(f"conformance-{name}", root, 1_000, scripted_objective)
        ex = make_executor()
        try:
            s = _Session(ex, ctx, timeout)
            check(s, root if real_checkpoints else None)
        except AssertionError as e:
            raise AssertionError(f"{type(ex).__name__}, check {name!r}: {e}") from None
        finally:
            ex.shutdown()


__all__ = [
    "ScriptedBenchmark",
    "check_executor",
    "scripted_metrics",
    "scripted_objective",
]
