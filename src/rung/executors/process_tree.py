"""The processes a worker's objective started that left its process group.

A local worker leads a process group, and ending the group ends what its objective started
(``processes._kill_group``). A process started in a session or group of its own
(``subprocess.Popen(..., start_new_session=True)``, a server that daemonizes, a launcher that
calls ``setsid``) leaves the group and would outlive its worker, computing or holding a device
for nobody. This module finds such *escapees* by parentage instead: the descendants of the
worker (``/proc/<pid>/stat``'s parent pid, followed down) that are not in its group.

A process is named by its pid *and* its start time (``/proc/<pid>/stat`` field 22, in clock
ticks since boot), so a pid the kernel has reused since is never signalled by mistake.

Linux only (it reads ``/proc``): elsewhere every function finds nothing and the group is all
that is ended. A process whose parent exited before it was seen (a double-forked daemon) is
no longer anyone's descendant and is not found.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

#: ``pid -> (parent pid, process group, start time)``
Table = dict[int, tuple[int, int, int]]


def _stat(pid: int) -> tuple[int, int, int] | None:
    """``(parent pid, process group, start time)`` of a live process, else ``None``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces or parentheses
    fields = raw[raw.rfind(b")") + 2:].split()
    if len(fields) < 20 or fields[0] in (b"Z", b"X"):  # a zombie has ended already
        return None
    return int(fields[1]), int(fields[2]), int(fields[19])


def process_table() -> Table:
    """Every live process this one can see, from ``/proc`` (empty where there is none)."""
    table: Table = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return table
    for name in names:
        if name.isdigit() and (st := _stat(int(name))) is not None:
            table[int(name)] = st
    return table


def _children_file_exists() -> bool:
    me = os.getpid()
    return os.path.exists(f"/proc/{me}/task/{me}/children")


#: The kernel lists each thread's children (``/proc/<pid>/task/<tid>/children``,
#: ``CONFIG_PROC_CHILDREN``, on in the common distributions' kernels): a walk down from one
#: process reads only its tree, not every process on the machine.
_CHILDREN_FILES = _children_file_exists()


def _children(pid: int) -> list[int]:
    """The children of ``pid``, from its threads' ``children`` lists (none if it is gone)."""
    out: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                out.extend(int(x) for x in f.read().split())
        except OSError:  # the thread ended meanwhile
            continue
    return out


def descendants(pid: int) -> Table:
    """The live descendants of ``pid`` (not ``pid`` itself), by parentage: walked down from
    ``pid`` where the kernel lists children, else through the whole ``process_table``."""
    children_of: Callable[[int], list[int]] = _children
    stat_of: Callable[[int], tuple[int, int, int] | None] = _stat
    if not _CHILDREN_FILES:
        table = process_table()
        kids: dict[int, list[int]] = {}
        for p, (ppid, _, _) in table.items():
            kids.setdefault(ppid, []).append(p)
        children_of, stat_of = (lambda p: kids.get(p, [])), table.get
    out: Table = {}
    todo = list(children_of(pid))
    while todo:
        p = todo.pop()
        if p not in out and p != pid and (st := stat_of(p)) is not None:
            out[p] = st
            todo.extend(children_of(p))
    return out


def escapees(pid: int) -> dict[int, int]:
    """``pid -> start time`` of the descendants of ``pid`` outside the process group ``pid``
    leads: those a signal to the group misses."""
    return {p: start for p, (_, pgid, start) in descendants(pid).items() if pgid != pid}


def signal_processes(procs: dict[int, int], sig: int, spare: int | None = None) -> None:
    """Send ``sig`` to each process of ``procs`` (``pid -> start time``) but ``spare`` that is
    still the process it names; nothing to one that has ended (or whose pid now names
    another)."""
    for p, start in procs.items():
        if p == spare:
            continue
        st = _stat(p)
        if st is not None and st[2] == start:
            with contextlib.suppress(OSError):
                os.kill(p, sig)


def signal_escapees(pid: int, sig: int) -> None:
    """Send ``sig`` to the processes below ``pid`` that left its process group."""
    signal_processes(escapees(pid), sig)


__all__ = ["descendants", "escapees", "process_table", "signal_escapees", "signal_processes"]
