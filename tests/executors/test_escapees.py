"""Processes an objective starts outside its worker's process group (a session or group of
their own: ``start_new_session=True``, a daemonizing server) end with the worker too, and a
driver SIGKILLed while its worker holds the GIL in a long C call takes the worker along
(``rung.executors.process_tree``, ``rung.executors.warden``). Before, a signal to the group
missed the first, and the thread that follows the driver never ran during the second: both
went on computing for nobody."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import objectives
import pytest
from test_child_processes import children, running, sigkill_driver, still_running, study

import rung
from rung import TrialStatus
from rung.executors import process_tree

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "log"
    d.mkdir()
    yield d
    for _, pid in children(d):  # never leave a test's sleepers behind
        if running(pid):
            os.kill(pid, signal.SIGKILL)


_TREE = ("import subprocess, sys, time\n"
         "a = subprocess.Popen(['sleep', '60'])\n"
         "b = subprocess.Popen(['sleep', '60'], start_new_session=True)\n"
         "c = subprocess.Popen(['sleep', '60'], process_group=0)\n"
         "print(a.pid, b.pid, c.pid, flush=True)\n"
         "time.sleep(60)\n")


def test_the_tree_below_a_group_leader_and_what_left_its_group() -> None:
    """A group leader with three children: one in its group, one in a session of its own,
    one in a group of its own; an unrelated process is in neither list; a process named
    with a start time that is not its own is never signalled."""
    other = subprocess.Popen(["sleep", "60"])
    top = subprocess.Popen([sys.executable, "-c", _TREE], stdout=subprocess.PIPE, text=True,
                           process_group=0)
    try:
        assert top.stdout is not None
        a, b, c = (int(x) for x in top.stdout.readline().split())
        assert set(process_tree.descendants(top.pid)) == {a, b, c}
        out = process_tree.escapees(top.pid)
        assert set(out) == {b, c}
        assert process_tree.escapees(other.pid) == {}
        process_tree.signal_processes({b: out[b] + 1}, signal.SIGKILL)  # not b's start time
        time.sleep(0.2)
        assert running(b)
        process_tree.signal_escapees(top.pid, signal.SIGKILL)
        assert still_running([b, c]) == [] and running(a) and running(top.pid)
    finally:
        os.killpg(top.pid, signal.SIGKILL)
        other.kill()
        top.wait()
        other.wait()


def test_a_timed_out_trial_takes_what_it_started_outside_its_group(log: Path) -> None:
    s = study(log, 2, trial_timeout=0.5)
    with pytest.raises(rung.RunFailed):
        s.run(objectives.escapee_then_hang, n_workers=2, start_method="fork")
    kids = children(log)
    assert len(kids) == 2
    assert still_running([pid for _, pid in kids]) == []


def test_what_trials_left_running_outside_their_group_ends_with_the_run(log: Path) -> None:
    s = study(log, 3)
    s.run(objectives.escapee_then_complete, n_workers=2, start_method="fork")
    assert [t.status for t in s.trials()] == [TrialStatus.COMPLETED] * 3
    kids = children(log)
    assert len(kids) == 3
    assert still_running([pid for _, pid in kids]) == []


def test_a_worker_that_dies_takes_what_it_started_outside_its_group(log: Path) -> None:
    """The worker exits on its own: its escapee's parentage then leads nowhere; the worker's
    warden had noted it and ends it."""
    s = study(log, 1)
    s.run(objectives.escapee_then_exit, n_workers=1, start_method="fork")
    assert [t.status for t in s.trials()] == [TrialStatus.COMPLETED]
    kids = children(log)
    assert [tid for tid, _ in kids] == [0, 0]  # trial 0 ran twice
    assert still_running([pid for _, pid in kids]) == []


@pytest.mark.parametrize("method", ["fork", pytest.param("spawn", marks=pytest.mark.slow)])
def test_a_sigkilled_driver_takes_a_worker_that_holds_the_gil(log: Path, method: str) -> None:
    """The worker is inside one C call that keeps the GIL (hours of it) when its driver is
    SIGKILLed: the worker, its group's process and the one outside the group all end."""
    pids = sigkill_driver(log, method, "children_then_hold_the_gil", n=1, kids=2, settle=0.5)
    try:
        assert still_running(pids) == []
    finally:  # a failure here must not leave a worker summing for hours
        for pid in pids:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
