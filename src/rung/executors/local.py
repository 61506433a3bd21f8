"""Local executor: persistent worker processes on this machine, one pipe each.

The driver waits on every worker's pipe (and process sentinel) at once, with one ``poll`` object
registered once (what ``multiprocessing.connection.wait`` does, minus building a selector on every
call), and drains every message that is ready with one ``read`` per pipe, so one driver turn (and
one journal transaction) covers many events. Workers are started once per session and serve
trial after trial (``max_trials_per_worker`` runs at most: ``rung.executors.recycle``); a worker
that dies (an exception in the runtime, ``os._exit``, a signal, a segfault) is detected through
its pipe or its sentinel, its trial ends ``interrupted`` (the scheduler may resume it from its
last checkpoint) and a fresh worker takes its place.

Messages are the wire protocol's tuples (``rung.executors.protocol``) in the pipe framing of
``rung.executors.pipe``. POSIX only (``select.poll``, process sentinels).
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import multiprocessing.connection
import multiprocessing.resource_tracker
import os
import pickle
import select
import signal
import sys
import time
import weakref
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from rung.core.events import Cancel, CapacityChanged, Event
from rung.core.records import Outcome
from rung.errors import ConfigError, RungError
from rung.executors.base import RunContext
from rung.executors.pipe import FrameReader, frame, worker_main, write_all
from rung.executors.pool import (
    MAX_STARTUP_DEATHS,
    MAX_TIME_GRACE,
    SHUTDOWN_GRACE,
    Pool,
    Slot,
    callable_name,
    remove_partial_saves,
)
from rung.executors.process_tree import signal_escapees
from rung.executors.processes import (
    _describe_exit,
    _kill_group,
    _reap,
    _sigint_held,
    _signal_group,
    _thread_limits,
    check_local_options,
    usable_cpus,
)
from rung.executors.protocol import ENDED, EVENT_TAGS, INIT_ERROR, READY, decode, message_time
from rung.executors.recycle import Recycler
from rung.executors.spawn_guard import EXIT_NO_MAIN_GUARD, no_main_guard_message
from rung.executors.spawn_start import SpawnProcess
from rung.executors.startup_watch import StartupWatch
from rung.executors.worker import TrialContext

log = logging.getLogger("rung.local")

_PROTO = pickle.HIGHEST_PROTOCOL


class _Worker(Slot):
    __slots__ = ("conn", "fd", "killed", "poller", "process", "reader", "ready", "sentinel")

    def __init__(self, process: Any, conn: Connection) -> None:
        super().__init__()
        self.process = process
        self.conn = conn
        self.fd = conn.fileno()
        self.reader = FrameReader(self.fd)
        self.sentinel: int = process.sentinel
        self.poller = select.poll()  # this pipe alone: draining a dead worker
        self.poller.register(self.fd, select.POLLIN)
        self.ready = False  # it loaded the objective
        self.killed = False  # its process group was killed (before it was joined)


def _serialize_objective(objective: Any) -> bytes:
    """Pickle the objective for spawn workers (by reference, for a module-level function), or
    explain why it cannot be."""
    name = callable_name(objective)
    hint = ("define it at module level in an importable module (spawn workers import it by "
            "name), or use start_method='fork'")
    if getattr(objective, "__module__", None) == "__main__":
        main = sys.modules.get("__main__")
        if main is not None and not getattr(main, "__file__", None):
            raise ConfigError(
                f"objective {name}: defined in an interactive session, where spawn worker "
                f"processes cannot import it; {hint}"
            )
    try:
        return pickle.dumps(objective, _PROTO)
    except (pickle.PicklingError, AttributeError, TypeError) as e:
        raise ConfigError(f"objective {name} cannot be sent to worker processes ({e}); "
                          f"{hint}") from None


class LocalExecutor(Pool[_Worker]):
    """Runs trials in worker processes on this machine.

    Args:
        objective: ``objective(ctx: rung.TrialContext)``. With the default ``spawn`` start
            method it must be importable by name (a module-level function, or a picklable
            callable object); a lambda or a nested function raises ``ConfigError`` naming it.
            ``None``: run the objective of the session (``RunContext.objective``: the one
            ``Study.run`` was given), which this instance then keeps.
            As with any spawn-based code, a script must guard its entry point with
            ``if __name__ == "__main__":``.
        n_workers: worker processes, i.e. trials run at once (default: the CPUs this process
            may use).
        checkpoint_every: if set, every report whose step is a multiple of it (and the report
            at ``max_step``) saves a checkpoint through the report's ``save`` callback, so an
            interrupted trial resumes from there (worker-side: costs no round trip).
        start_method: ``"spawn"`` (default: safe with threads, CUDA and SQLite in the driver),
            ``"forkserver"`` or ``"fork"`` (starts faster and takes any callable, but forks
            the driver's threads and open handles).
        threads_per_worker: BLAS/OpenMP threads each worker may use (``OMP_NUM_THREADS`` and
            friends, set for the worker unless already set in the environment). The default, 1,
            matches one worker per core: n workers each starting n BLAS threads oversubscribe
            the machine (seen here: 20x slower boosting steps). ``None`` leaves them alone.
            With ``"fork"``, the thread pools a worker inherits from the driver (numpy's BLAS,
            torch's, OpenMP's, created before the fork) are also set to the worker's
            ``OMP_NUM_THREADS`` when it starts.
        max_trials_per_worker: runs a worker process serves before it is retired and a fresh
            one takes its place (``rung.executors.recycle``), so memory, files, threads or
            global state its trials leak end with it. ``None`` (default): workers serve the
            whole session; ``1``: every run gets a fresh process.

    Checkpoints live under the run's ``checkpoint_dir`` as ``<trial_id>/<step>/``; the engine
    decides when one is no longer needed and this executor deletes it.

    A worker process serves trial after trial, so global state a trial changes carries over to
    the later trials on that worker: ``np.random.seed`` / ``torch.manual_seed``,
    ``torch.set_num_threads``, ``os.environ``, the working directory, ``sys.path``, logging
    configuration, warnings filters, module-level caches. Seed and configure at the start of
    each trial, or set ``max_trials_per_worker=1`` to give every trial a fresh process, at the
    cost of a worker start per trial (measured on a 2-CPU Linux machine, trivial objective:
    about 0.45 s with ``spawn``, 0.3 s with ``forkserver``, 20 ms with ``fork``; with spawn
    and forkserver, plus what the objective's module imports: 1.5-2 s for torch).

    Each worker leads a process group of its own, which the processes its objective starts
    (data loaders, servers, ``subprocess`` calls) join: when the worker dies, is killed (a
    cancel, ``trial_timeout``) or is shut down, its whole group is killed, so nothing it started
    outlives it. Ctrl-C in a terminal reaches the driver alone, and it is the driver that
    decides (``drive`` calls ``shutdown``, which stops every worker). On Linux a worker also
    dies with its driver, even a SIGKILLed one, and takes its process group along, so a crash
    leaves no orphan (``rung.executors.pipe``: a thread follows the driver's pid; it acts as
    soon as the objective lets go of the GIL).
    """

    def __init__(
        self,
        objective: Callable[[TrialContext], Any] | None = None,
        n_workers: int | None = None,
        checkpoint_every: int | None = None,
        start_method: str = "spawn",
        threads_per_worker: int | None = 1,
        max_trials_per_worker: int | None = None,
    ) -> None:
        if objective is not None and not callable(objective):
            raise ConfigError(f"objective: expected a callable, got {objective!r}")
        check_local_options(n_workers, checkpoint_every, threads_per_worker,
                            max_trials_per_worker)
        self.threads_per_worker = threads_per_worker
        self.max_trials_per_worker = max_trials_per_worker
        self._recycler = Recycler(max_trials_per_worker)
        methods = multiprocessing.get_all_start_methods()
        if start_method not in methods:
            raise ConfigError(f"start_method: must be one of {methods}, got {start_method!r}")
        self.objective = objective
        self.n_workers = n_workers if n_workers is not None else usable_cpus()
        self.checkpoint_every = checkpoint_every
        self.start_method = start_method
        # checked now for an early, clear error; pickled again at start (an instance built
        # without one takes the session's)
        if objective is not None and start_method != "fork":
            _serialize_objective(objective)
        self._payload: bytes | None = None
        self._mp: Any = multiprocessing.get_context(start_method)
        self._workers: list[_Worker] = []
        self._processes: list[Any] = []  # this session's processes, for the finalizer
        self.worker_pids: list[int] = []  # every worker process ever started, in order
        self._finalizer = weakref.finalize(self, _reap, self._processes)
        self._poller = select.poll()  # every worker's pipe and sentinel
        self._owner: dict[int, _Worker] = {}  # descriptor (pipe or sentinel) -> worker
        self._startup: StartupWatch | None = None  # until a worker of the session is ready
        self._tstp: Any = None  # SIGTSTP's disposition before start (_follow_stops)
        super().__init__()

    # --- the Executor protocol --------------------------------------------------------------
    def start(self, ctx: RunContext) -> list[Event]:
        """Start the workers; returns ``[CapacityChanged(n_workers, now, new_session=True)]``.

        Workers load the objective in the background: launches sent before they are ready
        simply wait in their pipes. While launches wait and no worker is ready, the wait is
        bounded by the session's ``trial_timeout``, else its ``max_time``
        (``rung.executors.startup_watch``): ``RungError`` then.
        """
        if self._open:
            raise RuntimeError("LocalExecutor.start: already started (call shutdown first)")
        if self.objective is None:
            self.objective = ctx.objective
        if self.objective is None or not callable(self.objective):
            raise ConfigError(f"objective: expected a callable, got {self.objective!r}")
        if self.start_method != "fork":
            self._payload = _serialize_objective(self.objective)
        self._open_root(ctx)
        self._open = True
        self._startup_deaths = 0
        self._startup = StartupWatch(
            callable_name(self.objective), ctx.trial_timeout, ctx.max_time, MAX_TIME_GRACE)
        try:
            for _ in range(self.n_workers):
                self._spawn()
            self._follow_stops()
        except BaseException:  # Ctrl-C or a failed start: take down what already started
            self.shutdown()
            raise
        return [CapacityChanged(self.n_workers, self.now(), new_session=True,
                                executor={"name": "local", "start_method": self.start_method})]

    def pid_of(self, trial_id: int) -> int | None:
        """The process id of the worker running ``trial_id`` (``None`` if it runs nowhere)."""
        w = self._running.get(trial_id)
        return None if w is None else int(w.process.pid)

    def poll(self, timeout: float | None) -> list[Event]:
        """Wait up to ``timeout`` seconds for worker messages and return every event that is
        ready (all messages already in every pipe, plus deaths and cancellations)."""
        out, timeout = self._begin_poll(timeout)
        late, timeout = self._recycler.due(timeout)
        for w in late:  # retired, but still alive: killed with its group
            log.warning("worker process %s did not exit %g s after it was retired: killed",
                        w.process.pid, self._recycler.grace)
            self._retire(w, out, Outcome.INTERRUPTED, None)
        if self._startup is not None:  # until a worker of the session is ready
            timeout = self._startup.check(bool(self._queue), False, timeout)
        ms = -1 if timeout is None else max(0, math.ceil(timeout * 1000))
        ready = self._poller.poll(ms)
        if not ready:
            return self._end_poll(out) if self._events else out
        owner = self._owner
        dead: list[_Worker] = []
        for fd, _mask in ready:
            w = owner.get(fd)
            if w is None or w.dead:
                continue
            if fd == w.fd:
                if not self._read(w, out):
                    dead.append(w)
            elif w not in dead:  # sentinel: the process exited; read what it left first
                self._drain(w, out)
                dead.append(w)
        for w in dead:
            if not w.dead:
                self._retire(w, out, Outcome.INTERRUPTED, None)
        return self._end_poll(out)

    def shutdown(self) -> None:
        """Stop every worker: idle ones are asked to exit, busy ones are terminated (SIGTERM
        to their process groups); after a short grace period every worker's group is killed:
        a worker still alive, and whatever its objective left running. Idempotent."""
        if not self._open:
            return
        self._open = False
        for w in self._workers:
            if w.trial is None and not w.dead:
                # what its trials left running outside its group ends now, while its
                # parentage still leads to the worker (the group itself ends below)
                signal_escapees(w.process.pid, signal.SIGKILL)
                with contextlib.suppress(OSError):
                    write_all(w.fd, frame(None))
            else:
                _kill_group(w.process, signal.SIGTERM)
        deadline = time.monotonic() + SHUTDOWN_GRACE
        try:
            # waits on the sentinels, which (unlike join) leaves each exited worker
            # unreaped, its pid still naming its process group for the kill below
            waiting = {w.sentinel for w in self._workers if not w.dead}
            while waiting:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                waiting.difference_update(multiprocessing.connection.wait(list(waiting), left))
        finally:
            # also when a second Ctrl-C cuts the grace period short: no worker is left
            # running (one may ignore SIGTERM), nor anything its objective started, and a
            # third does not cut this short
            with _sigint_held():
                for w in self._workers:
                    _kill_group(w.process)
                for w in self._workers:
                    w.process.join(1.0)
                    w.conn.close()
                    w.dead = True
                self._workers.clear()
                self._owner.clear()
                self._poller = select.poll()
                self._idle.clear()
                self._running.clear()
                self._queue.clear()
                self._events = []
                self._processes.clear()
                self._recycler.clear()
                self._close_root()
                if self._tstp is not None:
                    with contextlib.suppress(ValueError):  # (not the main thread)
                        signal.signal(signal.SIGTSTP, self._tstp)
                    self._tstp = None

    def _follow_stops(self) -> None:
        """Stop the workers' process groups when the driver is stopped (Ctrl-Z: SIGTSTP,
        which reaches the terminal's foreground group, the driver's, not theirs) and continue
        them when it is continued. Only from the main thread, and only where SIGTSTP has its
        default action (a handler of the caller's is left alone); ``shutdown`` restores it."""
        import threading

        if (threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGTSTP) is not signal.SIG_DFL):
            return

        def on_stop(signum: int, frame: Any) -> None:
            groups = [w.process.pid for w in self._workers if not w.dead]
            for pid in groups:
                _signal_group(pid, signal.SIGSTOP)
            signal.signal(signal.SIGTSTP, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTSTP)  # stops here until continued
            signal.signal(signal.SIGTSTP, on_stop)
            for pid in groups:
                _signal_group(pid, signal.SIGCONT)

        self._tstp = signal.signal(signal.SIGTSTP, on_stop)

    # --- workers ----------------------------------------------------------------------------
    def _spawn(self) -> _Worker:
        parent, child = self._mp.Pipe(duplex=True)
        fork = self.start_method == "fork"
        # spawn: multiprocessing's Process, its bootstrap silent if the driver dies meanwhile
        process_type: Any = SpawnProcess if self.start_method == "spawn" else self._mp.Process
        process = process_type(
            target=worker_main,
            args=(child, self._payload, self.objective if fork else None, str(self._root),
                  self.checkpoint_every, os.getpid(),
                  fork and self.threads_per_worker is not None),
            name=f"rung-worker-{len(self.worker_pids)}",
            daemon=False,  # objectives may start processes of their own (data loaders)
        )
        if not fork:
            # started now, not inside the hold: starting it unblocks SIGINT in this thread
            multiprocessing.resource_tracker.ensure_running()
        with _thread_limits(self.threads_per_worker), _sigint_held():
            process.start()
            # registered before a Ctrl-C held meanwhile is raised: shutdown then stops it
            self.worker_pids.append(process.pid)
            child.close()  # only the worker holds its end: its death reads as end-of-file here
            w = _Worker(process, parent)
            self._processes.append(process)
            self._workers.append(w)
            self._owner[w.fd] = w
            self._owner[w.sentinel] = w
            self._poller.register(w.fd, select.POLLIN)
            self._poller.register(w.sentinel, select.POLLIN)
        return w  # idle (given trials) once it says it is ready

    def _send(self, w: _Worker, msg: Any) -> None:
        try:
            write_all(w.fd, frame(msg))
        except OSError:
            # the worker is dead: its sentinel (or end-of-file) reports it at the next poll
            log.debug("worker %s: send failed, it died", w.process.pid)

    def _read(self, w: _Worker, out: list[Event]) -> bool:
        """One read of ``w``'s pipe; decode every complete message into ``out``. False at
        end-of-file (the worker is gone)."""
        try:
            alive = w.reader.fill()
        except OSError:
            alive = False
        msgs = w.reader.messages()
        if msgs:
            self._decode(w, msgs, out)
        return alive

    def _drain(self, w: _Worker, out: list[Event]) -> None:
        """Read everything a dead worker left in its pipe (never blocks: a grandchild of the
        worker may still hold the pipe open)."""
        while w.poller.poll(0) and self._read(w, out):
            pass

    def _decode(self, w: _Worker, msgs: list[Any], out: list[Event]) -> None:
        # times are clamped to be non-decreasing: two workers' clocks are read a few
        # microseconds apart, and the engine's elapsed-time budget must never run backwards
        last = self._last
        try:
            for msg in msgs:
                tag = msg[0]
                if tag in EVENT_TAGS:
                    t = message_time(msg)
                    if t < last:
                        t = last
                    last = t
                    out.append(decode(msg, t))
                    if tag == ENDED and self._release(w, msg[1]):
                        if self._recycler.ended(w):
                            self._recycle(w)
                        else:
                            self._idle.append(w)
                elif tag == READY:
                    w.ready = True
                    self._startup_deaths = 0
                    self._startup = None
                    if w.trial is None and not w.dead:
                        self._idle.append(w)
                elif tag == INIT_ERROR:
                    raise RungError(
                        "worker processes cannot load the objective "
                        f"{callable_name(self.objective)}:\n{msg[1]}"
                    )
                else:
                    raise RungError(f"unexpected message from worker {w.process.pid}: {msg!r}")
        finally:
            self._last = last

    def _recycle(self, w: _Worker) -> None:
        """``w`` served its last run (``max_trials_per_worker``): end what its trials left outside
        its group (while its parentage still leads to it), ask it to exit, start its replacement;
        ``_retire`` removes it, and its group, once it is gone (``rung.executors.recycle``)."""
        signal_escapees(w.process.pid, signal.SIGKILL)
        self._send(w, None)
        if self._open:
            self._spawn()

    def _retire(self, w: _Worker, out: list[Event], outcome: Outcome, reason: str | None) -> None:
        """Remove a dead (or killed) worker: end its trial, replace it (unless recycled)."""
        w.dead = True
        recycled = self._recycler.forget(w)
        p = w.process
        if not w.killed:  # (else _stop_running killed and joined it)
            # what its objective started dies with it; one that closed its pipe but lingers
            # is of no use any more either
            _kill_group(p)
            p.join(1.0)
        self._workers.remove(w)
        with contextlib.suppress(ValueError):
            self._processes.remove(p)
        for fd in (w.fd, w.sentinel):
            self._owner.pop(fd, None)
            with contextlib.suppress(KeyError, ValueError):
                self._poller.unregister(fd)
        w.conn.close()
        if w.trial is not None:
            if self._root is not None:
                remove_partial_saves(self._root, w.trial, p.pid)
            if reason is None:
                reason = (f"worker process {p.pid} died ({_describe_exit(p.exitcode)}) while "
                          f"running trial {w.trial}")
            self._end_run(w, out, outcome, reason)
        elif not w.ready and p.exitcode != EXIT_NO_MAIN_GUARD:
            log.warning("worker process %s died at start-up (%s)", p.pid,
                        _describe_exit(p.exitcode))
        if not w.ready and p.exitcode == EXIT_NO_MAIN_GUARD:
            raise RungError(no_main_guard_message())
        if not w.ready:
            self._startup_deaths += 1
            if self._startup_deaths >= MAX_STARTUP_DEATHS:
                raise RungError(
                    f"{self._startup_deaths} worker processes in a row died before loading the "
                    f"objective {callable_name(self.objective)} "
                    f"(last: {_describe_exit(p.exitcode)})"
                )
        if self._open and not recycled:
            self._spawn()

    def _stop_running(self, w: _Worker, c: Cancel, outcome: Outcome = Outcome.STOPPED) -> None:
        p = w.process
        _kill_group(p)
        w.killed = True
        # bounded: a process stuck in the kernel (state D: a hung device or network file
        # system) outlives even SIGKILL until its call returns; the run goes on without it
        p.join(SHUTDOWN_GRACE)
        if p.exitcode is None:
            log.warning("worker process %s did not exit %g s after SIGKILL (stuck in the "
                        "kernel?): abandoned, its trial ends and a fresh worker takes its "
                        "place", p.pid, SHUTDOWN_GRACE)
        self._drain(w, self._events)  # what it sent before it died is still worth recording
        w.ready = True  # killed on purpose: not a start-up failure
        self._retire(w, self._events, outcome, c.reason)


__all__ = ["LocalExecutor", "usable_cpus"]
