"""The processes of the local executor's workers: starting, signalling and ending them.

``usable_cpus`` is the one CPU count of rung (the default number of local workers).
``_thread_limits`` and ``_sigint_held`` wrap a worker's start (BLAS/OpenMP thread variables it
inherits; SIGINT blocked from its first instruction, never lost in the driver);
``_kill_group`` and ``_signal_group`` signal a worker's process group (the worker and what its
objective started, and what left the group: ``process_tree``), ``_reap`` is the finalizer that
kills workers an executor left behind, and ``_describe_exit`` words an exit code. POSIX only
(process groups, signal masks).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

from rung.errors import ConfigError
from rung.executors.process_tree import signal_escapees

#: what ``_describe_exit`` adds to a SIGKILL: the signal the kernel's out-of-memory killer sends
OOM_HINT = "out of memory? the kernel's OOM killer sends it"


def _describe_exit(code: int | None) -> str:
    """A worker's exit code in words, for a death the driver did not cause (``killed by signal
    SIGTERM``, ``exited with code 3``); a SIGKILL adds that the kernel's out-of-memory killer
    may have sent it (``killed by signal SIGKILL: out of memory? ...``)."""
    if code is None:
        return "still running, killed"
    if code < 0:
        if -code == signal.SIGKILL:
            return f"killed by signal SIGKILL: {OOM_HINT}"
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"



#: the local executor starts at most this many worker processes per CPU this process may use
#: (``usable_cpus``): past it a typo (``n_workers=10000``) would fork the machine to a halt
LOCAL_WORKERS_PER_CPU = 32


def check_local_workers(n_workers: Any, key: str = "n_workers",
                        more: str = "; use the ray executor for more") -> int:
    """``n_workers`` of the local executor: an integer from 1 to ``LOCAL_WORKERS_PER_CPU`` per
    usable CPU, else ``ConfigError`` naming ``key`` (past the bound, its message ends with
    ``more``: how to get more workers where the caller is, a spec or Python)."""
    from rung._validate import check_int

    n = check_int(key, n_workers, 1)
    cpus = usable_cpus()
    if n > LOCAL_WORKERS_PER_CPU * cpus:
        raise ConfigError(key=key, message=(
            f"{n:,} worker processes on {cpus} CPUs: the local executor starts at most "
            f"{LOCAL_WORKERS_PER_CPU * cpus:,} ({LOCAL_WORKERS_PER_CPU} per CPU){more}"))
    return n


def check_local_options(n_workers: Any = None, checkpoint_every: Any = None,
                        threads_per_worker: Any = None,
                        max_trials_per_worker: Any = None) -> None:
    """The local executor's numbers (``None``: not given): ``n_workers`` as
    ``check_local_workers``; ``checkpoint_every``, ``threads_per_worker`` (or ``"auto"``) and
    ``max_trials_per_worker`` integers >= 1.
    ``ConfigError`` naming the first bad one: ``LocalExecutor`` checks them when built, and
    ``rung.run`` / ``Study.run`` before anything is written."""
    from rung._validate import check_int

    if n_workers is not None:
        check_local_workers(n_workers)
    for key, value in (("checkpoint_every", checkpoint_every),
                       ("threads_per_worker", threads_per_worker),
                       ("max_trials_per_worker", max_trials_per_worker)):
        if value is not None and not (key == "threads_per_worker" and value == "auto"):
            check_int(key, value, 1)


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity mask (what a container, ``taskset`` or a
    batch scheduler allows), else ``os.cpu_count()``, else 1. The one CPU count of rung: the
    local executor's default ``n_workers``, the bound on local worker processes
    (``LOCAL_WORKERS_PER_CPU`` per CPU) and the worker count ``auto`` chooses for
    when none is given (``Study.create``, a spec without ``n_workers``)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # no affinity API on this platform
        return os.cpu_count() or 1


def _kill_group(process: Any, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to a worker's process group: the worker and every process its objective
    started (they outlive a worker that dies or is killed alone, and go on computing, or
    holding a GPU, for nobody). A worker still starting has no group yet: it alone gets
    ``sig``. Processes below the worker that left its group (their own session or group:
    ``process_tree.escapees``) get ``sig`` first, while their parentage still leads to the
    worker. Call it before the worker is joined: an exited worker's pid (its group's id) is
    not reused until then."""
    signal_escapees(process.pid, sig)
    try:
        os.killpg(process.pid, sig)
        return
    except ProcessLookupError:  # no group (yet): the worker alone, if it still runs
        pass
    except PermissionError:  # the pid leads a group that is not ours: never signal it
        return
    with contextlib.suppress(OSError):
        if sig == signal.SIGKILL:
            process.kill()
        else:
            process.terminate()


def _signal_group(pid: int, sig: int) -> None:
    """Send ``sig`` to the process group ``pid`` leads, or to ``pid`` alone if it leads none
    (a worker still starting), and to the processes below it that left its group; nothing if
    it is gone."""
    signal_escapees(pid, sig)
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        with contextlib.suppress(OSError):
            os.kill(pid, sig)
    except PermissionError:
        pass


def _reap(processes: list[Any]) -> None:
    """Finalizer: kill workers an executor left behind (it was never shut down), with what
    their objectives started."""
    for p in processes:
        _kill_group(p)
    for p in processes:
        p.join(1.0)


_THREAD_VARS = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


@contextlib.contextmanager
def _thread_limits(n: int | None) -> Iterator[None]:
    """Set the BLAS/OpenMP thread variables a worker inherits at start (the user's own settings
    win), and restore the driver's environment afterwards."""
    if n is None:
        yield
        return
    added = [v for v in _THREAD_VARS if v not in os.environ]
    for v in added:
        os.environ[v] = str(n)
    try:
        yield
    finally:
        for v in added:
            os.environ.pop(v, None)


def follow_stops(groups: Callable[[], list[int]]) -> Any:
    """Stop the process groups ``groups()`` names (workers' pids) when the driver is stopped
    (Ctrl-Z: SIGTSTP, which reaches the terminal's foreground group, the driver's, not theirs)
    and continue them when it is continued. Only from the main thread, and only where SIGTSTP
    has its default action (a handler of the caller's is left alone): returns the disposition
    it replaced, for the caller to restore, else ``None`` (nothing was set)."""
    import threading

    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTSTP) is not signal.SIG_DFL):
        return None

    def on_stop(signum: int, frame: Any) -> None:
        stopped = groups()
        for pid in stopped:
            _signal_group(pid, signal.SIGSTOP)
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)  # stops here until continued
        signal.signal(signal.SIGTSTP, on_stop)
        for pid in stopped:
            _signal_group(pid, signal.SIGCONT)

    return signal.signal(signal.SIGTSTP, on_stop)


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Start worker processes with SIGINT blocked from their first instruction: a Ctrl-C in a
    terminal reaches the whole process group, and a worker still starting (the interpreter,
    then the imports that unpickle its entry point, a second or more) would die of it, printing
    a ``KeyboardInterrupt`` traceback, before ``worker_main`` ignores SIGINT. The mask is
    inherited across fork and exec; ``worker_main`` sets SIGINT to ignored, then unblocks it,
    which discards one that arrived meanwhile. (Python's resource tracker unblocks SIGINT in
    the thread that starts it: the caller starts it before the hold.)

    In the driver a SIGINT that arrives meanwhile is never lost: the main thread blocks it
    and a recording handler stands in for the user's, so whichever thread the kernel delivers
    it to, it is only noted; when the block ends the user's handler is restored and the signal
    raised again in the main thread (by default: ``KeyboardInterrupt``). Nothing is raised
    half-way through a worker's start, so the worker is registered (and shutdown stops it).
    Only the main thread, which owns the handler, can do this; elsewhere workers start as they
    did."""
    import threading

    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is None):
        yield
        return
    held: list[int] = []
    handler = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            yield
        finally:
            # a SIGINT pending on the main thread is delivered here, to the recorder
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    finally:
        signal.signal(signal.SIGINT, handler)
    if held:
        signal.raise_signal(signal.SIGINT)


__all__ = ["follow_stops", "usable_cpus"]
