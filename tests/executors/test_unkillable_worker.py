"""A worker that outlives SIGKILL (a process stuck in the kernel, state D, on a hung device or
network file system, dies only when its call returns) holds nothing up: the cancel or
timeout that killed it ends its trial within the shutdown grace period, and a fresh worker
takes its place. The kill is made a no-op here (``os.killpg`` and ``Process.kill``), so the
worker really goes on running."""

from __future__ import annotations

import multiprocessing.process
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import objectives
import pytest

from rung.core.events import Cancel, Launch, ResultReported, TrialEnded
from rung.core.records import Outcome
from rung.executors.base import RunContext
from rung.executors.local import LocalExecutor
from rung.executors.pool import SHUTDOWN_GRACE


def events_until(ex: LocalExecutor, kind: type, trial_id: int) -> list[Any]:
    got: list[Any] = []
    for _ in range(100):
        got += ex.poll(0.2)
        if any(isinstance(e, kind) and e.trial_id == trial_id for e in got):
            return got
    raise AssertionError(f"no {kind.__name__} for trial {trial_id}: {got!r}")


@pytest.fixture
def bounded() -> Iterator[None]:
    """Fail instead of hanging (the driver used to wait on the worker without a bound)."""
    def expired(signum: int, frame: Any) -> None:
        raise AssertionError("the driver waited 10 s on a worker that would not die")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(10)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.slow  # the grace period: 2 s
def test_a_worker_that_survives_its_kill_is_abandoned_after_the_grace_period(
    tmp_path: Path, bounded: None, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture
) -> None:
    ex = LocalExecutor(objectives.hang, n_workers=1, start_method="fork")
    ex.start(RunContext("u", tmp_path, 3))
    stuck = None
    try:
        ex.submit([Launch(0, {"x": 0.5}, 1, 3, 3)])
        events_until(ex, ResultReported, 0)
        stuck = ex.pid_of(0)
        assert stuck is not None
        with monkeypatch.context() as m:
            m.setattr(os, "killpg", lambda pgid, sig: None)
            m.setattr(multiprocessing.process.BaseProcess, "kill", lambda self: None)
            ex.submit([Cancel(0, "cancelled by the user")])
        end = [e for e in events_until(ex, TrialEnded, 0) if isinstance(e, TrialEnded)]
        assert [(e.outcome, e.error) for e in end] == [(Outcome.STOPPED,
                                                        "cancelled by the user")]
        assert os.path.exists(f"/proc/{stuck}")  # it still runs: abandoned, not waited for
        assert caplog.messages[-1] == (
            f"worker process {stuck} did not exit {SHUTDOWN_GRACE:g} s after SIGKILL (stuck "
            "in the kernel?): abandoned, its trial ends and a fresh worker takes its place")
        ex.submit([Launch(1, {"x": 0.5}, 1, 3, 3)])  # a fresh worker serves the next trial
        events_until(ex, ResultReported, 1)
        assert ex.pid_of(1) not in (None, stuck)
    finally:
        if stuck is not None:
            os.kill(stuck, signal.SIGKILL)
        ex.shutdown()
