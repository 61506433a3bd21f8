"""Simulated executor: the real engine, searchers and schedulers on a virtual clock.

A ``Benchmark`` stands in for training: ``evaluate(params, step)`` gives the metrics at a step and
the seconds that step takes. Workers follow the same lease protocol as real ones, with the same
rules (``rung.executors.protocol.waits_for_reply`` and ``extended_lease``): below their lease
they stream results without waiting, at it they wait for the reply (which, with no network in
between, arrives at the same virtual instant), and a STOP or PAUSE decided earlier is honoured
at their next report. A checkpoint asked for below the lease is saved at the step it was asked
for (a real worker saves it at its next report). Events come off a heap ordered by
``(time, seq)``, so a run is bit-for-bit reproducible (a study simulated from the start with
the same seed; a study interrupted and resumed is reproducible as such, not equal to the
uninterrupted one: its runs in flight restart from their last checkpoint, from step 1 without
one, and every later event moves), thousands of workers run in seconds of real time, and no
real clock is read anywhere.

The session's time bounds (``RunContext.trial_timeout`` and ``max_time``) hold on the virtual
clock as they do in ``rung.executors.pool``: a run past its deadline ends ``failed`` with
reason ``timeout: ...`` at that virtual instant.

A ``Benchmark`` is stateless: a run launched from a checkpoint is evaluated with its own params
from its start step on, as if it had trained with them from step 1. That is exact for a trial
resumed from its own checkpoint, not for a fork (PBT, PB2): a scheduler whose simulation is so
approximate says it in a ``simulation_note``, which ``warn_stateless`` logs once per process.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from rung.core.events import (
    Action,
    Cancel,
    CapacityChanged,
    CheckpointSaved,
    Command,
    Decision,
    DeleteCheckpoint,
    Event,
    Launch,
    Reply,
    ResultReported,
    TrialEnded,
    TrialStarted,
)
from rung.core.pricing import check_table
from rung.core.records import Outcome
from rung.executors.base import RunContext
from rung.executors.pool import MAX_TIME_GRACE
from rung.executors.protocol import extended_lease, waits_for_reply

#: Most workers of one simulated run (``Study.simulate``, a spec's ``n_workers``, ``rung run
#: --workers``, and each worker count of ``rung.plan``). Its first turn launches a trial on
#: every worker at once, which no budget but ``n_trials`` bounds: 10,000 take about 5 s and
#: 120 MB on one core (100,000 took 64 s and 840 MB; 100,000,000 filled 2.3 GB in a minute).
MAX_WORKERS = 10_000


log = logging.getLogger("rung.simulate")
#: scheduler classes whose ``simulation_note`` was logged in this process
_WARNED: set[str] = set()


def warn_stateless(scheduler: object, study: str) -> str | None:
    """Log the ``simulation_note`` of ``scheduler``'s class (what a simulation of it leaves
    out: a class attribute, ``{name}`` filled with the class's name) as a warning, once per
    process and class; ``Study.simulate`` calls this before it simulates. Returns the note
    logged, or ``None`` (none declared, or already logged)."""
    cls = type(scheduler)
    note = getattr(cls, "simulation_note", None)
    if not isinstance(note, str) or cls.__qualname__ in _WARNED:
        return None
    _WARNED.add(cls.__qualname__)
    text = note.format(name=cls.__name__)
    log.warning("study %s: %s", study, text)
    return text


class _Job:
    __slots__ = ("gen", "max_step", "params", "pending", "started", "step", "until_step", "waiting")

    def __init__(self, launch: Launch, gen: int, started: float) -> None:
        self.params = launch.params
        self.step = launch.start_step - 1  # last step computed
        self.until_step = launch.until_step
        self.max_step = launch.max_step
        self.pending: Decision | None = None  # a STOP/PAUSE to honour at the next report
        self.waiting = False  # blocked at its lease, waiting for a reply
        self.gen = gen
        self.started = started


class SimulatedExecutor:
    """Args:
    benchmark: anything with ``evaluate(params, step) -> (metrics, seconds)``.
    n_workers: simulated worker slots.
    start_time: virtual time at which the session starts (a resumed study passes the time
        its journal ended at, so time never runs backwards).
    launch_delay: virtual seconds between a ``Launch`` and the trial's first step (worker
        start-up cost).
    resources_per_trial: the devices each simulated trial holds (``{"gpu:A100": 1}``), reported
        in the session's first ``CapacityChanged`` for the cost model; ``None``: the study's
        ``resources_per_trial`` (default one CPU).
    """

    def __init__(
        self,
        benchmark: Any,
        n_workers: int,
        start_time: float = 0.0,
        launch_delay: float = 0.0,
        resources_per_trial: Mapping[str, float] | None = None,
    ) -> None:
        if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
            raise ValueError(f"n_workers: must be a positive integer, got {n_workers!r}")
        self.benchmark = benchmark
        self.n_workers = n_workers
        self.launch_delay = launch_delay
        self.resources = (None if resources_per_trial is None
                          else check_table(resources_per_trial, "resources_per_trial"))
        self._now = float(start_time)
        self._heap: list[tuple[float, int, int, int, Event]] = []
        self._seq = 0
        self._gen = 0
        self._jobs: dict[int, _Job] = {}
        self.busy_time = 0.0  # sum over trial runs of (end - start): worker utilization
        self.longest_run = 0.0  # the longest trial run (end - start): a floor of the wall-clock
        self.start_time = float(start_time)
        self._trial_timeout: float | None = None
        self._max_time: float | None = None
        self._deadline: float | None = None

    # --- protocol ------------------------------------------------------------------------------
    def start(self, ctx: RunContext) -> list[Event]:
        self._trial_timeout = ctx.trial_timeout
        self._max_time = ctx.max_time
        self._deadline = None
        return [CapacityChanged(self.n_workers, self._now, new_session=True,
                                resources=self.resources, executor={"name": "simulated"})]

    def now(self) -> float:
        return self._now

    @property
    def idle(self) -> bool:
        return not self._heap

    def poll(self, timeout: float | None) -> list[Event]:
        while self._heap:
            t, _, tid, gen, ev = heapq.heappop(self._heap)
            job = self._jobs.get(tid)
            if job is None or job.gen != gen:
                continue  # the job was cancelled or ended: drop its scheduled events
            self._now = t
            out = [ev]
            if isinstance(ev, ResultReported):
                self._after_report(tid, job, ev.step, out)
            elif isinstance(ev, TrialEnded):
                self._finish(tid, job)
            return out
        return []

    def submit(self, commands: Sequence[Command]) -> None:
        for c in commands:
            if isinstance(c, Launch):
                self._launch(c)
            elif isinstance(c, Reply):
                self._reply(c)
            elif isinstance(c, Cancel):
                job = self._jobs.get(c.trial_id)
                if job is not None:
                    job.gen = -1
                    self._push(
                        self._now,
                        c.trial_id,
                        -1,
                        TrialEnded(c.trial_id, Outcome.STOPPED, self._now, c.reason),
                    )
                    self._jobs[c.trial_id] = job
            elif isinstance(c, DeleteCheckpoint):
                pass  # virtual checkpoints take no space

    def shutdown(self) -> None:
        self._heap.clear()
        self._jobs.clear()

    # --- internals ----------------------------------------------------------------------------
    def _push(self, t: float, tid: int, gen: int, ev: Event) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, tid, gen, ev))

    def _launch(self, c: Launch) -> None:
        self._gen += 1
        job = _Job(c, self._gen, self._now)
        self._jobs[c.trial_id] = job
        self._push(self._now, c.trial_id, job.gen, TrialStarted(c.trial_id, self._now))
        self._schedule_step(c.trial_id, job, self._now + self.launch_delay)
        self._schedule_timeout(c.trial_id, job)

    def _schedule_timeout(self, tid: int, job: _Job) -> None:
        """The run's deadline, if the session has one: an end ``failed`` at that virtual time
        (dropped if the run ends first, like every event of an ended job)."""
        if self._deadline is None and self._max_time is not None:
            self._deadline = self._now + self._max_time + MAX_TIME_GRACE
        ends = None
        if self._trial_timeout is not None:
            ends = self._now + self._trial_timeout
            reason = f"timeout: trial_timeout of {self._trial_timeout:g} s reached"
        if self._deadline is not None and (ends is None or self._deadline < ends):
            ends = self._deadline
            reason = (f"timeout: still running {MAX_TIME_GRACE:g} s after max_time "
                      f"({self._max_time:g} s) was reached")
        if ends is not None:
            self._push(ends, tid, job.gen, TrialEnded(tid, Outcome.FAILED, ends, reason))

    def _schedule_step(self, tid: int, job: _Job, t: float) -> None:
        step = job.step + 1
        metrics, seconds = self.benchmark.evaluate(job.params, step)
        job.step = step
        done_at = t + float(seconds)
        self._push(done_at, tid, job.gen, ResultReported(tid, step, _plain(metrics), done_at))

    def _after_report(self, tid: int, job: _Job, step: int, out: list[Event]) -> None:
        """What the worker does right after sending the result of ``step``."""
        if job.pending is not None:
            self._honour(tid, job, job.pending, step, immediate=out)
        elif step >= job.max_step:
            self._end(tid, job, Outcome.COMPLETED, None, immediate=out)
        elif waits_for_reply(step, job.until_step, job.max_step):
            job.waiting = True
        else:
            self._schedule_step(tid, job, self._now)

    def _reply(self, r: Reply) -> None:
        job = self._jobs.get(r.trial_id)
        if job is None or job.gen < 0:
            return
        d = r.decision
        if job.waiting and r.step == job.step:
            job.waiting = False
            if d.action is Action.CONTINUE:
                job.until_step = extended_lease(job.until_step, r.step, d.until_step,
                                                job.max_step)
                if d.checkpoint:
                    self._save(r.trial_id, job, job.step)
                self._schedule_step(r.trial_id, job, self._now)
            else:
                self._honour(r.trial_id, job, d, job.step, immediate=None)
        elif d.action is not Action.CONTINUE:
            job.pending = d
        elif d.checkpoint:
            self._save(r.trial_id, job, r.step)

    def _honour(
        self, tid: int, job: _Job, d: Decision, step: int, immediate: list[Event] | None
    ) -> None:
        if d.action is Action.PAUSE:
            self._save(tid, job, step, immediate)
            self._end(tid, job, Outcome.PAUSED, None, immediate)
        else:
            self._end(tid, job, Outcome.STOPPED, None, immediate)

    def _save(self, tid: int, job: _Job, step: int, immediate: list[Event] | None = None) -> None:
        ev = CheckpointSaved(tid, step, f"sim/{tid}/{step}", self._now)
        if immediate is not None:
            immediate.append(ev)
        else:
            self._push(self._now, tid, job.gen, ev)

    def _end(
        self,
        tid: int,
        job: _Job,
        outcome: Outcome,
        error: str | None,
        immediate: list[Event] | None,
    ) -> None:
        ev = TrialEnded(tid, outcome, self._now, error)
        if immediate is not None:
            immediate.append(ev)
            self._finish(tid, job)
        else:
            self._push(self._now, tid, job.gen, ev)

    def _finish(self, tid: int, job: _Job) -> None:
        run = self._now - job.started
        self.busy_time += run
        self.longest_run = max(self.longest_run, run)
        del self._jobs[tid]


def _plain(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: float(v) if hasattr(v, "__float__") and not isinstance(v, bool) else v
        for k, v in metrics.items()
    }
