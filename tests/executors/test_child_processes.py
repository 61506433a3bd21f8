"""Processes an objective starts (data loaders, servers, ``subprocess`` calls) end with its
worker: a worker that dies, is killed (``trial_timeout``, a cancel) or is shut down at the
end of a run takes its process group with it, so nothing is left computing (or holding a GPU)
for nobody. Each worker leads a process group of its own. Processes started in a session of
their own (``start_new_session=True``) are found by parentage and end too, and a driver
SIGKILLed while its worker holds the GIL in a long C call takes the worker along (the
worker's warden, ``rung.executors.warden``)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import objectives
import pytest

import rung
from rung import Budget, Float, Objective, Study, TrialStatus

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children(log: Path) -> list[tuple[int, int]]:
    """``(trial id, pid)`` of every child process the objectives recorded."""
    out = []
    for f in log.glob("child-*"):
        _, tid, pid = f.name.split("-")
        out.append((int(tid), int(pid)))
    return sorted(out)


def still_running(pids: list[int], within: float = 5.0) -> list[int]:
    """The pids still running after at most ``within`` seconds (a SIGKILL is delivered
    asynchronously)."""
    end = time.monotonic() + within
    while True:
        alive = [p for p in pids if running(p)]
        if not alive or time.monotonic() > end:
            return alive
        time.sleep(0.02)


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "log"
    d.mkdir()
    yield d
    for _, pid in children(d):  # never leave a test's sleepers behind
        if running(pid):
            os.kill(pid, signal.SIGKILL)


def study(log: Path, n_trials: int, own_session: bool = False, **kw: Any) -> Study:
    """A study whose objectives record their children in ``log``; with ``own_session`` they
    start them in sessions of their own (outside the worker's process group: found by
    parentage, ``rung.executors.process_tree``)."""
    space: dict[str, Any] = {"x": Float(0.0, 1.0), "log": rung.Fixed(str(log)),
                             "own_session": rung.Fixed(own_session)}
    return Study.create("kids", space, Objective("loss"), searcher="random", scheduler="fifo",
                        max_step=2, budget=Budget(n_trials=n_trials), seed=0, **kw)


SESSIONS = pytest.mark.parametrize("own_session", [False, True], ids=["group", "own-session"])


@SESSIONS
def test_a_worker_that_dies_takes_the_processes_its_trial_started(log: Path,
                                                                  own_session: bool) -> None:
    """A child in a session of its own has no parentage left once its worker is gone: the
    worker's warden had noted it and ends it."""
    s = study(log, 2, own_session)
    s.run(objectives.child_then_exit, n_workers=2, start_method="fork")
    trials = s.trials()
    assert [t.status for t in trials] == [TrialStatus.COMPLETED] * 2
    assert s.history.interruptions(0) == 1
    kids = children(log)
    assert [tid for tid, _ in kids] == [0, 0, 1]  # trial 0 ran twice
    assert still_running([pid for _, pid in kids]) == []


@SESSIONS
def test_a_timed_out_trial_takes_the_processes_it_started(log: Path, own_session: bool) -> None:
    s = study(log, 2, own_session, trial_timeout=0.5)
    with pytest.raises(rung.RunFailed):  # every trial fails: the run says so
        s.run(objectives.child_then_hang, n_workers=2, start_method="fork")
    assert [t.error for t in s.trials()] == ["timeout: trial_timeout of 0.5 s reached"] * 2
    kids = children(log)
    assert len(kids) == 2
    assert still_running([pid for _, pid in kids]) == []


@SESSIONS
def test_processes_a_trial_left_running_end_with_the_run(log: Path, own_session: bool) -> None:
    s = study(log, 3, own_session)
    s.run(objectives.child_then_complete, n_workers=2, start_method="fork")
    assert [t.status for t in s.trials()] == [TrialStatus.COMPLETED] * 3
    kids = children(log)
    assert len(kids) == 3
    assert still_running([pid for _, pid in kids]) == []


DRIVER = """
import sys
sys.path.insert(0, {tests!r})
import objectives
import rung
from rung import Budget, Float, Objective, Study

def on_turn(engine):
    if engine.history.n_results >= {n!r} and not getattr(on_turn, "said", False):
        on_turn.said = True
        print("RUNNING", flush=True)

study = Study.create("kids", {{"x": Float(0.0, 1.0), "log": rung.Fixed({log!r})}},
                     Objective("loss"), searcher="random", scheduler="fifo", max_step=2,
                     budget=Budget(n_trials={n!r}), seed=0)
study.run(objectives.{objective}, n_workers={n!r}, start_method={method!r}, on_turn=on_turn)
"""


def sigkill_driver(log: Path, method: str, objective: str, n: int, kids: int,
                   settle: float = 0.0) -> list[int]:
    """Run a driver of ``n`` trials on ``n`` workers of ``objectives.<objective>`` (each
    reports step 1, then keeps running), SIGKILL it once every trial has reported (and
    ``settle`` seconds more), and return the pids of its workers and of the ``kids``
    processes they started, for the caller to check. Whatever is still running when the
    caller is done is killed (``log``'s fixture kills the recorded children)."""
    import subprocess

    script = DRIVER.format(tests=str(Path(__file__).parent), log=str(log), method=method,
                           objective=objective, n=n)
    driver = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert driver.stdout is not None
        assert driver.stdout.readline().strip() == "RUNNING"
        workers = [int(line.split()[0]) for line in subprocess.run(
            ["ps", "-ww", "--ppid", str(driver.pid), "-o", "pid=,args="], capture_output=True,
            text=True).stdout.splitlines() if "resource_tracker" not in line]
        pids = [pid for _, pid in children(log)]
        assert len(workers) == n and len(pids) == kids
        time.sleep(settle)
        assert all(running(p) for p in workers + pids)
    finally:
        driver.kill()
        driver.wait()
    return workers + pids


@pytest.mark.parametrize("method", ["fork", pytest.param("spawn", marks=pytest.mark.slow)])
def test_a_sigkilled_driver_takes_its_workers_and_what_they_started(log: Path,
                                                                    method: str) -> None:
    """The kernel's parent-death signal killed the workers alone; their objectives' processes
    went on. Each worker follows its driver and kills its process group when it dies."""
    pids = sigkill_driver(log, method, "child_then_hang", n=2, kids=2)
    assert still_running(pids) == []


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


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_worker_has_no_child_process_of_rungs(tmp_path: Path, method: str) -> None:
    """The worker's warden (``rung.executors.warden``) is not its child: an objective that
    waits for, lists or kills its own child processes never meets it."""
    s = Study.create("alone", {"x": Float(0.0, 1.0)}, Objective("children"), searcher="random",
                     scheduler="fifo", max_step=1, budget=Budget(n_trials=2), seed=0)
    s.run(objectives.counts_its_children, n_workers=1, start_method=method)
    assert [t.results[-1].metrics["children"] for t in s.trials()] == [0.0, 0.0]


def state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def states(pids: list[int], want: str, within: float = 5.0) -> list[str]:
    """The pids' states, once all are ``want`` or after ``within`` seconds."""
    end = time.monotonic() + within
    while True:
        got = [state(p) for p in pids]
        if all(s == want for s in got) or time.monotonic() > end:
            return got
        time.sleep(0.02)


#: runs argv[1:] in a process group of its own and waits for it: started in a new session, it
#: gives that group a parent in the same session, so the group is not orphaned
_SESSION = ("import os, signal, subprocess, sys\n"
            "signal.pthread_sigmask(signal.SIG_SETMASK, [])\n"
            "for s in (signal.SIGTSTP, signal.SIGCONT):\n"
            "    signal.signal(s, signal.SIG_DFL)\n"
            "p = subprocess.Popen(sys.argv[1:], process_group=0)\n"
            "print(p.pid, flush=True)\n"
            "sys.exit(p.wait())\n")


def _signal_state(pid: int) -> list[str]:
    """The process's blocked, ignored and caught signal masks (for a failure's message)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return []
    return [ln for ln in lines if ln.startswith(("SigBlk", "SigIgn", "SigCgt", "PPid", "State"))]


def test_ctrl_z_stops_the_workers_with_their_driver_and_fg_continues_them(log: Path) -> None:
    """Ctrl-Z stops the terminal's foreground process group, which holds the driver alone
    (workers lead groups of their own): the driver stops its workers' groups with it, and
    continues them when it is continued (fg / bg).

    The driver runs as a shell runs a job: in a process group of its own whose parent is in the
    same session, with no signal blocked and SIGTSTP / SIGCONT at their defaults (``_SESSION``:
    a whole test run left the pytest process in a state its children inherit, and the driver
    never stopped). A stop signal to a process of an *orphaned* group is discarded
    (POSIX), and a test run started in the background whose shell has exited (as CI is) is in
    one: the driver then cannot be stopped at all (and rightly leaves its workers alone), which
    failed this test in every such run."""
    import subprocess

    script = DRIVER.format(tests=str(Path(__file__).parent), log=str(log), method="fork",
                           objective="child_then_hang", n=2)
    wrapper = subprocess.Popen([sys.executable, "-c", _SESSION, sys.executable, "-c", script],
                               stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert wrapper.stdout is not None
        pid = int(wrapper.stdout.readline())
        assert wrapper.stdout.readline().strip() == "RUNNING"
        kids = [k for _, k in children(log)]
        workers = [int(line.split()[0]) for line in subprocess.run(
            ["ps", "-ww", "--ppid", str(pid), "-o", "pid=,args="], capture_output=True,
            text=True).stdout.splitlines() if "resource_tracker" not in line]
        assert len(workers) == 2 and len(kids) == 2
        os.kill(pid, signal.SIGTSTP)
        got = states([pid, *workers, *kids], "T")
        assert got == ["T"] * 5, (got, _signal_state(pid))
        os.kill(pid, signal.SIGCONT)
        assert "T" not in states([pid, *workers, *kids], "S")
    finally:
        os.killpg(wrapper.pid, signal.SIGKILL)  # the session's group: the wrapper
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        wrapper.wait()
