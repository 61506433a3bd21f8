"""Ctrl-C reaches every process of the terminal's process group. Workers leave it to the
driver, also while they are still starting (interpreter start-up and imports take a second or
more on a loaded machine): none dies of it, none prints a ``KeyboardInterrupt`` traceback."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest
import trust_objectives

from rung.core.events import Event, Launch, TrialEnded
from rung.core.records import Outcome
from rung.executors.base import RunContext
from rung.executors.local import LocalExecutor

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def test_sigint_while_a_worker_starts_neither_kills_it_nor_prints(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    ex = LocalExecutor(trust_objectives.count, n_workers=1, start_method="spawn")
    ex.start(RunContext("s", tmp_path, 2))
    try:
        pid = ex.worker_pids[0]
        for _ in range(10):  # from the exec on, through the imports of its entry point
            os.kill(pid, signal.SIGINT)
            time.sleep(0.01)
        ex.submit([Launch(0, {"x": 0.5}, 1, 2, 2)])
        got: list[Event] = []
        deadline = time.monotonic() + 30
        while not any(isinstance(e, TrialEnded) for e in got) and time.monotonic() < deadline:
            got += ex.poll(0.5)
        end = next(e for e in got if isinstance(e, TrialEnded))
        assert end.outcome is Outcome.COMPLETED
        assert ex.worker_pids == [pid]  # the first worker ran it: none died, none replaced
    finally:
        ex.shutdown()
    assert "KeyboardInterrupt" not in capfd.readouterr().err


def test_sigint_while_workers_start_still_interrupts_the_driver(tmp_path: Path) -> None:
    ex = LocalExecutor(trust_objectives.count, n_workers=2, start_method="spawn")
    real_start = ex._mp.Process.start

    def start_then_ctrl_c(process: object) -> None:
        real_start(process)
        os.kill(os.getpid(), signal.SIGINT)  # arrives while the driver starts workers

    ex._mp.Process.start = start_then_ctrl_c
    try:
        with pytest.raises(KeyboardInterrupt):
            ex.start(RunContext("s", tmp_path, 2))
    finally:
        ex._mp.Process.start = real_start
    # the worker started before the interrupt was registered, and shutdown stopped it
    assert len(ex.worker_pids) == 1
    with pytest.raises(ProcessLookupError):
        os.kill(ex.worker_pids[0], 0)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, set())


def test_sigint_taken_by_another_thread_while_workers_start_is_not_lost(tmp_path: Path) -> None:
    """The kernel gives a process-wide SIGINT to any thread that does not block it: one that
    another thread of the driver takes while the main thread starts workers still interrupts
    the driver once that worker is registered (it used to be ignored, and the run went on)."""
    import threading

    idle = threading.Event()
    other = threading.Thread(target=idle.wait, daemon=True)
    other.start()
    ex = LocalExecutor(trust_objectives.count, n_workers=2, start_method="spawn")
    real_start = ex._mp.Process.start

    def start_then_ctrl_c_elsewhere(process: object) -> None:
        real_start(process)
        assert other.ident is not None
        signal.pthread_kill(other.ident, signal.SIGINT)
        time.sleep(0.05)  # delivered while this worker starts (starting one takes longer)

    ex._mp.Process.start = start_then_ctrl_c_elsewhere
    try:
        with pytest.raises(KeyboardInterrupt):
            ex.start(RunContext("s", tmp_path, 2))
    finally:
        ex._mp.Process.start = real_start
        idle.set()
    assert len(ex.worker_pids) == 1
    with pytest.raises(ProcessLookupError):
        os.kill(ex.worker_pids[0], 0)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
