"""A worker's warden: a small process that ends the worker's processes when the driver dies,
whatever the worker is doing.

A thread of the worker could wait for the driver's death, but a thread needs the GIL, and an
objective inside a long C call that holds it (a NumPy reduction, a regex, a tokenizer) keeps
it for minutes: the worker went on computing for a driver that was gone. The warden is a
process the worker forks before it loads the objective, so no lock of the objective's can be
held in it; it has its own interpreter state and GIL.

**Contract.** The warden waits on two pidfds (Linux >= 5.3), the driver's and its worker's,
waking once a second (``SCAN_INTERVAL``) to note the worker's *escapees*
(``process_tree.escapees``: processes below the worker that left its process group, e.g. a
server started with ``start_new_session=True``; pid and start time, so a reused pid is never
signalled).

- The driver exits: SIGKILL to the worker's escapees (those noted and those below it now),
  then to the worker's process group.
- The worker exits (a shutdown, a crash): SIGKILL to the noted escapees still running
  (their parentage no longer leads anywhere once the worker is gone; one started less than
  ``SCAN_INTERVAL`` before an unexpected exit may not have been noted), then the warden
  exits. At a shutdown the driver has already ended the escapees of idle workers, by
  parentage, before asking them to exit. The group's other processes are the driver's to
  end (it kills the group of every worker it retires).

The warden is not the worker's child and not in its process group (``start_warden`` forks
twice, through a new session): the driver kills a dead worker's group at once, and a warden in
that group would die before it had ended the escapees it noted; and an objective that waits
for, lists or kills its own child processes never meets it. It ignores SIGINT and SIGTERM (it
ends with its worker), holds no descriptor of the worker's but the two pidfds (a pipe's end
held open would hide the worker's exit from the driver), and never runs the worker's Python
clean-up (it leaves by ``os._exit``).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal

from rung.executors.process_tree import escapees, signal_processes

#: Seconds between two looks at the worker's escapees.
SCAN_INTERVAL = 1.0


def start_warden(driver_pidfd: int) -> bool:
    """Start the calling worker's warden (see the module docstring); ``False`` where it cannot
    run (no pidfds, a failed fork): the caller falls back.

    Forked twice: the first child starts a session of its own, forks the warden and exits at
    once (the worker reaps it here), so the warden is not the worker's child (an objective's
    ``os.wait()`` or its list of child processes never sees it) and leads no group the driver
    signals."""
    worker = os.getpid()
    try:
        worker_pidfd = os.pidfd_open(worker)
    except (AttributeError, OSError):
        return False
    try:
        pid = os.fork()
    except OSError:
        os.close(worker_pidfd)
        return False
    if pid:
        os.close(worker_pidfd)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status) == 0
    code = 0
    try:  # nothing here returns to the worker's code
        os.setsid()
        if os.fork() == 0:  # the warden
            _watch(worker, driver_pidfd, worker_pidfd)
    except BaseException:
        code = 1  # (in the first child: the worker falls back)
    finally:
        os._exit(code)


def _watch(worker: int, driver_pidfd: int, worker_pidfd: int) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    keep = sorted((driver_pidfd, worker_pidfd))
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, keep[0])
    os.closerange(keep[0] + 1, keep[1])
    os.closerange(keep[1] + 1, _max_fd())
    poller = select.poll()
    poller.register(driver_pidfd, select.POLLIN)  # readable once that process has exited
    poller.register(worker_pidfd, select.POLLIN)
    me = os.getpid()
    noted: dict[int, int] = {}
    while True:
        ready = {fd for fd, _ in poller.poll(int(SCAN_INTERVAL * 1000))}
        if driver_pidfd in ready:
            signal_processes({**noted, **escapees(worker)}, signal.SIGKILL, spare=me)
            with contextlib.suppress(OSError):
                if os.getpgid(worker) == worker:  # it leads its group: end the group
                    os.killpg(worker, signal.SIGKILL)
                os.kill(worker, signal.SIGKILL)
            return
        if worker_pidfd in ready:
            signal_processes(noted, signal.SIGKILL, spare=me)
            return
        noted.update(escapees(worker))


def _max_fd() -> int:
    try:
        return max(int(os.sysconf("SC_OPEN_MAX")), 256)
    except (OSError, ValueError):
        return 1 << 16


__all__ = ["SCAN_INTERVAL", "start_warden"]
