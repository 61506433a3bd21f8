"""Step costs of a pilot, measured from its journal's event times (a pure fold over records).

Executors stamp every event with their clock: a run of a trial starts with ``TrialStarted``
(at dispatch), then one ``ResultReported`` per step, perhaps a ``CheckpointSaved`` after a
report, then ``TrialEnded``. From those times, for every trial:

- the **first-step time** of a run: its first result's time minus its ``TrialStarted`` time
  (worker start-up, restoring a checkpoint if it resumes, and the first step);
- the **step time** of step ``s`` within a run: the time between the results of ``s - 1``
  and ``s`` (so the time a worker spent saving a checkpoint after ``s - 1``, or waiting for
  the driver's reply at a rung, is part of the step after it: it is paid there);
- the **checkpoint time**: a ``CheckpointSaved``'s time minus the trial's last result time.

Model (``StepCosts``). The time of step ``s`` of trial ``k`` is ``m_k * g(s)``: a per-trial
scale (a configuration's size: trees, width, batch) times a step profile shared by all trials
(the first step builds the data structures; later epochs may get cheaper or dearer), fitted
as a two-way fixed-effects (additive) model on log times by least squares over the trials
timed at two or more later steps. A fresh run's
first step is step 1 of this model, start-up included: start-up cannot be told apart from the
first step unless a run resumed at a later step, so the start-up charged to every launch is the
median, over resumed runs, of their first-step time minus the model's time of that step (0
when no run resumed).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rung.core.events import (
    CapacityChanged,
    CheckpointSaved,
    Launch,
    Record,
    ResultReported,
    TrialStarted,
)
from rung.core.records import Objective

_EPS = 1e-9  # a step always costs something (the Benchmark contract)


@dataclass
class TrialCosts:
    """What one pilot trial's steps took (module docstring): ``steps[s]`` is the last measured
    time of step ``s`` (a fresh run's first step included); ``resumed`` lists ``(step,
    first-step time)`` of its runs that started above step 1."""

    steps: dict[int, float] = field(default_factory=dict)
    resumed: list[tuple[int, float]] = field(default_factory=list)


@dataclass
class Pilot:
    """A pilot study's evidence: parameters, scored curves and step costs by trial id, and
    ``resources``: what a trial held as the executor last reported it (``CapacityChanged``;
    ``None`` when no executor said, and the study's ``resources_per_trial`` applies)."""

    params: dict[int, Mapping[str, Any]] = field(default_factory=dict)
    curves: dict[int, dict[int, float]] = field(default_factory=dict)  # id -> step -> score
    costs: dict[int, TrialCosts] = field(default_factory=dict)
    checkpoint_seconds: list[float] = field(default_factory=list)
    resources: Mapping[str, float] | None = None


def read_pilot(records: Iterable[Record], objective: Objective) -> Pilot:
    """Fold a journal's records into a ``Pilot``.

    Scores are ``objective.score(metrics)`` (lower is better); a result without a finite
    score is left out of the curve but still timed.
    """
    pilot = Pilot()
    start_step: dict[int, int] = {}  # trial -> start step of its last Launch
    started: dict[int, float] = {}  # trial -> TrialStarted time of its current run
    last: dict[int, float] = {}  # trial -> time of its last result in the current run
    for rec in records:
        if isinstance(rec, Launch):
            pilot.params.setdefault(rec.trial_id, rec.params)
            start_step[rec.trial_id] = rec.start_step
        elif isinstance(rec, TrialStarted):
            started[rec.trial_id] = rec.time
            last.pop(rec.trial_id, None)
        elif isinstance(rec, ResultReported):
            tid = rec.trial_id
            tc = pilot.costs.setdefault(tid, TrialCosts())
            prev = last.get(tid)
            if prev is not None:
                tc.steps[rec.step] = max(rec.time - prev, 0.0)
            elif tid in started:
                seconds = max(rec.time - started[tid], 0.0)
                if start_step.get(tid, 1) <= 1:
                    tc.steps[rec.step] = seconds
                else:
                    tc.resumed.append((rec.step, seconds))
            last[tid] = rec.time
            score = objective.score(rec.metrics)
            if math.isfinite(score):
                pilot.curves.setdefault(tid, {})[rec.step] = score
        elif isinstance(rec, CheckpointSaved) and rec.trial_id in last:
            pilot.checkpoint_seconds.append(max(rec.time - last[rec.trial_id], 0.0))
        elif isinstance(rec, CapacityChanged) and rec.resources is not None:
            pilot.resources = dict(rec.resources)
    return pilot


@dataclass(frozen=True)
class StepCosts:
    """The fitted step-cost model (module docstring) and the start-up per launch.

    Attributes:
        first: trial id -> its fresh first-step time (seconds, start-up included).
        scale: trial id -> ``m_k`` (seconds) of its later steps.
        profile: ``g(1..max_step)`` (``g(1)`` unused: step 1 is measured); steps no pilot
            trial timed carry the nearest timed step's value (the last one below, else the
            first one above).
        startup: seconds charged at every launch.
    """

    first: Mapping[int, float]
    scale: Mapping[int, float]
    profile: np.ndarray
    startup: float

    def row(self, k: int, measured: Mapping[int, float]) -> np.ndarray:
        """Step times ``1..max_step`` of trial ``k``: its own timed steps (``measured``) where
        it has them, the model elsewhere; step 1 without the start-up the executor charges
        separately at every launch."""
        out = self.scale[k] * self.profile
        out[0] = self.first[k]
        for s, sec in measured.items():
            if 1 <= s <= len(out):
                out[s - 1] = sec
        out[0] = out[0] - self.startup
        return np.maximum(out, _EPS)


def fit_step_costs(costs: Mapping[int, TrialCosts], ids: list[int], max_step: int) -> StepCosts:
    """Fit ``StepCosts`` for trials ``ids`` (module docstring); a trial of ``ids`` with no
    timed step gets the medians."""
    firsts = {k: costs[k].steps[1] for k in ids if k in costs and 1 in costs[k].steps}
    obs = [(k, s, math.log(max(sec, _EPS))) for k in ids if k in costs
           for s, sec in costs[k].steps.items() if 2 <= s <= max_step]
    log_g = np.zeros(max_step)
    log_m: dict[int, float] = {}
    if obs:
        ks = np.array([o[0] for o in obs])
        ss = np.array([o[1] for o in obs]) - 1
        ys = np.array([o[2] for o in obs])
        # the profile comes from trials timed at two later steps or more (one step says
        # nothing about how a trial's steps compare); the scales then from every trial
        n_later = {int(k): int((ks == k).sum()) for k in np.unique(ks)}
        multi = np.array([n_later[int(k)] >= 2 for k in ks])
        if multi.any():
            log_g = _two_way(ks[multi], ss[multi], ys[multi], max_step)
        resid = ys - log_g[ss]
        log_m = {k: float(np.median(resid[ks == k])) for k in n_later}
    first_of = _first_to_scale(firsts, log_m)
    default_first = float(np.median(list(firsts.values()))) if firsts else _EPS
    scale: dict[int, float] = {}
    first: dict[int, float] = {}
    for k in ids:
        first[k] = firsts.get(k, default_first)
        scale[k] = math.exp(log_m[k]) if k in log_m else first_of(first[k])
    profile = np.exp(log_g)
    gaps = [sec - scale[k] * profile[s - 1] for k in ids if k in costs
            for s, sec in costs[k].resumed if 2 <= s <= max_step]
    startup = max(0.0, float(np.median(gaps))) if gaps else 0.0
    return StepCosts(first, scale, profile, startup)


def step_rows(trials: Sequence[TrialCosts], max_step: int, startup: float) -> np.ndarray:
    """``(K, max_step)`` step times (``StepCosts.row``) of ``trials`` from the model fitted on
    them, each entry a trial of its own (a bootstrap resample that draws a pilot trial twice
    weighs it twice), with the start-up ``startup`` (the whole pilot's) taken off step 1."""
    by_id = dict(enumerate(trials))
    fitted = dataclasses.replace(fit_step_costs(by_id, list(by_id), max_step), startup=startup)
    return np.array([fitted.row(i, t.steps) for i, t in by_id.items()]).reshape(-1, max_step)


def _first_to_scale(
    firsts: Mapping[int, float], log_m: Mapping[int, float]
) -> Callable[[float], float]:
    """The scale of a trial timed only at its first step: a least-squares line of log scale on
    log first-step time over the trials timed at both (three or more), slope clipped to
    ``[0, 1]``, back-transformed with Duan's smearing factor (the mean of the exponentiated
    residuals; Duan 1983, "Smearing Estimate: A Nonparametric Retransformation Method") so that
    it predicts the mean scale, not the median (step costs are skewed: a few configurations cost
    many times the others, and they decide the total); with fewer, the mean scale; with no later
    step timed at all, the first-step time itself (later steps assumed to cost what the first
    did)."""
    both = [k for k in log_m if k in firsts]
    if not log_m:
        return lambda f: f
    mean = float(np.mean(np.exp(list(log_m.values()))))
    if len(both) < 3:
        return lambda f: mean
    x = np.log([max(firsts[k], _EPS) for k in both])
    y = np.array([log_m[k] for k in both])
    slope = 0.0 if np.ptp(x) == 0 else float(np.clip(np.polyfit(x, y, 1)[0], 0.0, 1.0))
    icpt = float(np.mean(y) - slope * np.mean(x))
    smear = float(np.mean(np.exp(y - icpt - slope * x)))
    return lambda f: smear * math.exp(icpt + slope * math.log(max(f, _EPS)))


def _two_way(ks: np.ndarray, ss: np.ndarray, ys: np.ndarray, max_step: int) -> np.ndarray:
    """Least-squares fit of ``ys = log m[ks] + log g[ss]`` (dense: a pilot has few trials and
    steps); returns the log profile, identified by ``g = 1`` on average over timed steps,
    untimed steps filled (module docstring)."""
    trials, ti = np.unique(ks, return_inverse=True)
    steps, si = np.unique(ss, return_inverse=True)
    X = np.zeros((len(ys), len(trials) + len(steps)))
    X[np.arange(len(ys)), ti] = 1.0
    X[np.arange(len(ys)), len(trials) + si] = 1.0
    # the profile is defined up to a constant: the minimum-norm solution picks one, then the
    # mean over timed steps is moved into the scales
    coef = np.linalg.lstsq(X, ys, rcond=None)[0]
    g = coef[len(trials):]
    log_g = np.zeros(max_step)
    timed = np.zeros(max_step, dtype=bool)
    log_g[steps] = g - g.mean()
    timed[steps] = True
    return _fill(log_g, timed)


def _fill(log_g: np.ndarray, timed: np.ndarray) -> np.ndarray:
    """Untimed steps take the last timed step's value below them, else the first above."""
    out = log_g.copy()
    idx = np.nonzero(timed)[0]
    for s in range(len(out)):
        if not timed[s]:
            below = idx[idx < s]
            out[s] = out[below[-1]] if len(below) else out[idx[0]]
    return out
