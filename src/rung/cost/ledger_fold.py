"""The ledger's fold: ``_Fold`` reads a study's journal one record at a time and builds its
``Ledger`` (the rules are ``rung.cost.ledger``'s docstring).

``_Fold(spec)`` starts empty; ``feed(record)`` takes the records in journal order (every kind:
those that do not charge anything are skipped); ``result()`` is the ``Ledger`` of the records fed
so far and leaves the fold as it was, so it may be called at any time, again and again, with more
records fed in between (the dashboard folds a live journal incrementally and asks for the ledger
at each refresh). A run of a trial is a ``_Run`` (``rung.cost.ledger_run``); ``stop_cause``
(``rung.cost.ledger_stops``) names the outcome of a run the engine itself stopped.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from itertools import chain
from typing import Any

from rung.core.budget import Budget
from rung.core.events import (
    Action,
    BudgetChanged,
    CapacityChanged,
    CheckpointSaved,
    Launch,
    Record,
    Reply,
    ResultReported,
    StopSearch,
    TrialEnded,
    TrialStarted,
)
from rung.core.history import cut_by_max_time
from rung.core.pricing import DEFAULT_RESOURCES, check_table, hourly_rate, reported_resources
from rung.core.records import StudySpec
from rung.cost.ledger import (
    _EXTRAPOLATED,
    OUTCOMES,
    Improvement,
    Ledger,
    Spend,
    Worker,
)
from rung.cost.ledger_baseline import (
    Clean,
    RunTimes,
    restore_hours,
    step_seconds,
    straight_hours,
)
from rung.cost.ledger_run import _Run
from rung.cost.ledger_stops import BUDGET_REASON as BUDGET_REASON
from rung.cost.ledger_stops import RULE_PREFIX as RULE_PREFIX
from rung.cost.ledger_stops import stop_cause as stop_cause


class _Fold:
    """The fold's state; ``feed`` one record at a time, ``result`` at the end."""

    def __init__(self, spec: StudySpec) -> None:
        self.spec = spec
        self.prices = dict(spec.prices)
        self.resources: Mapping[str, float] = check_table(
            spec.resources_per_trial or DEFAULT_RESOURCES, "resources_per_trial")
        self.now = 0.0
        self.active: dict[int, _Run] = {}
        self.by_outcome = {o: Spend() for o in OUTCOMES}
        self.devices: dict[str, float] = {}
        # clean step times (``rung.cost.ledger_baseline``): each trial's, and the study's
        self.clean: dict[int, Clean] = {}
        self.study_clean = Clean()
        self.trial_hours: dict[int, float] = {}  # trial -> hours held over all its runs
        self.trial_steps: dict[int, int] = {}
        self.trial_outcome: dict[int, str] = {}  # trial -> how its latest run ended
        # trials whose latest run failed by itself: never the best (``History.counts_for_best``)
        self.failed: set[int] = set()
        self.trial_rate: dict[int, tuple[float, float]] = {}  # trial -> (rate, devices)
        self.restores: list[tuple[int, float]] = []  # (trial, first-step seconds) of resumes
        # trial -> its closed runs in order (``RunTimes``), and their checkpoint saves (s)
        self.trial_runs: dict[int, list[RunTimes]] = {}
        self.trial_saves: dict[int, float] = {}
        self.saves_hours = 0.0
        self.saves_cost = 0.0
        self.capacity = 0
        self.cap_since = 0.0
        self.offered = 0.0  # worker-seconds offered
        self.offered_cost = 0.0  # what they cost at the rate of what a trial held then
        self.busy_cost = 0.0  # what the runs cost
        self.busy = 0.0  # worker-seconds held by runs
        self.slots: list[Worker] = []
        self.slot_busy: set[int] = set()
        self.session_start: float | None = None
        self.wall = 0.0  # the sessions' span, summed (start-up included, gaps not)
        self.wall_start: float | None = None  # the current session's start
        self.last_result: dict[int, tuple[int, Mapping[str, Any]]] = {}  # trial -> top step
        # final results (at max_step, or the last of a trial that completed below it), in
        # journal order: (time, cost so far, device-hours so far, trial, metrics)
        self.finals: list[tuple[float, float, float, int, Mapping[str, Any]]] = []
        self.cost = 0.0  # running totals, in event order, as the engine adds them
        self.device_hours = 0.0
        self.gpu_hours = 0.0
        self.stopped: dict[str, Any] | None = None
        self.stop_cause: dict[int, str] = {}  # trial -> why the engine stopped it (a reply)
        # sessions that ended with runs in flight (a driver killed): (runs, seconds to the next)
        self.crashes: list[tuple[int, float]] = []
        self.trials: set[int] = set()
        self.last_event_time = 0.0

    # --- time ---------------------------------------------------------------------------------
    def _charge(self, run: _Run, t: float) -> None:
        dt, cost, device_hours = run.owed(t)
        if dt > 0:
            h = dt / 3600.0
            run.held += dt
            run.spend.cost += cost
            run.spend.device_hours += device_hours
            run.spend.gpu_hours += h * run.gpus
            self.cost += cost
            self.device_hours += device_hours
            self.gpu_hours += h * run.gpus
            for d, a in run.resources.items():
                self.devices[d] = self.devices.get(d, 0.0) + h * a
            run.since = t

    def _offer(self, t: float) -> None:
        """Worker-time offered up to ``t``: the slots within the current capacity, and a slot
        above it while a run still holds it (the capacity shrank under a running trial)."""
        if t > self.cap_since:
            dt = t - self.cap_since
            above = [i for i in self.slot_busy if i >= self.capacity]
            self.offered += dt * (self.capacity + len(above))
            self.offered_cost += dt * (self.capacity + len(above)) / 3600.0 * hourly_rate(
                self.prices, self.resources)
            for w in self.slots[: self.capacity]:
                w.available_hours += dt / 3600.0
            for i in above:
                self.slots[i].available_hours += dt / 3600.0
        self.cap_since = max(self.cap_since, t)

    # --- records ------------------------------------------------------------------------------
    def feed(self, rec: Record) -> None:
        kind = type(rec)
        if kind is Launch:
            assert isinstance(rec, Launch)
            self._launch(rec)
            return
        if kind is BudgetChanged:  # the budget from now on (``Study.set_budget``)
            assert isinstance(rec, BudgetChanged)
            self.spec = replace(self.spec, budget=Budget.from_json(rec.budget))
            return
        if kind is StopSearch:
            assert isinstance(rec, StopSearch)
            self.stopped = {"reason": rec.reason, "evidence": dict(rec.evidence)}
            return
        if kind is Reply:
            assert isinstance(rec, Reply)
            if rec.decision.action is Action.STOP:
                cause = stop_cause(rec.decision.reason)
                if cause is not None:
                    self.stop_cause[rec.trial_id] = cause
            return
        t = getattr(rec, "time", None)
        if t is None:
            return  # Reply, Cancel, DeleteCheckpoint: no time, no cost
        t = float(t)
        # the sessions' span: a session starts at its CapacityChanged(new_session), or at the
        # first timed record of a journal that has none (a study driven by ask / tell)
        if isinstance(rec, CapacityChanged) and rec.new_session:
            if self.wall_start is not None:
                self.wall += max(0.0, self.now - self.wall_start)
            self.wall_start = t
        elif self.wall_start is None:
            self.wall_start = t
        if kind is CapacityChanged:
            assert isinstance(rec, CapacityChanged)
            self._capacity(rec, t)
        else:
            self._offer(t)
            run = self.active.get(getattr(rec, "trial_id", -1))
            if run is not None and kind in (TrialStarted, ResultReported, CheckpointSaved,
                                            TrialEnded):
                self._charge(run, t)
                if kind is TrialStarted and run.started is None:
                    run.started = run.last = t  # its first step is timed from here
                elif kind is ResultReported:
                    assert isinstance(rec, ResultReported)
                    self._result(rec, run, t)
                elif kind is CheckpointSaved:
                    run.saves += max(0.0, t - run.last)
                    run.saved += 1
                    run.last = t
                elif kind is TrialEnded:
                    assert isinstance(rec, TrialEnded)
                    self._end(rec, run)
        self.now = t
        self.last_event_time = t

    def _capacity(self, ev: CapacityChanged, t: float) -> None:
        if ev.new_session:
            if self.session_start is not None:
                self._offer(self.now)
            if self.active:  # the last session ended with runs in flight: it did not end them
                self.crashes.append((len(self.active), max(0.0, t - self.now)))
            for run in self.active.values():  # the gap between sessions costs nothing
                self._charge(run, self.now)
                run.since = run.last = t
            self.session_start = t
            self.cap_since = t
        else:
            self._offer(t)
        if ev.resources is not None:
            self.resources = reported_resources(
                self.prices, check_table(ev.resources, "resources_per_trial"), self.resources)
        self.capacity = ev.capacity
        while len(self.slots) < self.capacity:
            self.slots.append(Worker(len(self.slots)))

    def _launch(self, c: Launch) -> None:
        free = next((i for i in range(max(self.capacity, len(self.slot_busy) + 1))
                     if i not in self.slot_busy), 0)
        while len(self.slots) <= free:
            self.slots.append(Worker(len(self.slots)))
        self.slot_busy.add(free)
        run = _Run(c, self.now, self.resources, self.prices, free)
        self.active[c.trial_id] = run
        self.trials.add(c.trial_id)
        self.trial_rate[c.trial_id] = (run.rate, run.devices)

    def _result(self, ev: ResultReported, run: _Run, t: float) -> None:
        step = int(ev.step)
        consumed = max(0, step - run.position)
        if consumed:
            restore = run.first_step is None and run.checkpoint
            if run.first_step is None:
                run.first_step = t - run.launched
            if not restore:  # a clean step time: since the run's previous event, a save's too
                dt = max(0.0, t - run.last)
                self.clean[ev.trial_id] = self.clean.get(ev.trial_id, Clean()).plus(dt, consumed)
                self.study_clean = self.study_clean.plus(dt, consumed)
            run.spend.steps += consumed
            run.position = step
        run.last = t
        top = self.last_result.get(ev.trial_id)
        if top is None or step >= top[0]:  # a repeated step's new result replaces the old
            self.last_result[ev.trial_id] = (step, ev.metrics)
        if step >= self.spec.max_step:
            self._candidate(ev.trial_id, ev.metrics, t)

    def _candidate(self, tid: int, metrics: Mapping[str, Any], t: float) -> None:
        """A final result of trial ``tid`` (at ``max_step``, or the last result of a trial that
        completed below it): ``incumbent`` is built from them at the end, each at what was
        spent up to ``t``, the runs in flight included (they are charged only at their own
        records, so ``cost`` alone leaves out their time since their last one)."""
        cost, hours = self.cost, self.device_hours
        for run in self.active.values():
            _, owed_cost, owed_hours = run.owed(t)
            cost += owed_cost
            hours += owed_hours
        self.finals.append((t, cost, hours, tid, metrics))

    def _incumbent(self) -> list[Improvement]:
        """Every improvement of the best feasible final value, as ``best_trial`` reads them:
        a trial that failed by itself does not count, and each counts with its latest final
        result only (a trial that reported max_step
        again, after a restart or when ``tell`` gave final metrics after a ``report`` of that
        step, has its new result replace the old one, in the history too), at the time and
        cost of that result."""
        latest = {tid: i for i, (_, _, _, tid, _) in enumerate(self.finals)}
        out: list[Improvement] = []
        best = math.inf
        for i, (t, cost, device_hours, tid, metrics) in enumerate(self.finals):
            if latest[tid] != i or tid in self.failed or any(
                    c.violation(metrics) > 0 for c in self.spec.constraints):
                continue
            score = self.spec.objective.score(metrics)
            if score < best:
                size = best - score  # inf for the first
                best = score
                prev_cost, prev_hours = (out[-1].cost, out[-1].device_hours) if out else (0, 0)
                finite = math.isfinite(size)
                out.append(Improvement(
                    t, cost, device_hours, self.spec.objective.value(score), tid,
                    (cost - prev_cost) / size if finite else math.inf,
                    (device_hours - prev_hours) / size if finite else math.inf))
        return out

    def _provisional(self) -> list[str]:
        """Why ``incumbent`` is empty while ``best_trial`` names a trial: with no final
        result, ``History.best_trial_id`` picks the best (score, then id) of the feasible
        trials that did not fail at the highest step they reached (a PBT population paused
        below ``max_step``); values at different steps do not compare, so no incumbent."""
        top: dict[int, tuple[int, Mapping[str, Any]]] = {
            tid: r for tid, r in self.last_result.items() if tid not in self.failed
            and r[0] > 0 and not any(c.violation(r[1]) > 0 for c in self.spec.constraints)}
        if not top:
            return []
        step = max(s for s, _ in top.values())
        objective = self.spec.objective
        score, tid = min((objective.score(m), tid) for tid, (s, m) in top.items() if s == step)
        return [f"no trial has a final result yet (at max_step {self.spec.max_step}, or "
                f"completed below it): no incumbent; best_trial names trial {tid} for now, "
                f"the best at the highest step reached ({objective.metric}="
                f"{objective.value(score):.6g} at step {step}), which later steps may change"]

    def _end(self, ev: TrialEnded, run: _Run) -> None:
        del self.active[ev.trial_id]
        self.slot_busy.discard(run.slot)
        outcome = ev.outcome.value if hasattr(ev.outcome, "value") else str(ev.outcome)
        cause = self.stop_cause.pop(ev.trial_id, None)
        if outcome == "stopped" and cause is not None:
            outcome = cause  # the budget's or the stop rule's stop, not the scheduler's
        self._close(ev.trial_id, run, outcome, max(0.0, float(ev.time) - run.last))
        if outcome == "failed" and not cut_by_max_time(ev.error):
            self.failed.add(ev.trial_id)
        else:
            self.failed.discard(ev.trial_id)
        top = self.last_result.get(ev.trial_id)
        if outcome == "completed" and top is not None and top[0] < self.spec.max_step:
            # the objective returned early: its last result is final (``best_trial`` counts it)
            self._candidate(ev.trial_id, top[1], float(ev.time))

    def _close(self, tid: int, run: _Run, outcome: str, tail: float) -> None:
        self._tally(run, outcome)
        self.trial_hours[tid] = self.trial_hours.get(tid, 0.0) + run.held / 3600.0
        self.trial_steps[tid] = self.trial_steps.get(tid, 0) + run.spend.steps
        self.trial_outcome[tid] = outcome
        startup = (0.0 if run.started is None
                   else min(run.held, max(0.0, run.started - run.launched)))
        self.trial_runs.setdefault(tid, []).append(
            RunTimes(startup, run.checkpoint, run.first_step, run.saved, tail))
        self.trial_saves[tid] = self.trial_saves.get(tid, 0.0) + run.saves
        if run.checkpoint and run.first_step is not None:
            self.restores.append((tid, run.first_step))

    def _tally(self, run: _Run, outcome: str) -> None:
        """A run's end in the totals (its outcome's, its slot's, the busy time, the saves);
        ``_close`` adds its trial's figures."""
        self.by_outcome[outcome].add(run.spend)
        self.busy += run.held
        self.busy_cost += run.spend.cost
        if run.slot < len(self.slots):
            self.slots[run.slot].busy_hours += run.held / 3600.0
        h = run.saves / 3600.0
        self.saves_hours += h
        self.saves_cost += h * run.rate

    # --- the result ---------------------------------------------------------------------------
    def result(self) -> Ledger:
        """The ``Ledger`` of the records fed so far: the runs still open are charged up to the
        last event and counted ``running``.

        Leaves the fold as it was: the open runs are charged and closed on a side copy
        (``_side``) of only what that changes (the running totals, the outcomes', slots' and
        devices' figures, the open runs themselves), and their trials' figures are read
        through an overlay, not written into the fold's per-trial tables. So calling it twice
        gives the same ``Ledger``, and feeding more records and calling it again gives what a
        fresh fold of all of them gives; the ``Ledger`` shares nothing the fold changes later.
        Cost: O(trials) for the sum of the full baseline, plus O(open runs + slots + final
        results + resumed runs); no copy of the fold's per-trial tables."""
        side = self._side()
        end = side.now
        side._offer(end)
        if side.wall_start is not None:
            side.wall += max(0.0, end - side.wall_start)
        # still running: charged up to now, on the side copy; their trials' figures (hours and
        # steps with this run's added, the outcome "running") go to ``running``, not the fold
        running: dict[int, tuple[float, int]] = {}
        restores: list[tuple[int, float]] = []  # theirs, after the fold's
        for tid, run in side.active.items():
            side._charge(run, end)
            side._tally(run, "running")
            running[tid] = (self.trial_hours.get(tid, 0.0) + run.held / 3600.0,
                            self.trial_steps.get(tid, 0) + run.spend.steps)
            if run.checkpoint and run.first_step is not None:
                restores.append((tid, run.first_step))
        return side._ledger(running, chain(self.restores, restores))

    def _side(self) -> _Fold:
        """A shallow copy of the fold with its own copies of what charging and closing runs
        changes besides the per-trial tables: the scalars, ``by_outcome``, ``slots``,
        ``devices``, and the open runs. (Only ``result`` calls it; nothing feeds a side.)"""
        side = copy.copy(self)
        side.by_outcome = {o: replace(s) for o, s in self.by_outcome.items()}
        side.slots = [replace(w) for w in self.slots]
        side.devices = dict(self.devices)
        side.active = {tid: run.copy() for tid, run in self.active.items()}
        return side

    def _ledger(self, running: Mapping[int, tuple[float, int]],
                restores: Iterable[tuple[int, float]]) -> Ledger:
        """The ``Ledger`` once every run is closed: ``running`` holds the hours and steps of
        the trials whose latest run is still open (their outcome ``running``), ``restores``
        every resumed run's first-step time, the open ones' included."""
        spec = self.spec
        total = Spend()
        for s in self.by_outcome.values():
            total.add(s)
        # the full baseline (``rung.cost.ledger_baseline``): every trial trained straight
        # through to its target step at its step time; a trial whose latest run failed, was
        # interrupted or is still running counts at what it spent (a crash is no saving, and a
        # running trial's steps are not yet decided)
        # (in the order closing them would have added the trials: those with a closed run
        # first, in their order, then those on their first run)
        full_cost = full_dev = 0.0
        closed = self.trial_hours
        for tid, hours in chain(closed.items(), ((t, 0.0) for t in running if t not in closed)):
            now = running.get(tid)
            if now is None:
                steps = self.trial_steps.get(tid, 0)
                outcome = self.trial_outcome.get(tid)
            else:
                (hours, steps), outcome = now, "running"
            rate, devices = self.trial_rate[tid]
            full_h = hours
            if steps and outcome in _EXTRAPOLATED:  # its latest run is closed: in trial_runs
                top = self.last_result.get(tid)
                completed_at = top[0] if outcome == "completed" and top is not None else None
                full_h = straight_hours(
                    hours, steps, spec.max_step, self.trial_runs[tid], self.trial_saves[tid],
                    step_seconds(self.clean.get(tid), self.study_clean), completed_at)
            full_cost += full_h * rate
            full_dev += full_h * devices
        ckpt_h, ckpt_cost = self.saves_hours, self.saves_cost
        for tid, first in restores:  # each beyond its trial's step time
            extra = restore_hours(first, step_seconds(self.clean.get(tid), self.study_clean))
            if extra:
                rate, _ = self.trial_rate[tid]
                ckpt_h += extra
                ckpt_cost += extra * rate
        idle = max(0.0, self.offered - self.busy) / 3600.0
        # each session's idle worker-time at the rate of what a trial held in it
        idle_cost = max(0.0, self.offered_cost - self.busy_cost) if idle > 0 else 0.0
        b = spec.budget
        budget: dict[str, float | None] = {
            "max_cost": b.max_cost, "cost": self.cost,
            "max_gpu_hours": b.max_gpu_hours, "gpu_hours": self.gpu_hours,
            "overshoot_cost": (max(0.0, self.cost - b.max_cost)
                               if b.max_cost is not None else None),
            "overshoot_gpu_hours": (max(0.0, self.gpu_hours - b.max_gpu_hours)
                                    if b.max_gpu_hours is not None else None),
        }
        notes = []
        if self.crashes:
            runs = sum(n for n, _ in self.crashes)
            gap = sum(g for _, g in self.crashes)
            notes.append(
                f"{len(self.crashes)} driver session(s) ended with runs in flight ({runs} "
                f"run(s); a driver killed, say), {gap:.4g} s in all before the next began: "
                "each such run is charged up to its session's last journaled event; what its "
                "worker ran after that (up to about one step per worker per crash) is charged "
                "nowhere, max_cost included")
        incumbent = self._incumbent()
        if not incumbent:
            notes.extend(self._provisional())
        if not self.prices:
            notes.append("no prices: money is 0 (device-hours are measured)")
        elif total.device_hours > 0 and total.cost == 0:
            held = ", ".join(sorted(self.devices)) or "nothing"
            notes.append(f"prices {self.prices} charge none of what the trials held ({held}): "
                         "money is 0 (device-hours are measured)")
        return Ledger(
            prices=dict(self.prices), max_step=spec.max_step,
            by_outcome={k: v for k, v in self.by_outcome.items() if v.runs},
            total=total, devices=self.devices, full_cost=full_cost, full_device_hours=full_dev,
            idle_hours=idle, idle_cost=idle_cost,
            workers=self.slots, checkpoint_hours=ckpt_h, checkpoint_cost=ckpt_cost,
            incumbent=incumbent, budget=budget,
            stopped=None if self.stopped is None else dict(self.stopped),
            trials=len(self.trials), wall_hours=self.wall / 3600.0, notes=notes,
        )
