"""Population-based bandits, PB2 (Parker-Holder, Nguyen and Roberts, "Provably Efficient Online
Hyperparameter Optimization with Population-Based Bandits", NeurIPS 2020).

PB2 is PBT (``rung.schedulers.pbt``: the same population, ready criterion, truncation
selection, time-sharing, burn-in and failure handling) with the explore step replaced by a
bandit. When a member in the bottom ``quantile_fraction`` is replaced by a fork of a top member
at step ``s``, the fork's numeric hyperparameters are not a random perturbation of the donor's
but the maximizer of an upper confidence bound (the paper's Algorithm 1 and 2):

1. **Data.** Every trial of the study (the population's whole history, the replaced members
   included) contributes one observation per interval it trained: ``x`` = its numeric
   hyperparameters in the space's unit encoding (``SearchSpace.to_unit``: a log-scaled
   parameter in log space), ``t`` = the interval's first step in units of
   ``perturbation_interval``, ``y`` = how much the objective improved over the interval
   (the drop of the lower-is-better score, per ``perturbation_interval`` steps). An interval
   runs from the trial's first result (a fork's: the checkpoint it was forked from, with its
   lineage's result there) to its first result past each interval step, as PBT judges. The
   most recent ``MAX_OBSERVATIONS`` by ``t`` are kept (a cost bound: the time-varying kernel
   gives older ones little weight).
2. **Model.** A Gaussian process on standardized ``y`` with the time-varying squared-exponential
   kernel of Bogunovic, Scarlett and Cevher ("Time-Varying Gaussian Process Bandit
   Optimization", AISTATS 2016), as in the paper's section 4::

       k((x, t), (x', t')) = s2 * exp(-|x - x'|^2 / (2 l^2)) * (1 - eps) ** (|t - t'| / 2)

   whose ``l``, ``s2``, ``eps`` and the noise variance maximize the marginal likelihood
   (L-BFGS-B from fixed starts, so a fit is a pure function of the data; bounds in
   ``rung.schedulers._pb2_gp._BOUNDS``).
3. **Batch.** Members chosen in the same generation and not yet observed (forks planned or
   launched without a result past their start, and new members without a result) are
   *pending*: as in the paper (after Desautels, Krause and Burdick's GP-BUCB, JMLR 2014), they
   are added to the GP's inputs for its posterior variance, which does not depend on their
   unknown outcomes, so a batch spreads out instead of piling onto one point. The mean is
   the posterior mean of the observations alone.
4. **Acquisition.** ``x`` maximizes ``mu(x, t_s) + sqrt(beta) * sd(x, t_s)`` on ``[0, 1]^d`` at
   the current time ``t_s``, with GP-UCB's schedule ``beta = 2 log(n^2 pi^2 / (6 delta)) / 5``
   (Srinivas, Krause, Kakade and Seeger, ICML 2010, Theorem 1, ``delta = 0.1``, scaled by
   1/5 as in their experiments), ``n`` observations: the best of ``N_CANDIDATES`` uniform
   points (and the donor's own), polished by L-BFGS-B, decoded by the space (integers and
   stepped floats snapped to their grid).

**Categorical parameters** are explored as PBT does (resampled with ``resample_probability``;
an ordered one otherwise moves to a neighbouring choice, an unordered one keeps its value): the
paper's bandit is over a box. **Too little data** (fewer than ``MIN_OBSERVATIONS``
observations, e.g. at the first interval when members report only at interval steps): the
numbers are explored as PBT does too. A user's ``explore=`` function applies after, as in PBT.

**Reasons.** An exploit's reason ends with what chose the fork's numbers: ``"(PB2: GP-UCB
over 14 interval changes (2 pending): predicted improvement per interval 0.031 +- 0.012)"``, the
posterior mean and standard deviation at the chosen point in the objective's units, or ``"(PB2:
explored as PBT, ...)"`` while there is too little data.

**Simulation** (``Study.simulate``) runs PB2's decisions as they are, GP fits included, but a
stateless ``Benchmark`` gives a fork the results of a run trained with its chosen params from
step 1: the donor's trained state plays no part (as for PBT; the warning is PBT's
``simulation_note``).

**Determinism.** The donor, the candidate points and PBT's categorical draws come from
``derive_rng(seed, "pbt", recipient, step)`` (PBT's), the fit from fixed starts: replay
reproduces every fork. ``state()["pb2"]`` shows the last fit (observations, pending points,
lengthscale, ``eps``, ``beta``).

Complexity: each exploit fits a GP to at most ``MAX_OBSERVATIONS`` points (cubic in them) and
reads the results of every trial not yet completed or stopped (the others' observations are
cached). A replay fits none before the journal's last event (``Scheduler.replaying``):
it takes every launched fork's params from the journal and keeps each fork's data instead. A
replay that may run the study on (``Study.load``, ask/tell's reload) fits the forks planned and
not yet launched when it ends, when the study goes on, each on the data it was planned with
(the forks pending then at the values they were planned with: their own skipped fits made
first): their params and reasons are those the uninterrupted run planned. ``state()`` fits the
last fork's once when asked, the same way, so a reader's replay (``rung show``, ``export``,
the dashboard, ``Study.load(readonly=True)``) shows the live run's last fit (but for a user's
``explore=`` function this process cannot import: the values are then taken as drawn).
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from rung.core.components import BindContext, NextTrial
from rung.core.history import History
from rung.core.records import TrialStatus
from rung.core.registry import reading_journal_only, register
from rung.errors import ConfigError
from rung.schedulers._pb2_gp import TimeVaryingGP
from rung.schedulers.pbt import PBT
from rung.schedulers.pbt_explore import ExploreFn, explore, settle
from rung.schedulers.pbt_lineage import score_at
from rung.searchers._gp import blas_single_thread
from rung.space import Float, Int

#: Observations kept for the GP (the most recent by interval start).
MAX_OBSERVATIONS = 150
#: Below this many observations the numbers are explored as PBT does.
MIN_OBSERVATIONS = 2
#: trials whose results cannot change (a failed one may be retried)
_ENDED = (TrialStatus.COMPLETED, TrialStatus.STOPPED)


@register("scheduler", "pb2")
class PB2(PBT):
    """Population-based bandits: PBT whose forks take numeric hyperparameters chosen by a
    time-varying GP-UCB over the population's history (the module docstring has the rule).

    Args:
        population_size: trials that train side by side (>= 2).
        perturbation_interval: steps between exploit/explore decisions (below ``max_step``).
        quantile_fraction: the bottom fraction is replaced by forks of the top fraction
            (``0 < q <= 0.5``).
        resample_probability: chance that a categorical parameter is resampled (numbers are
            chosen by the bandit).
        hyperparams: names of the parameters to explore (default: every tunable parameter).
        burn_in_period: no member is judged at a step below it.
        explore: a function ``(params: dict) -> dict`` applied after PB2's choice, or its
            ``"module:function"`` name (as in ``PBT``).
    """

    # PB2 decides with PBT's exploit code: a change there that changes decisions bumps this too
    version = 5
    changes: ClassVar[dict[int, str]] = {
        5: "PBT's checkpoints (PBT version 13): a pause the driver's stop cut short no longer "
        "ends the run as 'PB2 needs checkpoints' (before: the resumed study ended for good)",
        4: "PBT's checkpoints (PBT version 12): a member that pauses without a checkpoint of "
        "its step, or top members that went on without one when a member is to be exploited, "
        "end the run with 'PB2 needs checkpoints: ...' (before: a time-shared member was "
        "resumed from scratch into the same pause for ever)",
        3: "PBT's exploit (PBT version 11): an exploited member keeps its place in the "
        "ranking, with its own last result, until its fork reports (before: the next members "
        "judged at that step were ranked in a smaller population, and more than the bottom "
        "quantile was exploited); a fork whose planned donor ended before it started forks "
        "from the donor's recorded checkpoint (before: the place could be lost silently)",
        2: "the reason of a decision taken on a paused trial is journaled: a Cancel of a retired "
        "trial with its rank and quota (or its exploit), a Reply on a resumed trial's last "
        "result saying why it was promoted (decisions unchanged; an older rung cannot replay "
        "such a journal)",
    }

    def __init__(
        self,
        population_size: int = 8,
        perturbation_interval: int = 4,
        quantile_fraction: float = 0.25,
        resample_probability: float = 0.25,
        hyperparams: list[str] | None = None,
        burn_in_period: int = 0,
        explore: ExploreFn | str | None = None,
    ) -> None:
        super().__init__(population_size, perturbation_interval, quantile_fraction,
                         resample_probability, hyperparams, burn_in_period, explore=explore)

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        self._last_fit: dict[str, Any] = {}  # what decided the last fork (``state()["pb2"]``)
        self._notes: dict[int, str] = {}  # recipient -> what chose its fork's numbers
        # observations of ended trials (they cannot change), for one list of parameter names
        self._rows_cache: dict[int, list[tuple[float, list[float], float]]] = {}
        self._rows_key: tuple[str, ...] = ()
        self._unfitted: _Unfitted | None = None  # the last fork's fit, if a replay skipped it
        self._deferred: dict[int, _Unfitted] = {}  # recipient -> its open plan's skipped fit

    def _explore(
        self, history: History, donor: int, step: int, rng: np.random.Generator
    ) -> dict[str, Any]:
        deciding = not (reading_journal_only() or self.replaying)
        if deciding and self._deferred:
            self._fit_deferred()  # the plans a replay left open count as pending here
        params = dict(history.params(donor))
        numeric = [n for n in self._names
                   if n in params and isinstance(self.space.params[n], Float | Int)]
        others = [n for n in self._names if n not in numeric]
        rows = self._observations(history, numeric) if numeric else []
        if len(rows) < MIN_OBSERVATIONS:
            self._unfitted = None
            self._last_fit = {"observations": len(rows), "fallback": "pbt"}
            return explore(self.space, params, self._names, self.resample_probability, rng,
                           self._factors)
        X = np.array([r[1] for r in rows])
        t = np.array([r[0] for r in rows])
        y = np.array([r[2] for r in rows])
        now = step / self.perturbation_interval
        u_donor = np.array([self.space.params[n].to_unit(params[n]) for n in numeric])
        if not deciding:
            # a replay takes every launched fork's params from the journal: no fit is made
            # unless state() asks for the last one (``_fit_unfitted``) or the fork is still
            # to launch when replay ends (``_fit_deferred``)
            planned, live = self._pending_sources(history, numeric)
            self._unfitted = _Unfitted(
                X, t, y, [(s, self._deferred.get(r) or self._plan[r][1]) for r, s in planned],
                live, now, u_donor, copy.deepcopy(rng), step, numeric, dict(params), others)
            self._last_fit = {}
            return params
        self._unfitted = None
        pending = self._pending_points(history, numeric)
        with blas_single_thread():
            gp = TimeVaryingGP(X, t, y)
            u, info = gp.ucb_argmax(now, pending, u_donor, rng)
        for n, x in zip(numeric, u, strict=True):
            params[n] = self.space.params[n].from_unit(float(x))
        self._last_fit = {"observations": len(rows), "pending": len(pending), "at": step,
                          **info}
        return self._after_fit(params, others, rng)

    def _after_fit(self, params: dict[str, Any], others: list[str],
                   rng: np.random.Generator) -> dict[str, Any]:
        """The fork's params once GP-UCB set its numbers: the other parameters explored as
        PBT does, the values settled in the space."""
        if others:
            return explore(self.space, params, others, self.resample_probability, rng,
                           self._factors)
        return settle(self.space, params, rng)

    # --- data -------------------------------------------------------------------------------
    def _observations(
        self, history: History, names: Sequence[str]
    ) -> list[tuple[float, list[float], float]]:
        """``(t, x, y)`` of every interval every trial trained with all of ``names`` active,
        the most recent ``MAX_OBSERVATIONS`` by ``t`` (module docstring)."""
        cache = self._rows_cache
        key = tuple(names)
        if self._rows_key != key:
            cache.clear()
            self._rows_key = key
        rows = []
        for tid in range(len(history)):
            mine = cache.get(tid)
            if mine is None:
                mine = self._rows_of(history, tid, names)
                if history.status(tid) in _ENDED:
                    cache[tid] = mine
            rows.extend(mine)
        rows.sort(key=lambda r: r[0])
        return rows[-MAX_OBSERVATIONS:]

    def _rows_of(
        self, history: History, tid: int, names: Sequence[str]
    ) -> list[tuple[float, list[float], float]]:
        params = history.params(tid)
        if any(n not in params for n in names):
            return []
        x = [self.space.params[n].to_unit(params[n]) for n in names]
        interval = self.perturbation_interval
        points = self._interval_points(history, tid)
        out = []
        for (a, fa), (b, fb) in itertools.pairwise(points):
            if math.isfinite(fa) and math.isfinite(fb):
                out.append((a / interval, x, (fa - fb) * interval / (b - a)))
        return out

    def _interval_points(self, history: History, tid: int) -> list[tuple[int, float]]:
        """``(step, score)`` where each of ``tid``'s intervals starts and ends: its first
        result (a fork: its checkpoint's step, with its lineage's result there), then its
        first result past each interval step."""
        interval = self.perturbation_interval
        scores = history.scores(tid)
        out: list[tuple[int, float]] = []
        parent = history.parent_id(tid)
        start = history.tags(tid).get("from_step")
        if parent is not None and start is not None:
            at = score_at(history, parent, int(start))
            if at is not None:
                out.append((int(start), at))
        for s in sorted(scores):
            if out and s <= out[-1][0]:
                continue
            if not out or s // interval > out[-1][0] // interval:
                out.append((s, scores[s]))
        return out

    def _pending_points(self, history: History, names: Sequence[str]) -> np.ndarray:
        """``(t, x)`` rows of the members chosen but not yet observed: forks planned (a
        recipient's plan) and live trials with no interval observed since they started."""
        planned, live = self._pending_sources(history, names)
        return self._rows(names, [(step, self._plan[r][1]) for r, step in planned], live)

    def _pending_sources(
        self, history: History, names: Sequence[str]
    ) -> tuple[list[tuple[int, int]], list[tuple[int, dict[str, Any]]]]:
        """What ``_pending_points`` is made of: ``(recipient, step)`` of each planned fork,
        ``(start step, params)`` of each live trial with no interval observed."""
        planned = [(r, self._pending.get(r, 0)) for r, (_, params) in self._plan.items()
                   if all(n in params for n in names)]
        live = []
        for tid in self._members:
            if history.status(tid) not in _LIVE_STATUSES:
                continue
            mine = history.params(tid)
            if any(n not in mine for n in names) or len(self._interval_points(history, tid)) > 1:
                continue
            live.append((int(history.tags(tid).get("from_step", 0)), dict(mine)))
        return planned, live

    def _rows(self, names: Sequence[str], planned: list[tuple[int, Mapping[str, Any]]],
              live: list[tuple[int, dict[str, Any]]]) -> np.ndarray:
        """``(t, x)`` rows of ``(step, params)`` pairs, the planned ones first."""
        interval = self.perturbation_interval
        out = [[step / interval, *(self.space.params[n].to_unit(p[n]) for n in names)]
               for step, p in [*planned, *live]]
        return np.array(out, dtype=float).reshape(-1, len(names) + 1)

    def _fit_unfitted(self) -> None:
        """The last fork's fit, if a replay skipped it, made now for ``state()``."""
        u = self._unfitted
        if u is not None:
            self._unfitted = None
            self._last_fit = dict(u.info if u.info is not None else self._fit(u)[2])

    def _fit(self, u: _Unfitted) -> tuple[np.ndarray, np.random.Generator, dict[str, Any]]:
        """A fit a replay skipped, made now on that fork's data, as ``_explore`` would have
        made it then: the unit point GP-UCB chose, the fork's generator past the fit's draws,
        and what decided it (``_last_fit``'s form). A fork planned then and pending in it
        counts at the values its plan had (a skipped one's fitted first: ``_values``)."""
        planned = [(step, p if isinstance(p, Mapping) else self._values(p))
                   for step, p in u.planned]
        pending = self._rows(u.names, planned, u.live)
        rng = copy.deepcopy(u.rng)
        with blas_single_thread():
            gp = TimeVaryingGP(u.X, u.t, u.y)
            x, info = gp.ucb_argmax(u.now, pending, u.u_donor, rng)
        u.info = {"observations": len(u.y), "pending": len(pending), "at": u.step, **info}
        return x, rng, u.info

    def _values(self, u: _Unfitted) -> dict[str, Any]:
        """The params ``_explore`` would have given the fork whose fit a replay skipped
        (computed once)."""
        if u.values is None:
            x, rng, _ = self._fit(u)
            params = dict(u.donor_params)
            for n, v in zip(u.names, x, strict=True):
                params[n] = self.space.params[n].from_unit(float(v))
            drawn = self._after_fit(params, u.others, rng)
            try:
                u.values = self._users_explore(drawn)
            except ConfigError:  # a reader's: the user's explore= cannot be imported here
                u.values = drawn
        return u.values

    def _fit_deferred(self) -> None:
        """Give the forks a replay planned and left to launch the params, and the reasons,
        the uninterrupted run planned them with (``_values``), in the order planned."""
        deferred, self._deferred = self._deferred, {}
        for recipient, u in deferred.items():
            plan = self._plan.get(recipient)
            if plan is not None:  # (else launched from the journal, or given up meanwhile)
                self._plan[recipient] = (plan[0], self._values(u))
                self._notes[recipient] = self._note(u.info or {})

    def _draw(
        self, history: History, recipient: int, step: int, donors: list[int]
    ) -> tuple[int, dict[str, Any]]:
        before = self._unfitted
        plan = super()._draw(history, recipient, step, donors)
        if self._unfitted is not None and self._unfitted is not before:
            self._deferred[recipient] = self._unfitted  # (a replay skipped its fit)
            for r in [r for r in self._deferred if r not in self._plan and r != recipient]:
                del self._deferred[r]  # launched from the journal, or given up
        else:
            self._deferred.pop(recipient, None)
        self._notes[recipient] = self._note(self._last_fit)
        return plan

    def _place(self, history: History) -> tuple[bool, NextTrial | None]:
        if self._deferred and not (reading_journal_only() or self.replaying):
            self._fit_deferred()
        return super()._place(history)

    @staticmethod
    def _note(fit: Mapping[str, Any]) -> str:
        """What chose a fork's numbers (its fit, in ``_last_fit``'s form), for its exploit's
        reason: ``"PB2: GP-UCB over 14 interval changes (2 pending): predicted change per
        interval 0.031 +- 0.012"``."""
        if fit.get("fallback"):
            return (f"PB2: explored as PBT, {fit.get('observations', 0)} interval change(s) "
                    f"observed (the bandit needs {MIN_OBSERVATIONS})")
        if "mean" not in fit:
            return ""
        pending = f" ({fit['pending']} pending)" if fit.get("pending") else ""
        return (f"PB2: GP-UCB over {fit['observations']} interval changes{pending}: predicted "
                f"improvement per interval {fit['mean']:.4g} +- {fit['sd']:.2g}")

    def _replacement(self, history: History, step: int, plan: tuple[int, dict[str, Any]]) -> str:
        text = super()._replacement(history, step, plan)
        who = next((r for r, p in self._plan.items() if p is plan), None)
        note = self._notes.get(who, "") if who is not None else ""
        return f"{text} ({note})" if note else text

    def state(self) -> dict[str, Any]:
        out = super().state()
        self._fit_unfitted()
        out["pb2"] = dict(self._last_fit)
        return out


_LIVE_STATUSES = (TrialStatus.LAUNCHED, TrialStatus.RUNNING, TrialStatus.PAUSED)


@dataclass
class _Unfitted:
    """A fork's data, kept by a replay instead of fitting (``PB2._fit``): its observations,
    the forks planned then (their values, or their own skipped fits) and the live trials
    pending then, the time, the donor's params and unit point, and the fork's generator before
    the fit's draws. ``values`` and ``info`` hold the fit once made."""

    X: np.ndarray
    t: np.ndarray
    y: np.ndarray
    planned: list[tuple[int, Mapping[str, Any] | _Unfitted]]
    live: list[tuple[int, dict[str, Any]]]
    now: float
    u_donor: np.ndarray
    rng: np.random.Generator
    step: int
    names: list[str]
    donor_params: dict[str, Any]
    others: list[str]
    values: dict[str, Any] | None = None
    info: dict[str, Any] | None = None
