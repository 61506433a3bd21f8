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
import select
import signal
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Literal

from rung.core.events import CapacityChanged, Event
from rung.core.pricing import check_table
from rung.core.records import Outcome
from rung.errors import ConfigError
from rung.executors.base import RunContext
from rung.executors.local_devices import Layout, layout
from rung.executors.local_workers import LocalWorker, WorkerPool
from rung.executors.memory_limit import MemoryWatch, parse_size
from rung.executors.payload import serialize_objective, start_method_for
from rung.executors.pipe import frame, write_all
from rung.executors.pool import (
    MAX_TIME_GRACE,
    SHUTDOWN_GRACE,
    callable_name,
)
from rung.executors.process_tree import signal_escapees
from rung.executors.processes import (
    _kill_group,
    _reap,
    _sigint_held,
    check_local_options,
    follow_stops,
    usable_cpus,
)
from rung.executors.recycle import Recycler
from rung.executors.startup_watch import StartupWatch
from rung.executors.worker import TrialContext

log = logging.getLogger("rung.local")

class LocalExecutor(WorkerPool):
    """Runs trials in worker processes on this machine.

    Args:
        objective: ``objective(ctx: rung.TrialContext)``. With the default ``spawn`` start
            method it must be importable by name (a module-level function, or a picklable
            callable object); a lambda or a nested function raises ``ConfigError`` naming it.
            ``None``: run the objective of the session (``RunContext.objective``: the one
            ``Study.run`` was given), which this instance then keeps.
            As with any spawn-based code, a script must guard its entry point with
            ``if __name__ == "__main__":``.
        n_workers: worker processes, i.e. trials run at once. Default: the CPUs this process
            may use, divided by the CPUs a trial holds, and no more than the GPU slots when a
            trial holds GPUs (``rung.executors.local_devices``).
        checkpoint_every: if set, every report whose step is a multiple of it (and the report
            at ``max_step``) saves a checkpoint through the report's ``save`` callback, so an
            interrupted trial resumes from there (worker-side: costs no round trip).
        start_method: ``"auto"`` (default): ``"spawn"``, or ``"fork"`` for an objective spawn
            workers cannot import (defined in a notebook or an interactive session, a lambda,
            a closure; the run says so in one line); ``"spawn"`` (safe with threads, CUDA and
            SQLite in the driver), ``"forkserver"`` or ``"fork"`` (starts faster and takes any
            callable, but forks the driver's threads and open handles).
        threads_per_worker: BLAS/OpenMP threads each worker may use (``OMP_NUM_THREADS`` and
            friends, set for the worker unless already set in the environment). The default,
            ``"auto"``, is the CPUs a trial holds (``resources_per_trial``), else 1: one
            worker per core, since n workers each starting n BLAS threads oversubscribe the
            machine (seen here: 20x slower boosting steps). ``None`` leaves them alone.
            With ``"fork"``, the thread pools a worker inherits from the driver (numpy's BLAS,
            torch's, OpenMP's, created before the fork) are also set to the worker's
            ``OMP_NUM_THREADS`` when it starts.
        max_trials_per_worker: runs a worker process serves before it is retired and a fresh
            one takes its place (``rung.executors.recycle``), so memory, files, threads or
            global state its trials leak end with it. ``None`` (default): workers serve the
            whole session; ``1``: every run gets a fresh process.
        resources_per_trial: the devices a trial holds (``{"cpu": 2, "gpu": 1}``, as
            ``Study.create`` takes them). Default ``None``: the study's ``resources_per_trial``
            under ``Study.run`` (``use_study_resources``), else one CPU. They set the default
            worker and thread counts, and a trial holding GPUs runs on a worker whose
            ``CUDA_VISIBLE_DEVICES`` names its GPUs alone (whole ones, or a share of one for a
            fraction: ``rung.executors.local_devices``); when this process sees no GPU, the
            trials run on the CPU and a warning says so. Given here, they are what the
            ledger charges.
        prefix_output: each line a trial prints through ``sys.stdout`` / ``sys.stderr``
            starts with ``[trial <id>] `` (default ``True``), so the lines of workers sharing
            a terminal can be told apart (``rung.executors.output_prefix``: a ``\r``-redrawn
            progress bar keeps it; what C code or child processes write to the descriptors
            directly is not prefixed). ``False``: written as printed.
        max_memory_per_worker: bytes (or ``"4GB"``, ``"4GiB"``) a worker and the processes
            below it may hold (their proportional set size, read every second): a worker
            over it is killed with its processes, its trial ends ``failed`` (``memory:
            its worker used 4.3 GB, over max_memory_per_worker (4 GB): killed``), and a fresh
            worker takes its place; an idle one over it is replaced
            (``rung.executors.memory_limit``). ``None`` (default): no limit.

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
        start_method: str = "auto",
        threads_per_worker: int | Literal["auto"] | None = "auto",
        max_trials_per_worker: int | None = None,
        resources_per_trial: Mapping[str, float] | None = None,
        prefix_output: bool = True,
        max_memory_per_worker: float | str | None = None,
    ) -> None:
        if objective is not None and not callable(objective):
            raise ConfigError(f"objective: expected a callable, got {objective!r}")
        check_local_options(n_workers, checkpoint_every, threads_per_worker,
                            max_trials_per_worker)
        self.threads_per_worker = threads_per_worker
        self.max_trials_per_worker = max_trials_per_worker
        self.prefix_output = bool(prefix_output)
        self.max_memory_per_worker = (None if max_memory_per_worker is None
                                      else parse_size(max_memory_per_worker))
        self._memory: MemoryWatch | None = None
        self._recycler = Recycler(max_trials_per_worker)
        methods = ["auto", *multiprocessing.get_all_start_methods()]
        if start_method not in methods:
            raise ConfigError(f"start_method: must be one of {methods}, got {start_method!r}")
        self.objective = objective
        self.resources = (None if resources_per_trial is None
                          else check_table(resources_per_trial, "resources_per_trial"))
        self._given_workers = n_workers
        # the layout of the resources given (the study's may replace them before start)
        self._layout = self._lay_out()
        self.n_workers = self._layout.n_workers
        self.checkpoint_every = checkpoint_every
        self.start_method = start_method
        # checked now for an early, clear error; pickled again at start (an instance built
        # without one takes the session's)
        self._method = start_method if start_method != "auto" else "spawn"
        if objective is not None:
            self._method = start_method_for(objective, start_method)
            if self._method != "fork":
                serialize_objective(objective)
        self._payload: bytes | None = None
        self._mp: Any = multiprocessing.get_context(self._method)
        self._workers: list[LocalWorker] = []
        self._processes: list[Any] = []  # this session's processes, for the finalizer
        self.worker_pids: list[int] = []  # every worker process ever started, in order
        self._finalizer = weakref.finalize(self, _reap, self._processes)
        self._poller = select.poll()  # every worker's pipe and sentinel
        self._owner: dict[int, LocalWorker] = {}  # descriptor (pipe or sentinel) -> worker
        self._startup: StartupWatch | None = None  # until a worker of the session is ready
        self._tstp: Any = None  # SIGTSTP's disposition before start (_follow_stops)
        self._study_held = False  # resources from use_study_resources: the engine's already
        super().__init__()

    def _lay_out(self) -> Layout:
        return layout(self.resources, self._given_workers, self.threads_per_worker,
                      usable_cpus())

    def use_study_resources(self, study: Mapping[str, float] | None) -> None:
        """Hold what the study says a trial holds (its ``resources_per_trial``, canonical), when
        this executor was built without its own; ``Study.run`` calls it before the session.

        Raises:
            ConfigError: both given and different (key ``resources_per_trial``), or a layout
                ``rung.executors.local_devices.layout`` refuses; nothing has started."""
        if study is None:
            return
        if self.resources is not None:
            if dict(self.resources) != dict(study):
                raise ConfigError(key="resources_per_trial", message=(
                    f"the local executor's {self.resources} differs from the study's "
                    f"{dict(study)} (Study.create): give it once, or the same devices in both"))
            return
        self.resources = dict(study)
        self._layout = self._lay_out()
        self.n_workers = self._layout.n_workers
        self._study_held = True

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
        self._method = start_method_for(self.objective, self.start_method)
        self._mp = multiprocessing.get_context(self._method)
        if self._method != "fork":
            self._payload = serialize_objective(self.objective)
        elif self.start_method == "auto":
            logging.getLogger("rung.run").warning(
                "objective %s: spawn workers cannot import it (defined in a notebook or an "
                "interactive session, a lambda, a closure): its workers are forked "
                "(start_method='fork')", callable_name(self.objective))
        self._open_root(ctx)
        self._open = True
        self._startup_deaths = 0
        if self.max_memory_per_worker is not None:
            self._memory = MemoryWatch(self.max_memory_per_worker)
        self._startup = StartupWatch(
            callable_name(self.objective), ctx.trial_timeout, ctx.max_time, MAX_TIME_GRACE)
        lay = self._layout = self._lay_out()  # the GPUs seen now
        self.n_workers = lay.n_workers
        if lay.warning is not None:
            log.warning("%s", lay.warning)
        try:
            for i in range(self.n_workers):
                self._spawn(lay.slots[i] if lay.slots else None)
            self._follow_stops()
        except BaseException:  # Ctrl-C or a failed start: take down what already started
            self.shutdown()
            raise
        described: dict[str, Any] = {"name": "local", "start_method": self._method}
        if lay.slots:  # each worker's CUDA_VISIBLE_DEVICES, "/" between workers
            described["gpus"] = "/".join(lay.slots[:self.n_workers])
        return [CapacityChanged(self.n_workers, self.now(), new_session=True,
                                resources=None if self._study_held else self.resources,
                                executor=described)]

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
        if self._memory is not None:
            over, timeout = self._memory.check(list(self._workers), timeout)
            for w, used in over:
                self._over_memory(w, used, out)
        if self._startup is not None:  # until a worker of the session is ready
            timeout = self._startup.check(bool(self._queue), False, timeout)
        ms = -1 if timeout is None else max(0, math.ceil(timeout * 1000))
        ready = self._poller.poll(ms)
        if not ready:
            return self._end_poll(out) if self._events else out
        owner = self._owner
        dead: list[LocalWorker] = []
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
        """Ctrl-Z stops and continues the workers with the driver (``follow_stops``);
        ``shutdown`` restores SIGTSTP's disposition."""
        self._tstp = follow_stops(
            lambda: [w.process.pid for w in self._workers if not w.dead])


__all__ = ["LocalExecutor", "usable_cpus"]
