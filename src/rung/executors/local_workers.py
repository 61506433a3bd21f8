"""The local executor's worker processes: starting one (its slot's devices, thread limits,
output prefix), reading its pipe, and retiring it when it dies, is killed, is recycled or holds
too much memory, a fresh one taking its place. ``LocalExecutor`` (``rung.executors.local``)
drives them through the Executor protocol; this base holds what it does to one worker."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing.resource_tracker
import os
import select
import signal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from rung.core.events import Cancel, Event
from rung.core.records import Outcome
from rung.errors import RungError
from rung.executors.local_devices import Layout
from rung.executors.memory_limit import MemoryWatch, format_size
from rung.executors.pipe import FrameReader, frame, worker_main, write_all
from rung.executors.pool import (
    MAX_STARTUP_DEATHS,
    SHUTDOWN_GRACE,
    Pool,
    Slot,
    callable_name,
    remove_partial_saves,
)
from rung.executors.process_tree import signal_escapees
from rung.executors.processes import _describe_exit, _kill_group, _sigint_held, _thread_limits
from rung.executors.protocol import ENDED, EVENT_TAGS, INIT_ERROR, READY, decode, message_time
from rung.executors.recycle import Recycler
from rung.executors.spawn_guard import EXIT_NO_MAIN_GUARD, no_main_guard_message
from rung.executors.spawn_start import SpawnProcess
from rung.executors.startup_watch import StartupWatch

log = logging.getLogger("rung.local")


class LocalWorker(Slot):
    """One worker process of the local executor and its pipe."""

    __slots__ = ("conn", "device", "fd", "killed", "poller", "process", "reader", "ready",
                 "sentinel", "served")

    def __init__(self, process: Any, conn: Connection, device: str | None) -> None:
        super().__init__()
        self.process = process
        self.device = device  # its CUDA_VISIBLE_DEVICES (None: left as it is)
        self.conn = conn
        self.fd = conn.fileno()
        self.reader = FrameReader(self.fd)
        self.sentinel: int = process.sentinel
        self.poller = select.poll()  # this pipe alone: draining a dead worker
        self.poller.register(self.fd, select.POLLIN)
        self.ready = False  # it loaded the objective
        self.killed = False  # its process group was killed (before it was joined)
        self.served = 0  # runs it ended


class WorkerPool(Pool[LocalWorker]):
    """What the local executor does to one worker (see the module docstring); the attributes
    are ``LocalExecutor``'s."""

    objective: Any
    checkpoint_every: int | None
    start_method: str
    _method: str  # the start method resolved (``start_method`` may be "auto")
    prefix_output: bool
    worker_pids: list[int]
    _mp: Any
    _payload: bytes | None
    _root: Path | None
    _layout: Layout
    _processes: list[Any]
    _workers: list[LocalWorker]
    _owner: dict[int, LocalWorker]
    _poller: Any
    _recycler: Recycler
    _startup: StartupWatch | None
    _startup_deaths: int
    _memory: MemoryWatch | None

    # --- workers ----------------------------------------------------------------------------
    def _spawn(self, device: str | None) -> LocalWorker:
        """Start a worker; ``device``: its ``CUDA_VISIBLE_DEVICES`` (``None``: inherited)."""
        parent, child = self._mp.Pipe(duplex=True)
        fork = self._method == "fork"
        # spawn: multiprocessing's Process, its bootstrap silent if the driver dies meanwhile
        process_type: Any = SpawnProcess if self._method == "spawn" else self._mp.Process
        process = process_type(
            target=worker_main,
            args=(child, self._payload, self.objective if fork else None, str(self._root),
                  self.checkpoint_every, os.getpid(),
                  fork and self._layout.threads is not None,
                  None if device is None else {"CUDA_VISIBLE_DEVICES": device},
                  self.prefix_output),
            name=f"rung-worker-{len(self.worker_pids)}",
            daemon=False,  # objectives may start processes of their own (data loaders)
        )
        if not fork:
            # started now, not inside the hold: starting it unblocks SIGINT in this thread
            multiprocessing.resource_tracker.ensure_running()
        with _thread_limits(self._layout.threads), _sigint_held():
            process.start()
            # registered before a Ctrl-C held meanwhile is raised: shutdown then stops it
            self.worker_pids.append(process.pid)
            child.close()  # only the worker holds its end: its death reads as end-of-file here
            w = LocalWorker(process, parent, device)
            self._processes.append(process)
            self._workers.append(w)
            self._owner[w.fd] = w
            self._owner[w.sentinel] = w
            self._poller.register(w.fd, select.POLLIN)
            self._poller.register(w.sentinel, select.POLLIN)
        return w  # idle (given trials) once it says it is ready

    def _send(self, w: LocalWorker, msg: Any) -> None:
        try:
            write_all(w.fd, frame(msg))
        except OSError:
            # the worker is dead: its sentinel (or end-of-file) reports it at the next poll
            log.debug("worker %s: send failed, it died", w.process.pid)

    def _read(self, w: LocalWorker, out: list[Event]) -> bool:
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

    def _drain(self, w: LocalWorker, out: list[Event]) -> None:
        """Read everything a dead worker left in its pipe (never blocks: a grandchild of the
        worker may still hold the pipe open)."""
        while w.poller.poll(0) and self._read(w, out):
            pass

    def _decode(self, w: LocalWorker, msgs: list[Any], out: list[Event]) -> None:
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
                        w.served += 1
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

    def _recycle(self, w: LocalWorker) -> None:
        """``w`` served its last run (``max_trials_per_worker``): end what its trials left outside
        its group (while its parentage still leads to it), ask it to exit, start its replacement;
        ``_retire`` removes it, and its group, once it is gone (``rung.executors.recycle``)."""
        signal_escapees(w.process.pid, signal.SIGKILL)
        self._send(w, None)
        if self._open:
            self._spawn(w.device)  # its slot: it is idle, and gone within the recycler's grace

    def _retire(self, w: LocalWorker, out: list[Event], outcome: Outcome,
                reason: str | None) -> None:
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
            self._spawn(w.device)

    def _over_memory(self, w: LocalWorker, used: int, out: list[Event]) -> None:
        """``w`` holds ``used`` bytes, over ``max_memory_per_worker``: its trial fails (it is
        killed), or, idle, it is replaced; over it before it ever ran a trial (loading the
        objective, or ready and idle), no worker can keep to it: ``RungError``."""
        assert self._memory is not None
        limit = format_size(self._memory.limit)
        if not w.ready or (w.trial is None and not w.served):
            raise RungError(
                f"a worker process holds {format_size(used)} "
                f"{'while loading' if not w.ready else 'after loading'} the objective "
                f"{callable_name(self.objective)}, before running any trial: over "
                f"max_memory_per_worker ({limit}); raise it")
        if w.trial is not None:
            reason = self._memory.reason(used)
            log.info("trial %d: %s", w.trial, reason)
            self._stop_running(w, Cancel(w.trial, reason), Outcome.FAILED)
            self._urgent = True
            return
        log.warning("worker process %s holds %s between trials, over max_memory_per_worker "
                    "(%s): replaced", w.process.pid, format_size(used), limit)
        self._retire(w, out, Outcome.INTERRUPTED, None)

    def _stop_running(self, w: LocalWorker, c: Cancel, outcome: Outcome = Outcome.STOPPED) -> None:
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


__all__ = ["LocalWorker", "WorkerPool"]
