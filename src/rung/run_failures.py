"""Why a run stops, or ends as a failure, for its trials' sake (``rung.driver.drive`` asks after
every turn, ``Study.run`` / ``simulate`` at the end): ``max_failures`` counted over the run
(``FailureBase``, ``failure_limit``), an objective or a constraint whose metric no trial
reports (``ObjectiveWatch``, ``ConstraintWatch``, and at the end ``check_produced``), and a
run in which every trial failed or none produced the objective metric. A trial the session's
``max_time`` cut did not fail by itself (``cut_by_time``) and counts toward none of these."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from rung.core.engine import Engine
from rung.core.events import Event, ResultReported
from rung.core.history import History, cut_by_max_time
from rung.core.records import TrialStatus
from rung.errors import RunFailed


def counts(engine: Engine) -> dict[str, int]:
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


class _MetricWatch:
    """What ``ConstraintWatch`` and ``ObjectiveWatch`` share: the metrics no trial has
    reported yet (``missing``), read from the history once, at the start, then from each
    turn's results until every one has been seen."""

    def __init__(self, engine: Engine, metrics: Iterable[str]) -> None:
        self.missing = list(dict.fromkeys(metrics))
        h = engine.history
        for t in h if self.missing else ():
            for r in h.results(t):
                self.missing = [m for m in self.missing if m not in r.metrics]
            if not self.missing:
                break

    def _seen(self, ev: ResultReported) -> None:
        self.missing = [m for m in self.missing if m not in ev.metrics]

    def _read(self, events: Iterable[Event]) -> bool:
        """Take in a turn's results; whether a metric is still missing."""
        for ev in events:
            if type(ev) is ResultReported:
                self._seen(ev)
        return bool(self.missing)


class ConstraintWatch(_MetricWatch):
    """Stops a run early whose constraint names a metric no trial reports (almost always a
    typo: every trial is infeasible), once ``UNREPORTED_AFTER`` trials completed in this run
    (ran to their end, so they will never report it) and no trial ever reported it. A metric
    reported only at some steps, or by some trials, is fine; a resumed run (its objective
    fixed) counts its own completions. The history is read once, at the start; then only each
    turn's results, until every constraint's metric has been seen."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, (c.metric for c in engine.spec.constraints))
        self.completed_before = engine.history.count(TrialStatus.COMPLETED)

    def check(self, engine: Engine, events: Iterable[Event]) -> str | None:
        """Why the run must stop (``None``: it need not), after a turn of ``events``."""
        if not self.missing or not self._read(events):
            return None
        completed = engine.history.count(TrialStatus.COMPLETED) - self.completed_before
        if completed < UNREPORTED_AFTER:
            return None
        metric = self.missing[0]
        i = next(k for k, c in enumerate(engine.spec.constraints) if c.metric == metric)
        return (f"constraints[{i}]: {completed} trials completed in this run and none reported "
                f"the metric {metric!r}, so every trial is infeasible (check the metric's "
                "name): the run was stopped early")


class ObjectiveWatch(_MetricWatch):
    """Stops a run early whose objective names a metric no trial reports (almost always a
    typo: every trial fails, ``metric 'latncy_ms' was not reported``), once
    ``UNREPORTED_AFTER`` trials that reported results failed in this run and no trial ever
    reported the metric. An objective whose missing values score worst (``nan="worst"``)
    fails no trial and is not watched. Like ``ConstraintWatch``, the history is read once, at
    the start; then only each turn's results, until every objective's metric has been seen."""

    def __init__(self, engine: Engine) -> None:
        objectives = engine.history.objectives
        super().__init__(engine, (o.metric for o in objectives if o.nan == "fail"))
        self.keys = {o.metric: "metric" if len(objectives) == 1 else f"metric[{i}]"
                     for i, o in enumerate(objectives)}
        self.reporters: set[int] = set()  # trials that reported in this run
        self.reported: dict[str, None] = {}  # the metrics they reported, in order

    def _seen(self, ev: ResultReported) -> None:
        super()._seen(ev)
        self.reporters.add(ev.trial_id)
        self.reported.update(dict.fromkeys(ev.metrics))

    def check(self, engine: Engine, events: Iterable[Event]) -> str | None:
        """Why the run must stop (``None``: it need not), after a turn of ``events``."""
        if not self.missing or not self._read(events):
            return None
        h = engine.history
        failed = sum(1 for t in self.reporters if h.status(t) is TrialStatus.FAILED)
        if failed < UNREPORTED_AFTER:
            return None
        metric = self.missing[0]
        names = list(self.reported)
        reported = ", ".join(repr(m) for m in names[:8]) + (", ..." if len(names) > 8 else "")
        return (f"{self.keys[metric]}: {failed} trials reported results in this run and failed, "
                f"none with the metric {metric!r} (reported: {reported or 'nothing'}), so every "
                "trial fails (check the metric's name): the run was stopped early")


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
    cut = sum(1 for t in h.ids(TrialStatus.FAILED) if cut_by_time(h, t))
    if produced:
        message = f"all {n} trials failed{why}"
    elif cut == n:  # the budget's time, not the objective, ended every trial
        metric = engine.spec.objective.metric
        trials = "trial was" if cut == 1 else "trials were"
        limit = engine.spec.budget.max_time
        message = (f"no trial produced the objective metric {metric!r} before the budget's "
                   f"max_time ({limit if limit is None else f'{limit:g}'} s) ended the run: {cut} "
                   f"{trials} cut by it before a first result (a step takes longer than that: "
                   f"raise Budget.max_time)")
    else:
        metric = engine.spec.objective.metric
        message = f"no trial produced the objective metric {metric!r}"
        if failed:
            message += f"; {failed} of {n} trials failed{why}"
    raise RunFailed(message, counts(engine))


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
            counts(engine),
        )


__all__ = [
    "UNREPORTED_AFTER",
    "ConstraintWatch",
    "FailureBase",
    "check_produced",
    "counts",
    "cut_by_time",
    "failure_limit",
]
