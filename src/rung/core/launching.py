"""Launching: how the engine fills its free worker slots (part of the engine: ``rung.core.engine``
calls these with itself; they change nothing else).

- ``fill``: while a slot is free and the budget lasts, ask the scheduler for its next trial and
  launch it; when no new trial can start, the scheduler may resume paused ones instead (asked
  once per turn, so it cannot loop);
- ``materialize``: a scheduler's ``StartNew`` (params from ``rung.core.proposals``), ``Resume``
  or ``Fork`` becomes a ``Launch``, capped to the budget's steps, with the run's lease;
- ``restart_step``: where a trial resumed without a checkpoint starts (step 1, or with a
  ``Fidelity`` the next rung above its last result);
- ``cap_lease``: how far a run may go on within the budget's steps, money and GPU-hours;
- ``abandoned_ends``: how the runs a stopped driver left active end.

A ``_Lease`` is the per-run state the engine keeps for each active trial.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rung.core.components import Fork, NextTrial, Resume, StartNew
from rung.core.events import Command, Launch, TrialEnded
from rung.core.metering import RunMeter
from rung.core.proposals import propose
from rung.core.records import Outcome, TrialStatus

if TYPE_CHECKING:
    from rung.core.engine import Engine


class _Lease:
    """Per-run state of an active (launched or running) trial."""

    __slots__ = ("decided", "failure", "meter", "outcome", "position", "reported", "until_step")

    def __init__(self, until_step: int, position: int, meter: RunMeter) -> None:
        self.until_step = until_step
        self.position = position  # last step this run reported (start_step - 1 before any)
        self.reported = False  # this run has reported a result (position is then its own)
        self.decided = False  # a STOP/PAUSE reply was sent; later results are only recorded
        self.outcome: Outcome | None = None  # how that reply ends the run (STOPPED / PAUSED)
        self.failure: str | None = None  # an invalid objective metric: the run ends failed
        self.meter = meter  # what the run holds and how far it is charged


def fill(engine: Engine, out: list[Command]) -> None:
    """Append a ``Launch`` to ``out`` for each free slot the scheduler fills, while the budget
    lasts; sets ``engine.exhausted`` when the scheduler had nothing to launch and nothing runs."""
    retried = False
    while len(engine.active) < engine.capacity and (not engine._bounded or engine.budget_left()):
        nxt = engine.scheduler.next_trial(engine.history)
        if nxt is None:
            break
        launch = materialize(engine, nxt)
        if launch is None:
            # no new trial can start (trial budget spent, searcher exhausted): the scheduler
            # may want to resume paused trials instead (once per turn, so it cannot loop)
            if retried:
                break
            again = engine.scheduler.on_start_refused(engine.history)
            retired = engine.scheduler.retired()
            if retired:
                engine._end_retired(retired, out)
            if not again:
                break
            retried = True
            continue
        engine.exhausted = False
        out.append(launch)
    else:
        return  # every slot filled, or a budget limit reached
    engine.exhausted = not engine.active  # the scheduler had nothing (more) to launch


def materialize(engine: Engine, nxt: NextTrial) -> Launch | None:
    """The ``Launch`` of the scheduler's ``nxt`` (a new trial, a resume or a fork), its trial
    created or launched in the history and its lease taken; ``None``: no new trial can start."""
    h = engine.history
    max_step = engine.spec.max_step
    if isinstance(nxt, StartNew):
        if not engine._may_start_new():
            return None
        tid = h.next_id
        params = propose(engine, tid)
        if params is None:
            return None
        h._create(tid, params, None, nxt.tags, suggested=True)
        start, ckpt = 1, None
    elif isinstance(nxt, Resume):
        tid = nxt.trial_id
        status = h.status(tid)
        if status not in (TrialStatus.PAUSED, TrialStatus.INTERRUPTED):
            raise RuntimeError(f"scheduler resumed trial {tid}, which is {status.value}")
        params = h.params(tid)
        c = h.checkpoint(tid)
        start, ckpt = (c.step + 1, c.path) if c is not None else (restart_step(engine, tid), None)
    elif isinstance(nxt, Fork):
        c = h.checkpoint(nxt.parent_id)
        tid = h.next_id
        params = engine._replay_params.get(tid) or engine.spec.space.validate(nxt.params)
        h._create(tid, params, nxt.parent_id, nxt.tags, suggested=False)
        start, ckpt = (c.step + 1, c.path) if c is not None else (1, None)
        if c is not None:
            h._checkpoint(tid, c)
            engine.checkpoints.ref(tid, c.path)
    else:
        raise TypeError(f"scheduler returned {nxt!r}")
    until = min(max(cap_lease(engine, start - 1, nxt.until_step), start), max_step)
    h._launch(tid)
    # a restart without a checkpoint trains from scratch: every step it reaches counts
    position = start - 1 if ckpt is not None or start == 1 else 0
    engine.active[tid] = _Lease(until, position, engine.meter.start_run(engine.now))
    return Launch(tid, params, start, until, max_step, ckpt)


def restart_step(engine: Engine, tid: int) -> int:
    """Where a trial resumed without a checkpoint starts: step 1, or in a study with a
    ``Fidelity`` the next rung above its last result (a stateless objective trains from
    scratch at the rung's value; every step up to it counts as consumed)."""
    fidelity = engine.spec.fidelity
    if fidelity is None:
        return 1
    nxt = fidelity.next_step(engine.history.last_step(tid))
    return nxt if nxt is not None else engine.spec.max_step


def cap_lease(engine: Engine, position: int, until: int, lease: _Lease | None = None) -> int:
    """With ``Budget.max_steps``: no lease reaches beyond this trial's share of the steps
    left (at least one step), so the budget is overshot by at most one step per worker.
    With ``max_cost`` / ``max_gpu_hours`` likewise (``Meter.cap``)."""
    b = engine.spec.budget
    workers = max(engine.capacity, 1)
    if b.max_steps is not None:
        share = max(1, (b.max_steps - engine.history.steps_consumed) // workers)
        until = min(until, position + share)
    return engine.meter.cap(b, lease.meter if lease is not None else None, position, until,
                            workers)


def abandoned_ends(engine: Engine, time: float) -> list[TrialEnded]:
    """How the runs still active end when their driver stopped without ending them (a crash,
    a kill, a Ctrl-C), for the next session to journal first (``Engine.abandoned_ends``):

    - a run whose STOP or PAUSE was sent ends stopped or paused (its worker was told; only
      the answer was lost, and a stopped trial must not be resumed); a paused one whose
      pause checkpoint was not journaled carries ``DRIVER_STOPPED`` as its error: its worker
      may have been saving it when the driver stopped, so a missing checkpoint there says
      nothing about the objective (PBT, which ends the search when an objective does not
      save, resumes such a member from its last checkpoint instead);
    - a run that had reported ``max_step`` ends completed: everything its lease owed was
      reported (its results count as they are; what the objective did after its last
      report, a final save or a returned mapping of final metrics, is not run again);
    - any other is interrupted with ``DRIVER_STOPPED``.

    A run whose invalid metric failed it ends failed whatever this says (``Engine._on_end``).
    These are events: a journal holds them as they were made, so replay never asks this
    again."""
    from rung.core.engine import DRIVER_STOPPED

    max_step = engine.spec.max_step
    out: list[TrialEnded] = []
    for tid, lease in engine.active.items():
        if lease.outcome is not None:
            saved = engine.history.checkpoint(tid)
            cut = lease.outcome is Outcome.PAUSED and (saved is None
                                                       or saved.step < lease.position)
            out.append(TrialEnded(tid, lease.outcome, time, DRIVER_STOPPED if cut else None))
        elif lease.position >= max_step:
            out.append(TrialEnded(tid, Outcome.COMPLETED, time, None))
        else:
            out.append(TrialEnded(tid, Outcome.INTERRUPTED, time, DRIVER_STOPPED))
    return out


def lost_worker_end(engine: Engine, ev: TrialEnded) -> TrialEnded:
    """How a run ends whose worker was lost (an executor's ``interrupted`` end: the process or
    the node died) after its last result was decided, or that its caller ended
    ``interrupted`` (``Study.tell``, ``ev.told``):

    - a run told to stop ends stopped (its worker was told; only its exit was lost, and a
      stopped trial must not be resumed), also when the caller ends it interrupted (a
      driver killed after the STOP, the orphan told ``interrupted`` once loaded again);
    - a run that had reported ``max_step`` (and was told nothing) without a checkpoint at
      ``max_step`` ends completed: everything its lease owed was reported, and resuming it
      would train it again from its last checkpoint (or from scratch) only to run the code
      after its training loop; not a caller's own end, which stays interrupted;
    - any other end is ``ev`` as it is: interrupted, resumed from its last checkpoint (one at
      ``max_step`` resumes with ``start_step = max_step + 1``: only the code after its loop
      runs; a paused run may have lost its pause checkpoint). So is a run whose invalid
      metric failed it.

    The driver applies this before it handles and journals ``ev`` (``Study.tell`` too, through
    the driver's ``handle``): the journal holds the end as decided, so replay never asks this
    again."""
    if ev.outcome is not Outcome.INTERRUPTED:
        return ev
    lease = engine.active.get(ev.trial_id)
    if lease is None or lease.failure is not None:
        return ev
    if lease.outcome is Outcome.STOPPED:
        return TrialEnded(ev.trial_id, Outcome.STOPPED, ev.time, None, told=ev.told)
    if ev.told:
        return ev
    max_step = engine.spec.max_step
    if lease.outcome is None and lease.position >= max_step:
        saved = engine.history.checkpoint(ev.trial_id)
        if saved is None or saved.step < max_step:
            return TrialEnded(ev.trial_id, Outcome.COMPLETED, ev.time, None)
    return ev
