"""Starting spawn workers so that one whose driver dies while it starts ends silently.

A spawned worker is a fresh interpreter that runs multiprocessing's bootstrap
(``multiprocessing.spawn.spawn_main``, the interpreter's top-level ``-c`` program): it reads
its start-up data (the pickled preparation data, then the ``Process`` object with its target
and arguments) from a pipe that the driver writes only after starting it. A driver that dies
before that write ends (SIGKILL; SIGTERM, whose default action kills it) leaves the pipe empty
or cut short: the bootstrap raises ``EOFError`` (``Ran out of input``) or ``UnpicklingError``
(``pickle data was truncated``) before any of rung's code runs in the worker, and the
interpreter prints its traceback. (Once the bootstrap is done, ``pipe.worker_main`` follows
the driver: a worker whose driver is gone ends without a word.)

**Contract.** ``SpawnProcess`` is multiprocessing's spawn ``Process`` with one difference: its
``-c`` program runs the standard one inside ``guarded_program``. If the bootstrap raises while
the process that started the worker (the driver) is gone, the worker exits at once with
``EXIT_DRIVER_GONE`` and prints nothing. The worker's parent is then no longer the driver; an
empty or cut-short pipe is waited on up to ``GONE_WAIT`` seconds for that (a dying process
closes its descriptors just before its children are handed to another parent). While the driver
lives, the error propagates as before: its traceback is printed and the driver sees a worker
that died at start-up. The guard is standard-library code only, as it runs before the driver's
``sys.path`` is restored. POSIX only (``multiprocessing.popen_spawn_posix``); on a Python
outside ``GUARDED_VERSIONS`` a ``SpawnProcess`` starts unguarded, as multiprocessing's does.
"""

from __future__ import annotations

import os
import sys
import threading
from multiprocessing import context, popen_spawn_posix, spawn
from typing import Any

#: exit code of a spawned worker whose bootstrap failed because its driver is gone
EXIT_DRIVER_GONE = 87

#: seconds a worker that found its start-up data missing or cut short waits for its driver's
#: exit to show (its parent changes) before it takes the error as real
GONE_WAIT = 1.0

_GUARD = """\
try:
    {program}
except Exception as _error:
    import os as _os
    if isinstance(_error, (EOFError, __import__("pickle").UnpicklingError)):
        import time as _time
        _until = _time.monotonic() + {wait!r}
        while _os.getppid() == {driver} and _time.monotonic() < _until:
            _time.sleep(0.01)
    if _os.getppid() == {driver}:
        raise
    _os._exit({code})
"""


def guarded_program(program: str, driver: int) -> str:
    """``program`` (one line: multiprocessing's ``-c`` bootstrap) wrapped so that an exception
    out of it ends the process silently with ``EXIT_DRIVER_GONE`` when its parent is no longer
    ``driver``; see the module docstring. ``SystemExit`` (the bootstrap's normal end) and
    ``KeyboardInterrupt`` pass through."""
    if "\n" in program:
        raise ValueError("guarded_program: expected a one-line program")
    return _GUARD.format(program=program, wait=GONE_WAIT, driver=int(driver),
                         code=EXIT_DRIVER_GONE)


def guarded_command(cmd: list[str], driver: int) -> list[str]:
    """The spawn command line ``cmd`` (``multiprocessing.spawn.get_command_line``) with its
    ``-c`` program guarded; a command line of another shape (a frozen executable) is returned
    unchanged."""
    if len(cmd) >= 3 and cmd[-3] == "-c" and cmd[-1] == "--multiprocessing-fork":
        return [*cmd[:-2], guarded_program(cmd[-2], driver), cmd[-1]]
    return cmd


_launching = threading.local()  # .driver: the pid whose spawn command line is being built
_plain_command_line = spawn.get_command_line


def _command_line(**kwds: Any) -> list[str]:
    """``spawn.get_command_line``, guarded while a ``_GuardedPopen`` launches on this thread."""
    cmd: list[str] = _plain_command_line(**kwds)
    driver = getattr(_launching, "driver", None)
    return cmd if driver is None else guarded_command(cmd, driver)


class _GuardedPopen(popen_spawn_posix.Popen):
    """``popen_spawn_posix.Popen`` whose child gets ``guarded_command``: its ``_launch`` runs
    unchanged while ``spawn.get_command_line`` (which it looks up at call time) guards the
    command line built on this thread; any other caller gets the plain one."""

    def _launch(self, process_obj: Any) -> None:
        spawn.get_command_line = _command_line  # idempotent; a pass-through for other callers
        _launching.driver = os.getpid()
        try:
            super()._launch(process_obj)  # type: ignore[misc]
        finally:
            _launching.driver = None


#: the Pythons on which the bootstrap's one-line ``-c`` program and ``Popen._launch``'s call of
#: ``spawn.get_command_line`` were checked; on others a ``SpawnProcess`` starts as
#: multiprocessing's own does (its bootstrap unguarded)
GUARDED_VERSIONS = ((3, 11), (3, 12), (3, 13))


class SpawnProcess(context.SpawnProcess):
    """A spawn ``Process`` whose bootstrap is guarded (see the module docstring)."""

    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        if sys.version_info[:2] in GUARDED_VERSIONS:
            return _GuardedPopen(process_obj)
        return popen_spawn_posix.Popen(process_obj)


__all__ = ["EXIT_DRIVER_GONE", "GONE_WAIT", "GUARDED_VERSIONS", "SpawnProcess",
           "guarded_command", "guarded_program"]
