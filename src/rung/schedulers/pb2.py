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
   ``_BOUNDS``).
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
cached). A replay that may run the study on (``Study.load``) fits again at every fork; a
reader's replay (``rung show``, ``export``, the dashboard, ``Study.load(readonly=True)``) fits
none: it takes every fork's params and reason from the journal, and keeps the last fork's data
for ``state()``, which fits once when asked (its planned forks at the values the journal
launched them with; a fork redrawn because its donor left the top, or not launched when the
journal ends, is the only case where this can differ from the live fit).
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy.linalg import cho_factor, cho_solve, solve_triangular
from scipy.optimize import minimize

from rung.core.components import BindContext
from rung.core.history import History
from rung.core.records import TrialStatus
from rung.core.registry import reading_journal_only, register
from rung.schedulers.pbt import PBT
from rung.schedulers.pbt_explore import ExploreFn, explore, settle
from rung.schedulers.pbt_lineage import score_at
from rung.searchers._gp import _robust_cholesky, blas_single_thread
from rung.space import Float, Int

#: Observations kept for the GP (the most recent by interval start).
MAX_OBSERVATIONS = 150
#: Below this many observations the numbers are explored as PBT does.
MIN_OBSERVATIONS = 2
#: Uniform candidates scored before the best is polished.
N_CANDIDATES = 256
#: GP-UCB's confidence parameter (Srinivas et al. 2010).
DELTA = 0.1
#: Bounds of the kernel's hyperparameters (``y`` standardized, ``x`` in the unit cube, ``t`` in
#: intervals): lengthscale, signal variance, noise variance, eps.
_BOUNDS = ((0.05, 5.0), (0.05, 20.0), (1e-6, 2.0), (1e-4, 0.5))
_STARTS = ((0.3, 1.0, 0.1, 0.1), (1.0, 1.0, 0.01, 0.01))
_JITTER = 1e-8
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
        self._unfitted: _Unfitted | None = None  # the last fit a reader's replay skipped

    def _explore(
        self, history: History, donor: int, step: int, rng: np.random.Generator
    ) -> dict[str, Any]:
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
        if reading_journal_only():
            # a reader's replay takes every fork's params from the journal: no fit is made
            # unless state() asks for the last one (``_fit_unfitted``)
            self._unfitted = _Unfitted(X, t, y, self._pending_sources(history, numeric),
                                       now, u_donor, copy.deepcopy(rng), step, numeric,
                                       history)
            self._last_fit = {}
            return params
        pending = self._pending_points(history, numeric)
        with blas_single_thread():
            gp = TimeVaryingGP(X, t, y)
            u, info = gp.ucb_argmax(now, pending, u_donor, rng)
        for n, x in zip(numeric, u, strict=True):
            params[n] = self.space.params[n].from_unit(float(x))
        self._last_fit = {"observations": len(rows), "pending": len(pending), "at": step,
                          **info}
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
        """The fit a reader's replay skipped at the last fork (``_explore``), made now, on that
        fork's data: a planned fork's values are those its trial was launched with (the
        journal's), or the donor's while it has none (a study read part-way)."""
        u = self._unfitted
        if u is None:
            return
        self._unfitted = None
        launched = {int(u.history.tags(tid)["replaces"]): u.history.params(tid)
                    for tid in range(len(u.history))
                    if u.history.tags(tid).get("pbt") == "fork"}
        planned = [(step, launched.get(r) or self._plan.get(r, (0, {}))[1])
                   for r, step in u.planned]
        planned = [(step, p) for step, p in planned if all(n in p for n in u.names)]
        pending = self._rows(u.names, planned, u.live)
        with blas_single_thread():
            gp = TimeVaryingGP(u.X, u.t, u.y)
            _, info = gp.ucb_argmax(u.now, pending, u.u_donor, u.rng)
        self._last_fit = {"observations": len(u.y), "pending": len(pending), "at": u.step,
                          **info}

    def _draw(
        self, history: History, recipient: int, step: int, donors: list[int]
    ) -> tuple[int, dict[str, Any]]:
        plan = super()._draw(history, recipient, step, donors)
        self._notes[recipient] = self._note()
        return plan

    def _note(self) -> str:
        """What chose the last fork's numbers, for its exploit's reason: ``"PB2: GP-UCB over 14
        interval changes (2 pending): predicted change per interval 0.031 +- 0.012"``."""
        fit = self._last_fit
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


@dataclass(frozen=True)
class _Unfitted:
    """A fork's data, kept by a reader's replay instead of fitting (``PB2._fit_unfitted``)."""

    X: np.ndarray
    t: np.ndarray
    y: np.ndarray
    sources: tuple[list[tuple[int, int]], list[tuple[int, dict[str, Any]]]]
    now: float
    u_donor: np.ndarray
    rng: np.random.Generator
    step: int
    names: list[str]
    history: History

    @property
    def planned(self) -> list[tuple[int, int]]:
        return self.sources[0]

    @property
    def live(self) -> list[tuple[int, dict[str, Any]]]:
        return self.sources[1]


class TimeVaryingGP:
    """Exact GP regression with the time-varying squared-exponential kernel (module
    docstring), on inputs ``X`` (unit cube), times ``t`` and targets ``y`` (standardized here);
    its hyperparameters are fitted when it is built."""

    def __init__(self, X: np.ndarray, t: np.ndarray, y: np.ndarray) -> None:
        self.X, self.t = X, t
        sd = float(np.std(y))
        self.y_mean, self.y_sd = float(np.mean(y)), (sd if sd > 0 else 1.0)
        self.y = (y - self.y_mean) / self.y_sd
        self._d2 = _sqdist(X, X)
        self._dt = np.abs(t[:, None] - t[None, :])
        self.theta = self._fit()
        self.L, self.alpha = self._factor(self.X, self.t, self.theta, self.y)

    @staticmethod
    def kernel(A: np.ndarray, ta: np.ndarray, B: np.ndarray, tb: np.ndarray,
               theta: Sequence[float]) -> np.ndarray:
        return _tv_se(_sqdist(A, B), np.abs(ta[:, None] - tb[None, :]), theta)

    def _factor(self, X: np.ndarray, t: np.ndarray, theta: Sequence[float],
                y: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        K = self.kernel(X, t, X, t, theta) + (theta[2] + _JITTER) * np.eye(len(t))
        L = _robust_cholesky(K)
        if y is None:
            return L, None
        return L, cho_solve((L, True), y, check_finite=False)

    def _nll(self, log_theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log marginal likelihood (up to a constant) at ``exp(log_theta)``, and its
        gradient in ``log_theta`` (``0.5 tr((K^-1 - a a^T) dK)``, ``a = K^-1 y``)."""
        theta = np.exp(log_theta)
        ls, _, noise, eps = theta
        n = len(self.y)
        Kf = _tv_se(self._d2, self._dt, theta)
        K = Kf + (noise + _JITTER) * np.eye(n)
        try:
            c = cho_factor(K, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros(4)
        alpha = cho_solve(c, self.y, check_finite=False)
        nll = float(0.5 * self.y @ alpha + np.sum(np.log(np.diag(c[0]))))
        W = cho_solve(c, np.eye(n), check_finite=False) - np.outer(alpha, alpha)
        WK = W * Kf
        grad = 0.5 * np.array([
            float(np.sum(WK * self._d2)) / (ls * ls),  # d/dlog l
            float(np.sum(WK)),  # d/dlog s2
            float(np.trace(W)) * noise,  # d/dlog noise
            float(np.sum(WK * self._dt)) * -eps / (2 * (1 - eps)),  # d/dlog eps
        ])
        return nll, grad

    def _fit(self) -> tuple[float, float, float, float]:
        """Marginal-likelihood hyperparameters (in log space, L-BFGS-B, fixed starts)."""
        bounds = [(math.log(lo), math.log(hi)) for lo, hi in _BOUNDS]
        best: tuple[float, np.ndarray] | None = None
        for start in _STARTS:
            res = minimize(self._nll, np.log(start), jac=True, method="L-BFGS-B",
                           bounds=bounds, options={"maxiter": 60})
            if math.isfinite(res.fun) and (best is None or res.fun < best[0]):
                best = (float(res.fun), np.asarray(res.x))
        x = np.exp(best[1]) if best is not None else np.array(_STARTS[0])
        return float(x[0]), float(x[1]), float(x[2]), float(x[3])

    def ucb_argmax(
        self, now: float, pending: np.ndarray, donor: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, dict[str, float]]:
        """The point of ``[0, 1]^d`` maximizing the UCB at time ``now``, the variance taken
        with ``pending`` rows (``(t, x)``) added to the inputs; and what decided it."""
        d = self.X.shape[1]
        n = len(self.y)
        beta = 2.0 * math.log(n * n * math.pi**2 / (6.0 * DELTA)) / 5.0
        theta = self.theta
        if len(pending):
            Xv = np.vstack([self.X, pending[:, 1:]])
            tv = np.concatenate([self.t, pending[:, 0]])
            Lv, _ = self._factor(Xv, tv, theta, None)
        else:
            Xv, tv, Lv = self.X, self.t, self.L

        def ucb(U: np.ndarray) -> np.ndarray:
            tu = np.full(len(U), now)
            mu = self.kernel(U, tu, self.X, self.t, theta) @ self.alpha
            v = solve_triangular(Lv, self.kernel(Xv, tv, U, tu, theta), lower=True,
                                 check_finite=False)
            var = np.maximum(theta[1] - np.sum(v * v, axis=0), 1e-12)
            return np.asarray(mu + math.sqrt(beta) * np.sqrt(var))

        cands = np.vstack([rng.random((N_CANDIDATES, d)), donor[None, :]])
        scores = ucb(cands)
        x0 = cands[int(np.argmax(scores))]
        res = minimize(lambda u: -float(ucb(u[None, :])[0]), x0, method="L-BFGS-B",
                       bounds=[(0.0, 1.0)] * d, options={"maxiter": 50})
        u = np.clip(np.asarray(res.x), 0.0, 1.0) if -res.fun >= scores.max() else x0
        ls, s2, noise, eps = theta
        tu = np.full(1, now)
        mu = float((self.kernel(u[None, :], tu, self.X, self.t, theta) @ self.alpha)[0])
        v = solve_triangular(self.L, self.kernel(self.X, self.t, u[None, :], tu, theta),
                             lower=True, check_finite=False)
        sd = math.sqrt(max(theta[1] - float(np.sum(v * v)), 0.0))
        return u, {"lengthscale": ls, "signal": s2, "noise": noise, "eps": eps, "beta": beta,
                   "mean": self.y_mean + self.y_sd * mu, "sd": self.y_sd * sd}


def _sqdist(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    return np.asarray(np.sum((A[:, None, :] - B[None, :, :]) ** 2, axis=2))


def _tv_se(d2: np.ndarray, dt: np.ndarray, theta: Sequence[float]) -> np.ndarray:
    """The time-varying squared-exponential kernel from squared distances ``d2`` and time
    gaps ``dt``: ``s2 exp(-d2 / (2 l^2)) (1 - eps)^(dt / 2)``."""
    ls, s2, _, eps = theta
    return np.asarray(s2 * np.exp(-d2 / (2 * ls * ls) + (0.5 * math.log1p(-eps)) * dt))
