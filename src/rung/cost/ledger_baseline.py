"""The ledger's baseline: what one trial would have taken trained once, straight through, from
its start-up to ``max_step`` (``Ledger.full_cost``'s rule, stated in ``rung.cost.ledger``).

A trial's hours (from each run's ``Launch`` to its ``TrialEnded``, as charged) hold its
training and its overhead. The overhead is what a run trained straight through would not pay,
or would pay once:

- every run's **start-up**: from its ``Launch`` to its ``TrialStarted`` (the worker taking the
  trial: a process spawned, a Ray actor placed); the baseline pays the first run's once;
- every **checkpoint save**: a ``CheckpointSaved``'s time after the trial's previous event;
- every **restore**: a run that resumed from a checkpoint pays, in its first step, the restore
  and its start-up; what that first step took beyond the trial's median step time (at least
  its start-up) is overhead, as ``Ledger.checkpoint_hours`` counts it.

The rest is training: its steps, the replies they waited for, and whatever the objective does
before its first report (loading data), which no event tells apart from the first step. The
baseline is the first start-up plus that training scaled from the steps trained to
``max_step``: a trial that trained every step once, in one run without checkpoints (FIFO), has
exactly its hours as baseline, and one that reached ``max_step`` through pauses has less than
it spent (its pauses cost it saves, restores and start-ups). Pure arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple


class RunTimes(NamedTuple):
    """What a closed run of a trial spent besides its steps: its start-up (seconds from its
    ``Launch`` to its ``TrialStarted``; 0 without one, as under ``ask`` / ``tell``), whether it
    restored a checkpoint, and the seconds from its ``Launch`` to its first result (``None``
    without a result)."""

    startup: float
    restored: bool
    first_step: float | None


def overhead_hours(runs: Sequence[RunTimes], saves: float,
                   per_step: Sequence[float] | None) -> float:
    """Hours of ``runs`` (one trial's, in order) that were not training: every start-up, every
    restore beyond the trial's median step time (``per_step``, in hours: its steps timed
    between two results of a run; without one, a restore is its start-up only) and the
    ``saves`` (seconds)."""
    median = sorted(per_step)[len(per_step) // 2] if per_step else None
    total = saves / 3600.0
    for run in runs:
        startup = run.startup / 3600.0
        if run.restored and run.first_step is not None and median is not None:
            total += max(startup, run.first_step / 3600.0 - median)
        else:
            total += startup
    return total


def straight_hours(hours: float, steps: int, max_step: int, runs: Sequence[RunTimes],
                   saves: float, per_step: Sequence[float] | None) -> float:
    """Hours one trial would have taken trained once from its start-up to ``max_step``
    without pauses (module docstring): its first run's start-up plus its training hours
    (``hours`` less ``overhead_hours``) times ``max_step / steps`` (times 1 from ``max_step``
    on: steps trained again are not a longer run's). ``steps`` > 0 and ``runs`` non-empty."""
    first = runs[0].startup / 3600.0
    training = max(0.0, hours - overhead_hours(runs, saves, per_step))
    return first + training * max(max_step / steps, 1.0)


__all__ = ["RunTimes", "overhead_hours", "straight_hours"]
