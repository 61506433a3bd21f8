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
         "m = subprocess.Popen([sys.executable, '-c', 'import subprocess, time; "
         "p = subprocess.Popen([\"sleep\", \"60\"]); print(p.pid, flush=True); time.sleep(60)'], "
         "stdout=subprocess.PIPE, text=True, start_new_session=True)\n"
         "print(a.pid, b.pid, c.pid, m.pid, m.stdout.readline().strip(), flush=True)\n"
         "time.sleep(60)\n")


@pytest.mark.parametrize("walk", ["children lists", "whole table"])
def test_the_tree_below_a_group_leader_and_what_left_its_group(
    monkeypatch: pytest.MonkeyPatch, walk: str
) -> None:
    """A group leader with four children: one in its group, one in a session of its own,
    one in a group of its own, one in a session of its own with a child of its own; an
    unrelated process is in neither list; a process named with a start time that is not its
    own is never signalled. The same found by walking down the kernel's lists of children
    and by reading every process's parent."""
    if walk == "whole table":
        monkeypatch.setattr(process_tree, "_CHILDREN_FILES", False)
    other = subprocess.Popen(["sleep", "60"])
    top = subprocess.Popen([sys.executable, "-c", _TREE], stdout=subprocess.PIPE, text=True,
                           process_group=0)
    try:
        assert top.stdout is not None
        a, b, c, m, g = (int(x) for x in top.stdout.readline().split())
        assert set(process_tree.descendants(top.pid)) == {a, b, c, m, g}
        out = process_tree.escapees(top.pid)
        assert set(out) == {b, c, m, g}
        assert process_tree.escapees(other.pid) == {}
        process_tree.signal_processes({b: out[b] + 1}, signal.SIGKILL)  # not b's start time
        time.sleep(0.2)
        assert running(b)
        process_tree.signal_escapees(top.pid, signal.SIGKILL)
        assert still_running([b, c, m, g]) == [] and running(a) and running(top.pid)
    finally:
        os.killpg(top.pid, signal.SIGKILL)
        other.kill()
        top.wait()
        other.wait()
