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
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rung.core.engine import Engine
from rung.core.events import (
    CapacityChanged,
    Command,
    Event,
    Record,
    ResultReported,
    StopSearch,
    Tick,
)
from rung.core.history import History, cut_by_max_time
from rung.core.pricing import check_spendable
from rung.core.records import TrialStatus
from rung.errors import RunFailed
from rung.executors.base import Executor, RunContext
from rung.executors.pool import sweep_checkpoints
from rung.storage.base import Journal

if TYPE_CHECKING:
    from rung.callbacks import Callback
    from rung.dashboard.snapshot import RunWriter
    from rung.reporter import Reporter

log = logging.getLogger("rung.driver")


class StallError(RuntimeError):
    """The executor has nothing in flight but the engine still waits for trials."""


def handle(engine: Engine, events: Iterable[Event], records: list[Record]) -> list[Command]:
    """Let ``engine`` handle ``events`` in order; append each event and then the commands it
    caused to ``records``; return the commands for executors (a ``StopSearch`` note is
    journaled, not returned). Journals nothing: the caller appends ``records`` (``turn``
    does)."""
    commands: list[Command] = []
    for ev in events:
        cmds = engine.handle(ev)
        records.append(ev)
        if cmds:
            records.extend(cmds)
            commands.extend(c for c in cmds if type(c) is not StopSearch)  # a journal note
    return commands


def turn(engine: Engine, journal: Journal, study: str, events: Iterable[Event]) -> list[Command]:
    """One driver turn: handle ``events``, journal them with their commands in one
    transaction, return the commands (to be acted on only now that they are journaled)."""
    records: list[Record] = []
    commands = handle(engine, events, records)
    journal.append(study, records)
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
) -> None:
    """Run the study until the engine is done (budget spent or nothing left to launch), then
    shut the executor down (also when anything raises). After the first turn (journaled, so
    this session holds the study's journal) and before its commands are carried out, the
    checkpoint directory loses what the study no longer needs (``sweep_checkpoints``).

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
            (failures of earlier runs of the study do not count: ``FailureBase``), or a
            constraint's metric was never reported by the trials that completed
            (``ConstraintWatch``).
    """
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
    watch = ConstraintWatch(engine)
    try:
        while True:
            commands = turn(engine, journal, ctx.study, pending)
            if base is None:
                # after the first turn: trials a resume ended (failed for too many
                # interruptions) or retried are the earlier run's, not this one's
                base = FailureBase.of(engine)
            if sweep is not None:
                # now that this session holds the journal and before it launches anything:
                # what an earlier session was told to delete (or left half-saved) goes
                sweep_checkpoints(sweep, engine.checkpoints.paths())
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
            limit = failure_limit(engine, base) or watch.check(engine, pending)
            if limit is not None:
                ended = True
                raise RunFailed(limit, _counts(engine))
            if engine.done:
                ended = True
                break
            pending = executor.poll(poll_timeout)
            if not pending:
                if executor.idle:
                    raise StallError(
                        f"{len(engine.active)} trial(s) active but the executor runs nothing"
                    )
                pending = [Tick(executor.now())]
    finally:
        executor.shutdown()
        if views is not None and ended:
            views.at_end(engine)
        if reporter is not None and ended:
            reporter.end(engine, ctx.study)


def check_reported_resources(engine: Engine, events: Sequence[Event]) -> None:
    """Refuse, before anything of the session is journaled, a ``max_cost`` /
    ``max_gpu_hours`` budget that trials holding what the executor reports (its first
    ``CapacityChanged(resources=...)``) would never spend: ``ConfigError`` as
    ``rung.core.pricing.check_spendable`` raises it. (Executors that report nothing are
    checked before they start, by ``Study.run``.)"""
    b = engine.spec.budget
    if b.max_cost is None and b.max_gpu_hours is None and b.stop is None:
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


def _counts(engine: Engine) -> dict[str, int]:
    h = engine.history
    return {s.value: h.count(s) for s in TrialStatus if h.count(s)}


@dataclass(frozen=True)
class FailureBase:
    """What had failed and ended before a run (a session of ``drive``) began: ``max_failures``
    counts only what fails in the run, so a resumed study is not stopped at once by the
    failures that stopped its previous run."""

    failed: frozenset[int] = frozenset()
    ended: int = 0

    @classmethod
    def of(cls, engine: Engine) -> FailureBase:
        h = engine.history
        failed = frozenset(h.ids(TrialStatus.FAILED))
        return cls(failed, len(failed) + h.count(TrialStatus.COMPLETED)
                   + h.count(TrialStatus.STOPPED))


#: completed trials after which a run stops when none of its trials ever reported a
#: constraint's metric (``ConstraintWatch``)
UNREPORTED_AFTER = 3


class ConstraintWatch:
    """Stops a run early whose constraint names a metric no trial reports (almost always a
    typo: every trial is infeasible), once ``UNREPORTED_AFTER`` trials completed in this run
    (ran to their end, so they will never report it) and no trial ever reported it. A metric
    reported only at some steps, or by some trials, is fine; a resumed run (its objective
    fixed) counts its own completions. The history is read once, at the start; then only each
    turn's results, until every constraint's metric has been seen."""

    def __init__(self, engine: Engine) -> None:
        self.missing = list(dict.fromkeys(c.metric for c in engine.spec.constraints))
        h = engine.history
        self.completed_before = h.count(TrialStatus.COMPLETED)
        for t in h if self.missing else ():
            for r in h.results(t):
                self.missing = [m for m in self.missing if m not in r.metrics]
            if not self.missing:
                break

    def check(self, engine: Engine, events: Iterable[Event]) -> str | None:
        """Why the run must stop (``None``: it need not), after a turn of ``events``."""
        if not self.missing:
            return None
        for ev in events:
            if type(ev) is ResultReported:
                self.missing = [m for m in self.missing if m not in ev.metrics]
        completed = engine.history.count(TrialStatus.COMPLETED) - self.completed_before
        if not self.missing or completed < UNREPORTED_AFTER:
            return None
        metric = self.missing[0]
        i = next(k for k, c in enumerate(engine.spec.constraints) if c.metric == metric)
        return (f"constraints[{i}]: {completed} trials completed in this run and none reported "
                f"the metric {metric!r}, so every trial is infeasible (check the metric's "
                "name): the run was stopped early")


def failure_limit(engine: Engine, base: FailureBase = FailureBase()) -> str | None:
    """Why the run must stop because of ``max_failures`` (``None``: it need not), counting
    only the trials that failed and ended since ``base`` (the run's start). A count stops it
    once that many trials failed; a fraction once that share of the ended trials failed,
    judged when at least 5 ended. A trial killed because the session's ``max_time`` ran out
    while it ran did not fail by itself: it ended, but is not counted as failed. O(1) until
    the failures reach the limit; then O(failed trials). A failed trial never changes status
    within a run (``retry_failed`` acts at its start, before ``base`` is taken)."""
    limit = engine.spec.max_failures
    if limit is None:
        return None
    h = engine.history
    failed = h.count(TrialStatus.FAILED) - len(base.failed)
    if failed <= 0:
        return None
    ended = failed + h.count(TrialStatus.COMPLETED) + h.count(TrialStatus.STOPPED) \
        + len(base.failed) - base.ended
    if failed < (limit if isinstance(limit, int) else limit * ended):
        return None
    failed = sum(1 for t in h.ids(TrialStatus.FAILED)
                 if t not in base.failed and not cut_by_time(h, t))
    if isinstance(limit, int):
        if failed < limit:
            return None
        allowed = f"max_failures={limit}"
    else:
        if ended < 5 or failed < limit * ended:
            return None
        allowed = f"max_failures={limit} of the {ended} trials ended in this run"
    trials = "trial" if failed == 1 else "trials"
    return f"{failed} {trials} failed in this run ({allowed}): the run was stopped early"


def cut_by_time(h: History, trial_id: int) -> bool:
    """The trial was killed because the session's ``max_time`` ran out (not its own
    ``trial_timeout``)."""
    return cut_by_max_time(h.error(trial_id))


def check_produced(engine: Engine) -> None:
    """Raise ``RunFailed`` when the study has trials and every one of them failed, or none
    reported the objective metric as a finite number (they failed, reported NaN, or reported
    other metrics)."""
    h = engine.history
    n = len(h)
    if not n:
        return
    # a trial that reported results and was then cut by the session's max_time did not fail
    # for its own reasons: the budget ended in the middle of a step (it keeps its status and
    # reason; it only does not make the run a failure)
    failed = sum(1 for t in h.ids(TrialStatus.FAILED) if not _cut_by_max_time(h, t))
    # (once per run; the scan stops at the first scored result)
    produced = any(math.isfinite(v) for t in h for v in h.scores(t).values())
    if produced and failed < n:
        _check_constraints_reported(engine)
        return
    from rung.reporter import error_summary

    first = next((h.error(t) for t in sorted(h.ids(TrialStatus.FAILED)) if h.error(t)), None)
    why = f" (first: {error_summary(first)})" if first is not None else ""
    if produced:
        message = f"all {n} trials failed{why}"
    else:
        metric = engine.spec.objective.metric
        message = f"no trial produced the objective metric {metric!r}"
        if failed:
            message += f"; {failed} of {n} trials failed{why}"
    raise RunFailed(message, _counts(engine))


def _cut_by_max_time(h: History, trial_id: int) -> bool:
    """The trial reported a finite score and then ran past the session's ``max_time``."""
    return (cut_by_time(h, trial_id)
            and any(math.isfinite(v) for v in h.scores(trial_id).values()))


def _check_constraints_reported(engine: Engine) -> None:
    """Raise ``RunFailed`` when a constraint's metric was never reported by any trial: every
    trial then counts as infeasible, which is almost always a typo in the metric's name. A
    metric reported only at some steps (at the end, say) is fine. One scan, once per run."""
    h = engine.history
    missing = list(engine.spec.constraints)
    for t in h:
        for r in h.results(t):
            missing = [c for c in missing if c.metric not in r.metrics]
            if not missing:
                return
    if missing:
        i = engine.spec.constraints.index(missing[0])
        raise RunFailed(
            f"constraints[{i}]: no trial reported the metric {missing[0].metric!r}, so every "
            "trial is infeasible (check the metric's name)",
            _counts(engine),
        )


__all__ = ["ConstraintWatch", "FailureBase", "StallError", "check_produced", "cut_by_time", "drive",
           "failure_limit", "handle", "turn"]
