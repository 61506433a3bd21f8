"""The ledger's baseline: what one trial would have taken trained once, straight through, from
one start-up to the step it would have ended at, without checkpoints (``Ledger.full_cost``'s
rule, stated in ``rung.cost.ledger``). Pure arithmetic over what ``_Fold`` measured.

The contract, for one trial:

- **Clean step times.** Within each run, a step's time is its ``ResultReported``'s time less the
  run's previous event among its ``TrialStarted`` (its ``Launch`` without one), its previous
  ``ResultReported`` and its ``CheckpointSaved`` records: so a save is never part of a step (a
  result that covers k steps gives k steps of a k-th of its time each; a result that does not
  advance the run's step gives none). A run's first step is clean only if the run restored no
  checkpoint (``Launch.checkpoint`` is ``None``: a trial's first run, unless it is a fork, which
  restores its donor's; every resumed run restores one): a restored run's first step holds the
  restore. Steps trained again after a crash are clean steps too (their times are step times),
  but the baseline counts the steps to the target, not the steps trained.
- **Step time** ``m``: the mean of the trial's clean step times; a trial with none (every run
  of it restored and reported once: PBT with ``perturbation_interval=1``, a fork trained one
  step) takes the mean over every clean step of the study, whatever its trial's outcome; a study
  with none falls back to ``scaled_hours`` (the previous rule).
- **Target step** ``T``: ``max_step``, except for a trial that completed by itself below it (its
  objective returned early): the last step it reported.
- **Baseline**: (a) a trial whose latest run failed, was interrupted, is running, or was stopped
  by the budget or the stop rule: what it held (the ledger decides that, ``_EXTRAPOLATED``);
  (b) a trial that already ran straight through (one run, no restore, no checkpoint save,
  completed): exactly what it held, so FIFO without checkpoints saves exactly 0, early returns
  included; (c) any other: its first run's start-up (``Launch`` to ``TrialStarted``) + ``m`` x
  ``T`` + its last run's tail (from that run's last event to its ``TrialEnded``: the worker
  unwinding, paid once whatever the step count, so not scaled).

A **restore**'s time (``Ledger.checkpoint_hours``) is, by the same rule, a restored run's first
step (from its ``Launch``, its start-up with it, as before) less ``m``: it no longer needs a
trial with two results in one run (with one-step runs a restore was counted as nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple


class RunTimes(NamedTuple):
    """What a closed run of a trial spent besides its steps: its start-up (seconds from its
    ``Launch`` to its ``TrialStarted``; 0 without one, as under ``ask`` / ``tell``), whether it
    restored a checkpoint, the seconds from its ``Launch`` to its first result (``None``
    without a result), how many checkpoints it saved, and its tail (seconds from its last
    ``TrialStarted`` / ``ResultReported`` / ``CheckpointSaved``, its ``Launch`` without any, to
    its ``TrialEnded``)."""

    startup: float
    restored: bool
    first_step: float | None
    saves: int = 0
    tail: float = 0.0


class Clean(NamedTuple):
    """Clean step times summed: ``seconds`` over ``steps`` steps (module docstring)."""

    seconds: float = 0.0
    steps: int = 0

    def plus(self, seconds: float, steps: int) -> Clean:
        return Clean(self.seconds + seconds, self.steps + steps)

    def mean(self) -> float | None:
        """The mean clean step time in seconds; ``None`` without a clean step."""
        return self.seconds / self.steps if self.steps else None


def step_seconds(trial: Clean | None, study: Clean) -> float | None:
    """The trial's step time ``m`` (seconds): its clean steps' mean, else the study's, else
    ``None`` (no clean step anywhere: ``straight_hours`` falls back to ``scaled_hours``)."""
    mine = trial.mean() if trial is not None else None
    return mine if mine is not None else study.mean()


def restore_hours(first_step: float, m: float | None) -> float:
    """Hours a restored run spent restoring: its first step (seconds from its ``Launch``) less
    the trial's step time ``m`` (seconds); 0 without ``m``."""
    return 0.0 if m is None else max(0.0, first_step - m) / 3600.0


def scaled_hours(hours: float, steps: int, max_step: int, runs: Sequence[RunTimes],
                 saves: float) -> float:
    """The previous rule, kept for a study without a clean step: the first run's start-up
    plus its hours less every start-up and the ``saves`` (seconds), times ``max_step /
    steps`` (times 1 from ``max_step`` on)."""
    overhead = saves / 3600.0 + sum(run.startup for run in runs) / 3600.0
    training = max(0.0, hours - overhead)
    return runs[0].startup / 3600.0 + training * max(max_step / steps, 1.0)


def straight_hours(hours: float, steps: int, max_step: int, runs: Sequence[RunTimes],
                   saves: float, m: float | None, completed_at: int | None) -> float:
    """Hours one trial (cases (b) and (c) of the module docstring: its latest run closed and
    completed, stopped or paused; ``steps`` > 0 and ``runs`` non-empty) would have taken
    trained straight through: ``hours`` if it already was, else its first start-up + ``m`` x
    the target step + its last run's tail. ``completed_at``: the last step reported when it
    completed, ``None`` when it did not; ``m``: ``step_seconds``."""
    first = runs[0]
    if completed_at is not None and len(runs) == 1 and not first.restored and not first.saves:
        return hours
    if m is None:
        return scaled_hours(hours, steps, max_step, runs, saves)
    target = max_step if completed_at is None else min(completed_at, max_step)
    return (first.startup + m * target + runs[-1].tail) / 3600.0


__all__ = ["Clean", "RunTimes", "restore_hours", "scaled_hours", "step_seconds",
           "straight_hours"]
