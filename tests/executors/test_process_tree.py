"""Processes an objective starts outside its worker's process group (a session or group of
their own: ``start_new_session=True``, a daemonizing server) are found by parentage
(``rung.executors.process_tree``). That they end with their worker, and that a driver
SIGKILLed while its worker holds the GIL takes the worker along, is tested in
``test_child_processes``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from test_child_processes import running, still_running

from rung.executors import process_tree

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


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
