"""What every real executor shares: worker slots, the launch queue, dispatch, cancel, checkpoint
deletion, run tokens and a clock that never runs backwards.

A ``Pool`` keeps one ``Slot`` per worker (a local process, a Ray actor). Launches wait in a
queue until a slot is idle and ready (worker start-up is not a trial's time); each dispatch
gets a fresh run token, so a reply that crossed a trial's end on the wire is never applied to
a later run. Events the pool makes itself (a
``TrialStarted`` at dispatch, a ``TrialEnded`` for a cancelled trial) are held until the next
``poll``: a ``TrialStarted`` waits at most ``STARTED_DELAY`` for worker messages to travel with
(one driver turn and one journal transaction for both), a cancellation is delivered at once.

A ``Launch`` that names a checkpoint which is not in the checkpoint directory (deleted since
it was saved) never reaches a worker: its trial ends ``failed`` with ``missing_checkpoint``'s
reason (the driver warns once per session, naming every resumable trial whose checkpoint is
missing: ``rung.driver.warn_missing_checkpoints``). The failure is an event, journaled like
any other, so replay agrees (the engine cannot look at files).

Every run is bounded: a trial running longer than the session's ``trial_timeout``, or still
running ``MAX_TIME_GRACE`` seconds after the session's ``max_time`` (counted from the first
dispatch), is killed and ends ``failed`` with reason ``timeout: ...``. ``_begin_poll`` wakes
the poll for the next such deadline and enforces the ones that passed.

Subclasses move the messages (``_send``), stop a running trial (``_stop_running``) and read
their workers in ``poll`` between ``_begin_poll`` and ``_end_poll``.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections import deque
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

from rung.core.events import (
    Cancel,
    Command,
    DeleteCheckpoint,
    Event,
    Launch,
    Reply,
    TrialEnded,
    TrialStarted,
)
from rung.core.records import Outcome
from rung.executors.atomic_dir import recover_asides
from rung.executors.base import RunContext
from rung.executors.protocol import Message, encode_launch, encode_reply

log = logging.getLogger("rung.pool")

# A TrialStarted made by the executor itself (at dispatch) travels with the next batch of worker
# messages rather than in a driver turn (and a journal transaction) of its own; it waits at most
# this long for company.
STARTED_DELAY = 0.05
# Consecutive workers that die before they are ready: after this many, the objective cannot be
# run (an import that crashes the interpreter, a node without rung) and the run fails instead of
# starting workers forever.
MAX_STARTUP_DEATHS = 3
# Seconds workers get to exit cleanly at shutdown (or to flush what they sent before a cancel).
SHUTDOWN_GRACE = 2.0
# Seconds past ``max_time`` that running trials get to reach their next report (where the
# engine stops them) before they are killed as timed out.
MAX_TIME_GRACE = 1.0


class Slot:
    """One worker as the pool sees it: the trial it runs (``None``: idle), that run's token,
    and whether the worker is gone."""

    __slots__ = ("dead", "token", "trial")

    def __init__(self) -> None:
        self.trial: int | None = None
        self.token = 0
        self.dead = False


W = TypeVar("W", bound=Slot)


class Pool(Generic[W]):
    """The shared half of a real executor (see the module docstring). Not an executor by itself:
    subclasses add ``start``, ``poll`` and ``shutdown``."""

    def __init__(self) -> None:
        self._idle: deque[W] = deque()  # ready workers without a trial
        self._running: dict[int, W] = {}  # trial id -> its worker
        self._queue: deque[Launch] = deque()  # launches waiting for a worker
        self._events: list[Event] = []  # events made here, returned by the next poll
        self._urgent = False  # _events holds something the driver must see at once
        self._token = 0
        self._last = 0.0
        self._startup_deaths = 0
        self._root: Path | None = None
        self._tmp_root: str | None = None
        self._open = False
        # time bounds of the session (see the module docstring)
        self._trial_timeout: float | None = None
        self._max_time: float | None = None
        # on the monotonic clock (time.monotonic), as the runs' dispatch times below
        self._deadline: float | None = None  # set at the first dispatch, with max_time
        self._started: dict[int, float] = {}  # trial id -> when its run was dispatched

    # --- the shared half of the Executor protocol -----------------------------------------------
    def now(self) -> float:
        """Wall-clock time, never earlier than any time this executor has reported."""
        t = time.time()
        if t < self._last:
            return self._last
        self._last = t
        return t

    @property
    def idle(self) -> bool:
        """Nothing runs, waits for a worker, or waits to be reported."""
        return not self._running and not self._queue and not self._events

    def submit(self, commands: Sequence[Command]) -> None:
        """Launches go to idle workers (or wait for one), replies to the worker running the
        trial (a reply for a trial no longer running is dropped), ``Cancel`` stops the trial's
        worker (or drops the queued launch), ``DeleteCheckpoint`` removes the directory. A
        launch whose checkpoint is missing fails its trial instead (module docstring)."""
        launches: list[Launch] = []
        for c in commands:
            if isinstance(c, Reply):
                w = self._running.get(c.trial_id)
                if w is not None:
                    self._send(w, encode_reply(c, w.token))
            elif isinstance(c, Launch):
                launches.append(c)
            elif isinstance(c, Cancel):
                self._cancel(c)
            elif isinstance(c, DeleteCheckpoint):
                self._delete(c.path)
            else:
                raise TypeError(f"{type(self).__name__} cannot run {c!r}")
        if launches:
            self._queue.extend(self._with_checkpoints(launches))
        if self._queue:
            self._dispatch()
        self._flush()

    # --- for subclasses -----------------------------------------------------------------------
    def _send(self, w: W, msg: Any) -> None:
        """Send ``msg`` to ``w``; a dead worker is reported by its transport, not here."""
        raise NotImplementedError

    def _stop_running(self, w: W, c: Cancel, outcome: Outcome = Outcome.STOPPED) -> None:
        """Stop the worker running ``c.trial_id`` (kill it), record what it sent before, end
        the trial with ``outcome`` (default ``stopped``) and ``c.reason``, and replace the
        worker."""
        raise NotImplementedError

    def _launch_message(self, launch: Launch, token: int) -> Message:
        """The ``LAUNCH`` message for ``launch`` (a transport may attach data to it)."""
        return encode_launch(launch, token)

    def _flush(self) -> None:
        """Push out messages a transport batches per driver turn (none by default)."""

    def _open_root(self, ctx: RunContext) -> None:
        """Open the session: its checkpoint directory and its time bounds."""
        self._root, self._tmp_root = ctx.checkpoint_root()
        self._trial_timeout = ctx.trial_timeout
        self._max_time = ctx.max_time
        self._deadline = None
        self._started.clear()

    def _close_root(self) -> None:
        if self._tmp_root is not None:
            shutil.rmtree(self._tmp_root, ignore_errors=True)
            self._tmp_root = None

    def _begin_poll(self, timeout: float | None) -> tuple[list[Event], float | None]:
        """Enforce the timeouts that passed; take the held events; shorten ``timeout`` so
        they are not held for long, nor a deadline missed."""
        if self._started and (self._trial_timeout is not None or self._deadline is not None):
            wake = self._expire()
            if wake is not None:
                wait = max(0.0, wake - time.monotonic())
                timeout = wait if timeout is None else min(timeout, wait)
        if self._events:
            if self._urgent:
                timeout = 0.0
            elif timeout is None or timeout > STARTED_DELAY:
                timeout = STARTED_DELAY
        out = self._events
        self._events = []
        self._urgent = False
        return out, timeout

    def _end_poll(self, out: list[Event]) -> list[Event]:
        """Dispatch what waits, flush, and add the events made meanwhile."""
        if self._queue:
            self._dispatch()
        self._flush()
        if self._events:  # made while reading (a dispatch, a cancellation): deliver them too
            out.extend(self._events)
            self._events = []
            self._urgent = False
        return out

    def _with_checkpoints(self, launches: Sequence[Launch]) -> list[Launch]:
        """``launches`` but those whose checkpoint is missing from the checkpoint directory:
        their trials end failed (``missing_checkpoint``), the events held for the next poll."""
        root = self._root
        if root is None or all(c.checkpoint is None for c in launches):
            return list(launches)
        ok: list[Launch] = []
        missing: list[Launch] = []
        for c in launches:
            (ok if c.checkpoint is None or (root / c.checkpoint).is_dir() else missing).append(c)
        if missing:
            t = self.now()
            for c in missing:
                assert c.checkpoint is not None
                self._events.append(TrialEnded(c.trial_id, Outcome.FAILED, t,
                                               missing_checkpoint(root / c.checkpoint)))
            self._urgent = True
        return ok

    def _dispatch(self) -> None:
        t = self.now()
        while self._queue and self._idle:
            w = self._idle.popleft()
            if w.dead:
                continue
            launch = self._queue.popleft()
            if launch.checkpoint is not None and not self._with_checkpoints([launch]):
                self._idle.appendleft(w)  # deleted while the launch waited for a worker
                continue
            self._token += 1
            w.trial = launch.trial_id
            w.token = self._token
            self._running[launch.trial_id] = w
            self._send(w, self._launch_message(launch, self._token))
            self._events.append(TrialStarted(launch.trial_id, t))
            mono = time.monotonic()
            self._started[launch.trial_id] = mono
            if self._deadline is None and self._max_time is not None:
                self._deadline = mono + self._max_time + MAX_TIME_GRACE

    def _expire(self) -> float | None:
        """Kill the runs past their deadline (ending them ``failed``, reason ``timeout``);
        return the next deadline of a run still going (``None``: none). Deadlines are on the
        monotonic clock: a step of the wall clock (NTP, waking from suspend) times nothing
        out."""
        now = time.monotonic()
        per_trial = self._trial_timeout
        deadline = self._deadline
        nxt: float | None = None
        for tid, t0 in list(self._started.items()):
            w = self._running.get(tid)
            if w is None or w.trial != tid:
                del self._started[tid]
                continue
            ends = reason = None
            if per_trial is not None:
                ends = t0 + per_trial
                reason = f"timeout: trial_timeout of {per_trial:g} s reached"
            if deadline is not None and (ends is None or deadline < ends):
                ends = deadline
                reason = (f"timeout: still running {MAX_TIME_GRACE:g} s after max_time "
                          f"({self._max_time:g} s) was reached")
            if ends is None or reason is None:
                continue
            if now >= ends:
                del self._started[tid]
                # the trial's failure line (``rung.reporter``) says why; this is the detail
                log.info("trial %d: %s; its worker is killed", tid, reason)
                self._stop_running(w, Cancel(tid, reason), Outcome.FAILED)
                self._urgent = True
            elif nxt is None or ends < nxt:
                nxt = ends
        if deadline is not None and now >= deadline and self._queue:
            for launch in self._queue:  # never started: the session's time is up
                self._events.append(TrialEnded(launch.trial_id, Outcome.STOPPED, self.now(),
                                               "max_time reached before it started"))
            self._queue.clear()
            self._urgent = True
        return nxt

    def _release(self, w: W, trial_id: int) -> bool:
        """The worker says ``trial_id`` ended: free its slot (True), unless it had already
        moved on (a late message: False)."""
        if w.trial != trial_id:
            return False
        w.trial = None
        del self._running[trial_id]
        self._started.pop(trial_id, None)
        return True

    def _end_run(self, w: W, out: list[Event], outcome: Outcome, reason: str) -> None:
        """End the trial ``w`` runs with ``outcome`` (its worker is gone or was killed)."""
        tid = w.trial
        if tid is None:
            return
        del self._running[tid]
        self._started.pop(tid, None)
        w.trial = None
        if outcome is Outcome.INTERRUPTED:  # ``rung.reporter`` shows it to the user
            log.info("trial %d: %s", tid, reason)
        out.append(TrialEnded(tid, outcome, self.now(), reason))

    def _cancel(self, c: Cancel) -> None:
        w = self._running.get(c.trial_id)
        if w is None:
            for launch in self._queue:
                if launch.trial_id == c.trial_id:
                    self._queue.remove(launch)
                    self._events.append(
                        TrialEnded(c.trial_id, Outcome.STOPPED, self.now(), c.reason)
                    )
                    self._urgent = True
                    break
            return  # not running here (it ended already): nothing to cancel
        self._stop_running(w, c)
        self._urgent = True

    def _delete(self, path: str) -> None:
        root = self._root
        if root is None:
            return
        target = (root / path).resolve()
        if root not in target.parents:
            log.warning("not deleting checkpoint %r: outside the checkpoint directory %s",
                        path, root)
            return
        remove_dir(target, root)


def missing_checkpoint(path: Path) -> str:
    """The error of a trial whose launch names a checkpoint that is not there."""
    return f"its checkpoint {path} is missing (deleted since it was saved?)"


def remove_dir(path: Path, stop: Path) -> None:
    """Remove ``path``, then its parents up to (not including) ``stop`` while they are empty
    (a trial's directory goes with its last checkpoint; it stays while a newer checkpoint or a
    save in progress is in it)."""
    shutil.rmtree(path, ignore_errors=True)
    parent = path.parent
    while parent != stop and stop in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent


def remove_partial_saves(root: Path, trial_id: int, pid: int) -> None:
    """Remove the temporary directories of a save the dead worker ``pid`` cut short
    (``<trial>/.tmp-<step>-<pid>``, ``TrialContext``'s): the next session's sweep would, but a
    study that never resumes would keep them. An old checkpoint the save had moved aside
    (``atomic_dir.recover_asides``) is put back under its name first: it is the one the
    journal names."""
    tdir = root / str(trial_id)
    for name in recover_asides(tdir, pid):
        log.warning("checkpoint %d/%s put back: worker %d was killed while replacing it",
                    trial_id, name, pid)
    for d in tdir.glob(f".tmp-*-{pid}"):
        remove_dir(d, root)


def sweep_checkpoints(root: Path, held: Collection[str]) -> list[str]:
    """Remove from the checkpoint directory ``root`` what the study no longer needs and a
    stopped session left behind: trial checkpoints ``<trial>/<step>`` that are not in ``held``
    (the paths the engine still references; one whose ``DeleteCheckpoint`` was journaled just
    before the driver was killed was never deleted), and ``<trial>/.tmp-*`` directories of
    saves cut short. An old checkpoint that a save killed half-way had moved aside
    (``atomic_dir.recover_asides``: only where the atomic exchange is unavailable) is first put
    back under its name, then kept or removed like any other. Only names of those shapes are
    touched. Call it only while this session holds the study's journal, before it launches
    anything (so no save of its own is under way). Returns the removed paths, relative to
    ``root``, sorted."""
    removed: list[str] = []
    try:
        trials = [d for d in root.iterdir() if d.name.isdigit() and d.is_dir()]
    except OSError:
        return removed  # no directory yet: nothing was saved
    for tdir in trials:
        for name in recover_asides(tdir):
            log.warning("checkpoint %s/%s put back: a save killed half-way had moved it aside",
                        tdir.name, name)
        try:
            entries = list(tdir.iterdir())
        except OSError:
            continue
        for d in entries:
            rel = f"{tdir.name}/{d.name}"
            if d.is_dir() and (d.name.startswith(".tmp-")
                               or (d.name.isdigit() and rel not in held)):
                remove_dir(d, root)
                removed.append(rel)
    if removed:
        log.info("removed %d checkpoint(s) the study no longer needs from %s", len(removed),
                 root)
    return sorted(removed)


def callable_name(fn: Any) -> str:
    """``module.qualname`` of a callable, for error messages."""
    mod = getattr(fn, "__module__", None)
    qual = getattr(fn, "__qualname__", None) or getattr(type(fn), "__qualname__", repr(fn))
    return f"{mod}.{qual}" if mod else str(qual)


__all__ = [
    "MAX_STARTUP_DEATHS",
    "MAX_TIME_GRACE",
    "SHUTDOWN_GRACE",
    "STARTED_DELAY",
    "Pool",
    "Slot",
    "callable_name",
    "missing_checkpoint",
    "remove_dir",
    "remove_partial_saves",
    "sweep_checkpoints",
]
