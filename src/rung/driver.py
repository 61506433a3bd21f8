"""The driver: the application's outer loop, the one place events become journaled commands.

One turn: let the engine handle each event, append the events and the commands they caused to
the journal in one transaction, and only then hand the commands on. The journal is therefore
always ahead of the workers: a command a worker acts on is never lost by a crash.

``turn`` is that step alone (``Study``'s ask / report / tell call it directly); ``drive`` loops
it over an ``Executor`` until the engine is done (``Study.run`` and ``Study.simulate``).
The driver knows executors only through the ``Executor`` protocol.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from rung.core.engine import Engine
from rung.core.events import (
    CapacityChanged,
    Command,
    Event,
    Record,
    StopSearch,
    Tick,
    TrialEnded,
    is_event,
)
from rung.core.launching import lost_worker_end
from rung.core.pricing import check_rate, check_spendable, check_table
from rung.core.records import Outcome, TrialStatus
from rung.errors import ConfigError, RunFailed
from rung.executors.base import Executor, RunContext
from rung.executors.pool import sweep_checkpoints
from rung.run_failures import (
    ConstraintWatch,
    FailureBase,
    ObjectiveWatch,
    counts,
    failure_limit,
)
from rung.storage.base import Journal

if TYPE_CHECKING:
    from rung.callbacks import Callback
    from rung.dashboard.snapshot import RunWriter
    from rung.reporter import Reporter

log = logging.getLogger("rung.driver")


class StallError(RuntimeError):
    """The executor has nothing in flight but the engine still waits for trials."""


def handle(engine: Engine, events: Iterable[Event], records: list[Record]) -> list[Command]:
    """Let ``engine`` handle ``events`` in order (a run whose worker was lost after it was
    done or told to stop ends as ``rung.core.launching.lost_worker_end`` says); append each
    event and then the commands it caused to ``records``; return the commands for executors
    (a ``StopSearch`` note is journaled, not returned). Journals nothing: the caller appends
    ``records`` (``turn`` does)."""
    commands: list[Command] = []
    for ev in events:
        if type(ev) is TrialEnded:
            ended = lost_worker_end(engine, ev)
            if ended is not ev:
                how = ("told to stop" if ended.outcome is Outcome.STOPPED
                       else f"done (step {engine.spec.max_step})")
                log.info("trial %d: %s after it was %s: it ended %s", ev.trial_id,
                         ev.error or "its run ended interrupted", how, ended.outcome)
                ev = ended
        cmds = engine.handle(ev)
        records.append(ev)
        if cmds:
            records.extend(cmds)
            commands.extend(c for c in cmds if type(c) is not StopSearch)  # a journal note
    return commands


def turn(engine: Engine, journal: Journal, study: str, events: Iterable[Event]) -> list[Command]:
    """One driver turn: handle ``events``, journal them with their commands in one
    transaction, return the commands (to be acted on only now that they are journaled).
    ``events``, when it is a list, holds the events as handled afterwards (``handle``)."""
    records: list[Record] = []
    commands = handle(engine, events, records)
    journal.append(study, records)
    if isinstance(events, list):
        events[:] = [r for r in records if is_event(r)]
    return commands


def drive(
    engine: Engine,
    executor: Executor,
    journal: Journal,
    ctx: RunContext,
    poll_timeout: float = 1.0,
    on_turn: Callable[[Engine], None] | None = None,
    first: list[Event] | None = None,
    reporter: Reporter | None = None,
    callbacks: Sequence[Callback] = (),
    stop: Callable[[], bool] | None = None,
) -> None:
    """Run the study until the engine is done (budget spent or nothing left to launch), or
    until ``stop()`` (asked after every turn: ``Study.stop``) said so and the trials in flight
    have ended (the session's capacity is journaled as 0 then: no trial starts), then
    shut the executor down (also when anything raises). After the first turn (journaled, so
    this session holds the study's journal) and before its commands are carried out, the
    checkpoint directory loses what the study no longer needs (``sweep_checkpoints``), and
    one warning names the trials to resume whose checkpoints are missing from it
    (``warn_missing_checkpoints``: the executor fails them as they are launched).

    Args:
        first: extra events to handle before the executor's first ones (used on resume).
        on_turn: called after every turn (progress display); must not change anything.
        reporter: told about every turn's events (failed trials) and the end of the run.
        callbacks: ``on_turn(events, commands, history)`` after every turn, once it is
            journaled and its commands submitted (see ``rung.callbacks``); an exception
            propagates (the executor is shut down, the journal is intact).

    Raises:
        StallError: the executor is ``idle`` while the engine still waits for trials.
        RunFailed: more trials failed in this run than the spec's ``max_failures`` allows
            (failures of earlier runs of the study do not count: ``FailureBase``), or an
            objective's metric was never reported by the trials that failed
            (``ObjectiveWatch``), or a constraint's by the trials that completed
            (``ConstraintWatch``).
    """
    check_checkpoint_root(engine, ctx.checkpoint_dir)  # before the executor makes it
    pending: list[Event] = [*(first or []), *executor.start(ctx)]
    try:
        check_reported_resources(engine, pending)
    except BaseException:
        executor.shutdown()
        raise
    ended = False  # the run ended as runs end (budget, nothing left, max_failures)
    views = _view_writer(journal, ctx.study)
    sweep = None if ctx.checkpoint_dir is None else Path(ctx.checkpoint_dir)
    base: FailureBase | None = None
    watch, unreported = ConstraintWatch(engine), ObjectiveWatch(engine)
    winding = False  # ``stop()`` said: no trial starts from now on, the session ends empty
    pace = TickPace(poll_timeout)
    try:
        while True:
            # ``stop()`` asked before this turn (in on_start, a callback, or another thread
            # during the wait): no trial starts in this session from now on
            winding = winding or (stop is not None and stop())
            if winding:
                pending = [replace(e, capacity=0) if type(e) is CapacityChanged else e
                           for e in pending]
                if engine.capacity and not any(type(e) is CapacityChanged for e in pending):
                    pending.insert(0, CapacityChanged(0, engine.now))
            warn_unpriceable(engine, pending, reporter)
            commands = turn(engine, journal, ctx.study, pending)
            if base is None:
                # after the first turn: trials a resume ended (failed for too many
                # interruptions) or retried are the earlier run's, not this one's
                base = FailureBase.of(engine)
            if sweep is not None:
                # now that this session holds the journal and before it launches anything:
                # what an earlier session was told to delete (or left half-saved) goes
                sweep_checkpoints(sweep, engine.checkpoints.paths())
                warn_missing_checkpoints(engine, sweep, reporter)
                sweep = None
            if commands:
                executor.submit(commands)
            if reporter is not None:
                reporter.on_turn(engine, pending)
            if on_turn is not None:
                on_turn(engine)
            if callbacks:
                h = engine.history
                for cb in callbacks:
                    cb.on_turn(pending, commands, h)
            if views is not None:
                views.after_turn(engine)
            limit = (failure_limit(engine, base) or unreported.check(engine, pending)
                     or watch.check(engine, pending))
            if limit is not None:
                ended = True
                raise RunFailed(limit, counts(engine))
            if engine.done:
                ended = True
                break
            winding = winding or (stop is not None and stop())
            if winding and not engine.active:
                ended = True  # ``Study.stop``: the trials in flight have ended
                break
            pending = _next_events(engine, executor, poll_timeout, pace, reporter)
    finally:
        executor.shutdown()
        if views is not None and ended:
            views.at_end(engine)
        if reporter is not None and ended:
            reporter.end(engine, ctx.study)


#: longest gap, in seconds, between two ``Tick`` events while every slot is busy and nothing
#: else happens (a journal record each: a day of hour-long steps wrote 86,400 of them)
TICK_MAX_GAP = 30.0


class TickPace:
    """When a poll with nothing to report becomes a ``Tick`` (time passed, journaled).

    With a free slot, every such poll does: the engine may then launch (a result since the
    last launch may have made a paused trial promotable). With every slot busy a ``Tick``
    can launch nothing (``rung.core.launching.fill`` needs a free slot), it only moves the
    journal's clock (what a reader of a live study sees as its time and charges runs in
    flight up to): it is due ``gap`` seconds after the last record, ``gap`` doubling from the
    poll's timeout to ``TICK_MAX_GAP`` while nothing else happens. Either way the engine
    decides exactly as it would with a ``Tick`` every poll."""

    def __init__(self, first_gap: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.first_gap = max(first_gap, 1e-3)
        self.gap = self.first_gap
        self.clock = clock
        self.last = clock()

    def activity(self) -> None:
        """Events other than a ``Tick`` arrived: the next quiet stretch starts over."""
        self.gap = self.first_gap
        self.last = self.clock()

    def due(self, engine: Engine) -> bool:
        """A poll found nothing: whether to journal a ``Tick`` now."""
        now = self.clock()
        if len(engine.active) < engine.capacity or now - self.last >= self.gap * 0.999:
            if len(engine.active) >= engine.capacity:
                self.gap = min(2 * self.gap, max(TICK_MAX_GAP, self.first_gap))
            self.last = now
            return True
        return False


def _next_events(engine: Engine, executor: Executor, poll_timeout: float, pace: TickPace,
                 reporter: Reporter | None) -> list[Event]:
    """The executor's next events, or a ``Tick`` when ``pace`` says one is due; between
    them the reporter is told of an empty turn (a live view redraws its clock).

    Raises:
        StallError: the executor is ``idle`` while the engine still waits for trials."""
    while True:
        pending = executor.poll(poll_timeout)
        if pending:
            pace.activity()
            return pending
        if executor.idle:
            raise StallError(
                f"{len(engine.active)} trial(s) active but the executor runs nothing"
            )
        if pace.due(engine):
            return [Tick(executor.now())]
        if reporter is not None:
            reporter.on_turn(engine, ())


def warn_unpriceable(engine: Engine, events: Sequence[Event], reporter: Reporter | None) -> None:
    """One warning (through ``reporter`` when there is one, else this module's logger) for
    each executor report (``CapacityChanged.resources``) in ``events`` whose hourly rate at
    the study's prices is not a finite number: the engine keeps what trials held before
    (``rung.core.pricing.reported_resources``), and the warning names the report and what
    stays in effect. Called before the engine handles ``events``."""
    prices = engine.spec.prices or {}
    for ev in events:
        if not isinstance(ev, CapacityChanged) or ev.resources is None:
            continue
        try:
            check_rate(prices, check_table(ev.resources, "resources_per_trial"))
        except ConfigError as err:
            held = ", ".join(f"{d}={a:g}" for d, a in engine.meter.resources.items()) or "nothing"
            text = (f"the executor reported what a trial holds, but {err}; trials launched from "
                    f"now on are charged as before ({held})")
            if reporter is not None:
                reporter.emit(logging.WARNING, text)
            else:
                log.warning("%s", text)


def warn_missing_checkpoints(engine: Engine, root: Path, reporter: Reporter | None) -> None:
    """One warning (through ``reporter`` when there is one, else this module's logger) naming
    every trial that may be resumed from a checkpoint (paused, interrupted, or being launched)
    whose checkpoint is not in ``root``, the session's checkpoint directory: deleted since it
    was saved. Such a trial's ``Launch`` fails it (``rung.executors.pool``)."""
    h = engine.history
    missing = [(tid, c.path) for tid in h.ids(_RESUMABLE)
               if (c := h.checkpoint(tid)) is not None and not (root / c.path).is_dir()]
    if not missing:
        return
    text = (f"{len(missing)} checkpoint(s) the journal names are missing from {root} (deleted "
            f"since they were saved?): " + ", ".join(f"trial {t} ({p})" for t, p in missing)
            + "; these trials fail when they are resumed")
    if reporter is not None:
        reporter.emit(logging.WARNING, text)
    else:
        log.warning("%s", text)


_RESUMABLE = (TrialStatus.PAUSED, TrialStatus.INTERRUPTED, TrialStatus.LAUNCHED)


def check_checkpoint_root(engine: Engine, root: Path | str | None) -> None:
    """Refuse, before anything of the session is journaled, to resume a study whose trials to
    resume name checkpoints while its whole checkpoint directory ``root`` is missing: the
    journal was moved (or copied) without its ``<stem>-checkpoints/`` directory, and resuming
    would fail every such trial for good. (Checkpoints missing from a ``root`` that is there
    were deleted one by one: ``warn_missing_checkpoints``, and the trials fail.)

    Raises:
        ConfigError: keyed ``storage``, one line naming the directory and where it must be.
    """
    if root is None or Path(root).is_dir():
        return
    h = engine.history
    # (the trials a stopped driver left running are resumed too, from their checkpoints)
    named = [tid for tid in h.ids((*_RESUMABLE, TrialStatus.RUNNING))
             if h.checkpoint(tid) is not None]
    if not named:
        return
    home = Path(root).parent
    raise ConfigError(key="storage", message=(
        f"cannot resume: {len(named)} trial(s) to resume have checkpoints in the "
        f"{home.name}/ directory, which must sit beside the journal and is not there "
        f"(expected: {root}); move it beside the journal, then resume (if those checkpoints "
        "are gone for good, create the directory empty: the trials then fail as resumed)"))


def check_reported_resources(engine: Engine, events: Sequence[Event]) -> None:
    """Refuse, before anything of the session is journaled, a ``max_cost`` /
    ``max_gpu_hours`` budget that trials holding what the executor reports (its first
    ``CapacityChanged(resources=...)``) would never spend: ``ConfigError`` as
    ``rung.core.pricing.check_spendable`` raises it. (Executors that report nothing are
    checked before they start, by ``Study.run``.)"""
    b = engine.spec.budget
    if b.max_cost is None and b.max_gpu_hours is None and b.stop is None:
        for ev in events:  # whatever the budget, a rate that overflows a float is refused
            if isinstance(ev, CapacityChanged) and ev.resources is not None:
                check_rate(engine.spec.prices or {}, ev.resources)
                return
        return
    for ev in events:
        if isinstance(ev, CapacityChanged) and ev.resources is not None:
            check_spendable(b.max_cost, b.max_gpu_hours, engine.spec.prices or {},
                            ev.resources, reported=True)
            from rung.cost.stop_rule import check_value_priced

            check_value_priced(b.stop, engine.spec.prices or {}, ev.resources, reported=True)
            return


def _view_writer(journal: Journal, study: str) -> RunWriter | None:
    """The writer of the dashboard's snapshot beside an SQLite journal (``None`` for a
    journal without a file): a cache of the dashboard's pages so that opening a large study
    does not replay it (``rung.dashboard.snapshot``; it never raises, and writes nothing for a
    journal under its ``MIN_RECORDS``)."""
    if getattr(journal, "path", None) is None:
        return None
    from rung.dashboard.snapshot import RunWriter

    return RunWriter(journal, study)


__all__ = ["StallError", "check_checkpoint_root", "check_reported_resources", "drive", "handle",
           "turn", "warn_missing_checkpoints", "warn_unpriceable"]
