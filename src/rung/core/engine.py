"""The ``Engine``: the one pure object that owns all trial state.

``Engine.handle(event) -> list[Command]`` is the only thing that changes a study. The engine does
no I/O, reads no clock (time arrives inside events), starts no threads and draws no global random
numbers, so the same events always give the same commands: that is what makes journal replay,
the simulated executor and the conformance suites possible.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from rung.core._paused_notes import end_retired, note_resumes
from rung.core.as_written import refuse
from rung.core.budget import Budget
from rung.core.checkpoints import Checkpoints
from rung.core.components import (
    BindContext,
    EndRequest,
    ResultRequest,
    Scheduler,
    Searcher,
)
from rung.core.events import (
    Action,
    BudgetChanged,
    CapacityChanged,
    CheckpointSaved,
    Command,
    Decision,
    Event,
    ParamsUsed,
    Record,
    Reply,
    ResultReported,
    StopSearch,
    Tick,
    TrialEnded,
    TrialEnqueued,
    TrialRetried,
    TrialStarted,
)
from rung.core.history import History
from rung.core.launching import _Lease, abandoned_ends, cap_lease, fill
from rung.core.metering import Meter
from rung.core.metric_value import is_real, metric_problem
from rung.core.pricing import DEFAULT_RESOURCES
from rung.core.proposals import on_enqueued, on_params_used, settle
from rung.core.records import Outcome, Result, StudySpec, TrialStatus
from rung.core.replay import replay
from rung.core.rng import StreamFactory
from rung.core.stopping import SearchStopRule, StopRequest, StopVerdict
from rung.errors import ConfigError
from rung.space import SearchSpace
from rung.space.learned import SpaceLearner

#: ``TrialEnded.error`` / ``Trial.error`` of a trial failed because it was interrupted more
#: often than its scheduler's ``max_interruptions`` (``Study.run(retry_failed=True)`` retries it)
TOO_MANY_INTERRUPTIONS = "too many interruptions"

#: ``TrialEnded.error`` of a run its driver left active when it stopped (a crash, a kill, a
#: Ctrl-C): not the trial's doing, so it does not count toward ``max_interruptions``
DRIVER_STOPPED = "the driver stopped while it ran (not counted toward max_interruptions)"


class Engine:
    """Owns the ``History``, the searcher, the scheduler, capacity, leases and the budget.

    Args:
        spec: the study specification.
        searcher, scheduler: component instances (built from ``spec`` by ``from_spec``).
    """

    def __init__(self, spec: StudySpec, searcher: Searcher, scheduler: Scheduler) -> None:
        self.spec = spec  # as it is now (``BudgetChanged`` replaces its budget)
        self.created_spec = spec  # as the study was created: what a replay starts from
        self.history = History(
            spec.space, spec.objective, spec.max_step, spec.objectives, spec.constraints
        )
        self.searcher = searcher
        self.scheduler = scheduler
        ctx = BindContext(spec.space, spec.objective, spec.max_step, spec.seed)
        searcher.bind(ctx)
        scheduler.bind(ctx)
        # the scheduler's hook, unless it keeps the base class's (``_paused_notes.paused_decision``)
        self._ask_paused: Callable[[int], Decision | None] | None = (
            None if type(scheduler).paused_decision is Scheduler.paused_decision
            else scheduler.paused_decision)
        self.capacity = 0
        self._multi = len(self.history.objectives) > 1
        # the scheduler had nothing to launch while nothing ran (PBT's population finished,
        # a searcher exhausted): the search is over though no budget limit was reached
        self.exhausted = False
        self._bounded = bounded(spec.budget)
        # cost (Budget.max_cost / max_gpu_hours, the stop rule): what trials held, measured
        # from the events' times; per-trial resources from the executor (CapacityChanged),
        # else the spec, else one CPU
        self.meter = Meter(spec.prices, spec.resources_per_trial or DEFAULT_RESOURCES)
        self.runs_ended = 0
        self.stop_rule: SearchStopRule | None = None
        self.stopped: StopVerdict | None = None  # the stop rule's verdict, once it stopped
        # during replay: the commands the journal holds for the event being replayed (the stop
        # rule's verdict is taken from there: its floating-point evidence may differ in the
        # last bits between processes, as BLAS threads do)
        self._journaled: Sequence[Command] | None = None
        self.active: dict[int, _Lease] = {}
        #: events handled so far (replayed ones included): equal counts on one engine mean
        #: no event changed it in between (ask/tell's ask skips a repeat of an idle turn)
        self.handled = 0
        self.now = 0.0  # time of the last event
        self.elapsed = 0.0  # driver time summed over sessions (for Budget.max_time)
        self._clock_started = False
        self.tail: list[Command] = []  # after replay: regenerated commands not in the journal
        self._replay_params: dict[int, Mapping[str, Any]] = {}
        self._streams = StreamFactory()
        # after replay: how the code that wrote the journal differs from this code, if it does
        self.version_note: str | None = None
        # a reader's replay that diverged: the journal is followed (rung.core.as_written)
        self.read_as_written: str | None = None
        # checkpoint lifecycle: who still needs each checkpoint, and the best N kept
        self.checkpoints = Checkpoints()
        # issue 18: the space a define-by-run study learned so far, and the configurations
        # enqueued (``points_to_evaluate``, ``Study.enqueue``) that launch before suggestions
        self.space: SearchSpace = spec.space
        self._learner = SpaceLearner(spec.space) if spec.define_by_run else None
        self._queue: deque[Mapping[str, Any]] = deque(spec.points_to_evaluate)

    @classmethod
    def from_spec(cls, spec: StudySpec) -> Engine:
        from rung.core.registry import build

        searcher = build("searcher", spec.searcher)
        scheduler = build("scheduler", spec.scheduler)
        assert isinstance(searcher, Searcher) and isinstance(scheduler, Scheduler)
        engine = cls(spec, searcher, scheduler)
        if spec.budget.stop is not None:
            try:
                rule = build("stop_rule", spec.budget.stop)
            except ConfigError as e:  # the registry names its kind; the spec's key is budget.stop
                key = e.key or ""
                if key != "stop_rule" and not key.startswith("stop_rule."):
                    raise
                raise ConfigError(key="budget.stop" + key[len("stop_rule"):],
                                  message=e.message) from None
            assert isinstance(rule, SearchStopRule)
            engine.set_stop_rule(rule)
        return engine

    def set_stop_rule(self, rule: SearchStopRule) -> None:
        """Bind ``rule`` (built from ``spec.budget.stop``); call before the first event."""
        rule.bind(BindContext(self.spec.space, self.spec.objective, self.spec.max_step,
                              self.spec.seed))
        self.stop_rule = rule

    # --- status -----------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """True when nothing runs and nothing more will be launched with the current capacity."""
        return self.capacity > 0 and not self.active

    def budget_left(self) -> bool:
        """False once any budget limit is reached (time, steps, money, GPU-hours) or the stop
        rule stopped the search."""
        b = self.spec.budget
        if self.out_of_time(self.now):
            return False
        if b.max_steps is not None and self.history.steps_consumed >= b.max_steps:
            return False
        return self.stopped is None and not self.meter.spent(b)

    def out_of_time(self, t: float) -> bool:
        """``Budget.max_time`` would be reached by an event at time ``t``: what
        ``budget_left`` would say about time after handling it (its clock runs from the first
        trial start of a session)."""
        mt = self.spec.budget.max_time
        if mt is None:
            return False
        ahead = t - self.now if self._clock_started and t > self.now else 0.0
        return self.elapsed + ahead >= mt

    @property
    def over(self) -> bool:
        """True when another session would launch nothing: nothing runs or waits to be sent,
        and the last turn, with workers to fill, found a budget limit reached or nothing to
        launch (``exhausted``). (``Study.run`` then starts no worker.)"""
        return (not self.active and not self.tail and self.capacity > 0
                and (self.exhausted or not self.budget_left()))

    def _may_start_new(self) -> bool:
        n = self.spec.budget.n_trials
        return n is None or self.history.n_suggested < n

    # --- the one entry point ------------------------------------------------------------------
    def handle(self, event: Event) -> list[Command]:
        """Apply one event and return the commands it causes."""
        if self.read_as_written is not None and self._journaled is None:
            refuse(self)  # it follows its journal (rung.core.as_written): it decides nothing
        on = _HANDLERS.get(type(event))
        if on is None:  # a subclass of an event kind, or not an event
            on = next((h for k, h in _HANDLERS.items() if isinstance(event, k)), None)
            if on is None:
                raise TypeError(f"not an event: {event!r}")
        # the clock: elapsed time adds up within a session, not across the gap between two
        t = event.time
        if type(t) is not float:
            t = float(t)
        # (Budget.max_time counts from the first trial start of a session: worker start-up
        # before it is not the search's time)
        if isinstance(event, CapacityChanged) and event.new_session:
            self._clock_started = False
            for lease in self.active.values():  # the gap between sessions costs nothing
                self.meter.charge(lease.meter, self.now)
                lease.meter.since = lease.meter.last = t
        elif type(event) in _RUN_EVENTS:
            run = self.active.get(event.trial_id)  # type: ignore[union-attr]
            if run is not None:
                self.meter.charge(run.meter, t)
        if self._clock_started and t > self.now:
            self.elapsed += t - self.now
        elif type(event) is TrialStarted or type(event) is ResultReported:
            self._clock_started = True
        self.now = t
        self.handled += 1
        out: list[Command] = []
        on(self, event, out)
        if self.checkpoints.held:  # checkpoints kept for a scheduler's planned forks
            self.checkpoints.release(self.history, self.spec.keep_checkpoints,
                                     self.spec.max_step, out, self.scheduler.needs_checkpoint)
        return out

    # --- small events -------------------------------------------------------------------------
    def _on_started(self, ev: TrialStarted, out: list[Command]) -> None:
        if ev.trial_id in self.active:
            self.history._start(ev.trial_id)

    def _on_checkpoint_saved(self, ev: CheckpointSaved, out: list[Command]) -> None:
        if ev.trial_id in self.history:
            self.checkpoints.on_saved(self.history, ev, out)

    def _on_capacity(self, ev: CapacityChanged, out: list[Command]) -> None:
        if ev.capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {ev.capacity}")
        if ev.resources is not None:
            self.meter.set_resources(ev.resources)
        self.capacity = ev.capacity
        self._fill(out)

    def _on_tick(self, ev: Tick, out: list[Command]) -> None:
        self._fill(out)

    def _on_budget(self, ev: BudgetChanged, out: list[Command]) -> None:
        """The budget from now on: a search that had ended for want of budget goes on (its
        searcher's state as it was; the scheduler told when new trials may start again:
        ``Scheduler.on_budget_raised``) at the next event that fills workers (a
        session's ``CapacityChanged``, an ``ask``): none is filled here, where the capacity is
        the last session's and no executor may be running."""
        budget = Budget.from_json(ev.budget)
        self.spec = dataclasses.replace(self.spec, budget=budget)
        self._bounded = bounded(budget)
        if self._may_start_new():  # (a lower n_trials leaves a spent study over)
            self.exhausted = False
            self.scheduler.on_budget_raised(self.history)

    # --- results ------------------------------------------------------------------------------
    def _on_result(self, ev: ResultReported, out: list[Command]) -> None:
        lease = self.active.get(ev.trial_id)
        if lease is None:
            return  # a late result from a trial that already ended: journaled, not applied
        step = int(ev.step)
        consumed = max(0, step - lease.position)
        lease.meter.on_result(ev.time, consumed)
        lease.position = max(lease.position, step)
        lease.reported = True
        result = Result(step, ev.metrics, ev.time)  # events are immutable: no copy needed
        score = self.history._add_result(ev.trial_id, result, consumed)
        if lease.decided:
            return
        if score == math.inf or self._multi or self.history.constraints:
            # a metric missing, NaN, infinite or not a number; a constraint's not a number
            bad = self._invalid_metric(ev.metrics, step)
            if bad is not None:  # Objective(nan="fail"): the run ends failed, never scored
                lease.failure = bad
                lease.decided = True
                if step < self.spec.max_step:
                    out.append(Reply(ev.trial_id, step, Decision.stop(f"failed: {bad}")))
                return
        request = ResultRequest(ev.trial_id, result, score, lease.until_step, self.history)
        decision = self.scheduler.on_result(request)
        retired = self.scheduler.retired()
        if retired:
            self._end_retired(retired, out)
        if step >= self.spec.max_step:
            return  # the trial is finishing anyway; the worker does not wait at max_step
        if decision.action is Action.CONTINUE and self._bounded and not self.budget_left():
            decision = Decision.stop("budget exhausted" if self.stopped is None
                                     else f"search stopped: {self.stopped.reason}")
        if decision.action is not Action.CONTINUE:
            lease.decided = True
            lease.outcome = Outcome.PAUSED if decision.action is Action.PAUSE else Outcome.STOPPED
            out.append(Reply(ev.trial_id, step, decision))
        elif step >= lease.until_step:
            until = decision.until_step if decision.until_step is not None else self.spec.max_step
            until = self._cap_lease(step, min(until, self.spec.max_step), lease)
            lease.until_step = max(until, step + 1)
            if decision.until_step != lease.until_step:
                decision = Decision(
                    decision.action, lease.until_step, decision.checkpoint, decision.reason
                )
            out.append(Reply(ev.trial_id, step, decision))
        elif decision.checkpoint:
            out.append(Reply(ev.trial_id, step, decision))

    def _invalid_metric(self, metrics: Mapping[str, Any], step: int) -> str | None:
        """Why ``metrics`` cannot be scored under an objective whose ``nan`` policy is
        ``"fail"``, or why a constraint cannot read them: its metric reported and not a
        number (``None``: they can, or every unscorable objective says ``"worst"``; a
        constraint's metric missing, None or NaN reads as violated, ``rung.core.constraints``)."""
        for o in self.history.objectives:
            if o.nan == "fail":
                bad = o.problem(metrics)
                if bad is not None:
                    return f"{bad} at step {step}"
        for c in self.history.constraints:
            v = metrics.get(c.metric)
            if v is not None and not is_real(v):
                return (f"{metric_problem(c.metric, v)}, the metric of constraint "
                        f"'{c.text()}', at step {step}")
        return None

    def _cap_lease(self, position: int, until: int, lease: _Lease | None = None) -> int:
        """``until`` capped to the budget's share of this run (``launching.cap_lease``)."""
        return cap_lease(self, position, until, lease)

    def _on_end(self, ev: TrialEnded, out: list[Command]) -> None:
        lease = self.active.pop(ev.trial_id, None)
        if lease is None:
            return  # duplicate or late end of a trial that is not active
        outcome = ev.outcome if type(ev.outcome) is Outcome else Outcome(ev.outcome)
        error = ev.error
        if lease.failure is not None and not (ev.told and outcome is Outcome.FAILED and error):
            # it reported an invalid objective metric: that is why it failed, unless the
            # caller ended it failed and said why (Study.tell(..., "failed", error=...))
            outcome, error = Outcome.FAILED, lease.failure
        h = self.history
        h._end(ev.trial_id, outcome.status, error, counted=error != DRIVER_STOPPED)
        if outcome.status.final:
            settle(self, ev.trial_id)
            self._retire_checkpoint(ev.trial_id, outcome, out)
        self.scheduler.on_trial_end(EndRequest(ev.trial_id, outcome, h))
        self.runs_ended += 1
        if self.stop_rule is not None and self.stopped is None:
            if self._journaled is not None:  # replay: the journal's verdict, if any
                note = next((c for c in self._journaled if type(c) is StopSearch), None)
                if note is not None:
                    self.stopped = StopVerdict(note.reason, note.evidence)
                    out.append(note)
            else:
                verdict = self.stop_rule.check(StopRequest(
                    h, ev.trial_id, self.meter.cost, self.meter.device_hours, self.runs_ended))
                if verdict is not None:
                    self.stopped = verdict
                    out.append(StopSearch(verdict.reason, dict(verdict.evidence)))
        if outcome is Outcome.INTERRUPTED:
            n = h.interruptions(ev.trial_id)
            if n > self.scheduler.max_interruptions:
                # the scheduler will not resume it: it fails, visibly, keeping its checkpoint
                # (``Study.run(retry_failed=True)`` resumes it from there)
                h._end(ev.trial_id, TrialStatus.FAILED,
                       f"{TOO_MANY_INTERRUPTIONS} ({n}; last: {error or 'no reason given'})")
        retired = self.scheduler.retired()
        if retired:
            self._end_retired(retired, out)
        self._fill(out)

    def _on_retry(self, ev: TrialRetried, out: list[Command]) -> None:
        """A trial failed for too many interruptions becomes interrupted again, its count of
        interruptions reset, so the scheduler resumes it."""
        h = self.history
        tid = ev.trial_id
        if tid in h and h.status(tid) is TrialStatus.FAILED and is_retryable(h.error(tid)):
            h._retry(tid)
            self._fill(out)

    def _end_retired(self, trial_ids: Sequence[int], out: list[Command]) -> None:
        """End paused trials the scheduler will never resume, journaling its reason
        (``rung.core._paused_notes.end_retired``)."""
        end_retired(self, trial_ids, out)

    # --- checkpoint lifecycle (rung.core.checkpoints) -------------------------------------
    @property
    def checkpoint_bytes(self) -> int:
        """Total size of the checkpoints some trial still needs."""
        return self.checkpoints.nbytes

    def _retire_checkpoint(self, trial_id: int, outcome: Outcome, out: list[Command]) -> None:
        self.checkpoints.retire(self.history, trial_id, outcome, self.spec.keep_checkpoints,
                                self.spec.max_step, out, self.scheduler.needs_checkpoint)

    # --- launching (rung.core.launching) -------------------------------------------------
    def _fill(self, out: list[Command]) -> None:
        start = len(out)
        fill(self, out)
        if self._ask_paused is not None and len(out) > start:
            # a resume launch: the scheduler may say why it resumed the trial (a rung's promotion)
            note_resumes(self, out, start)

    # --- replay -------------------------------------------------------------------------------
    @classmethod
    def replay(cls, spec: StudySpec, records: Iterable[Record], engine: Engine | None = None,
               as_written: bool = False) -> Engine:
        """Rebuild the engine from journaled records.

        Launched trials take their params from the journal (searchers are not re-run). The
        commands each event regenerates must equal the journaled ones; a mismatch raises
        ``ReplayDivergenceError``. When the journal ends part-way through an event's commands,
        the missing ones are left in ``engine.tail``: they were never sent to a worker.

        When ``spec.written_by`` (the code that wrote the journal) differs from the running
        code, ``engine.version_note`` says how (``rung.core.versions.explain``) and replay is
        attempted all the same: if it diverges, the error starts with that note. A reader's
        replay (``as_written``) reads a divergent journal as written instead, on the engine
        it returns (``rung.core.replay.replay``: use the return value).
        """
        return replay(engine or cls.from_spec(spec), spec, records, as_written)

    def abandoned_ends(self, time: float) -> list[TrialEnded]:
        """How the runs still active end when their driver stopped without ending them (a
        crash, a kill, a Ctrl-C), for the next session to journal first
        (``rung.core.launching.abandoned_ends`` says how each ends)."""
        return abandoned_ends(self, time)

    def summary(self) -> dict[str, Any]:
        h = self.history
        best = h.best_trial()
        return {
            "trials": len(h),
            "by_status": {s.value: h.count(s) for s in TrialStatus if h.count(s)},
            "steps_consumed": h.steps_consumed,
            "results": h.n_results,
            "best_score": best.score if best is not None else None,
            "best_trial": best.id if best is not None else None,
            "elapsed": self.elapsed,
            "cost": self.meter.cost,
            "gpu_hours": self.meter.gpu_hours,
            "device_hours": self.meter.device_hours,
            "stopped": self.stopped.reason if self.stopped is not None else None,
            "checkpoints": len(self.checkpoints),
            "checkpoint_bytes": self.checkpoint_bytes,
            "budget_left": self.budget_left() and self._may_start_new() and not self.exhausted,
            # over before any limit: nothing ran and the scheduler had nothing to launch
            "exhausted": self.exhausted and self.budget_left() and self._may_start_new(),
        }


# events of one run of a trial: what it held is charged up to each of them
_RUN_EVENTS = frozenset({TrialStarted, ResultReported, CheckpointSaved, TrialEnded})


# the handler of each kind of event, by exact type (a lookup instead of an isinstance chain)
_HANDLERS: dict[type, Callable[[Engine, Any, list[Command]], None]] = {
    ResultReported: Engine._on_result,
    TrialEnded: Engine._on_end,
    TrialStarted: Engine._on_started,
    CheckpointSaved: Engine._on_checkpoint_saved,
    CapacityChanged: Engine._on_capacity,
    Tick: Engine._on_tick,
    TrialRetried: Engine._on_retry,
    TrialEnqueued: on_enqueued,
    ParamsUsed: on_params_used,
    BudgetChanged: Engine._on_budget,
}


def bounded(b: Budget) -> bool:
    """Whether ``b`` has a limit ``budget_left`` can find reached during a trial's run."""
    return (b.max_time is not None or b.max_steps is not None or b.max_cost is not None
            or b.max_gpu_hours is not None or b.stop is not None)


def is_retryable(error: str | None) -> bool:
    """The trial failed only because it was interrupted too often (``TrialRetried`` retries
    such a trial)."""
    return error is not None and error.startswith(TOO_MANY_INTERRUPTIONS)
