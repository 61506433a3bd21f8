"""The evidence ``StopRule`` decides on: the regret bound of the incumbent, the statistical error
it is compared with, the expected improvement and the mean cost of a trial.

``evidence`` computes them at one step of a history, for a rule's parameters (the method, the
order in which the error's sources apply and the references are ``rung.cost.stop_rule``'s
module docstring); ``trials_ended`` is the denominator of the mean cost of a trial and
``curve_jitter`` the learning curves' step-to-step noise. ``rung.cost.stop_rule`` re-exports
the three, and its ``StopRule.check`` and ``assess`` call ``evidence`` through that module.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from rung.core.history import History
from rung.core.records import TrialStatus
from rung.core.rng import derive_rng
from rung.core.stopping import StopRequest
from rung.cost.noise import binomial_se, lattice_size

if TYPE_CHECKING:
    from rung.cost.stop_rule import StopRule


def evidence(h: History, step: int, rule: StopRule, request: StopRequest | None = None
             ) -> dict[str, float] | None:
    """The numbers the rule decides on, at ``step`` (``None``: no finite score there):
    ``regret_bound`` (``ucb - lcb``, at least 0), ``ucb`` (the GP's least upper confidence
    bound over the evaluated points it is fitted to), ``lcb`` (its least lower confidence bound
    over ``n_candidates`` random points of the space and those points; ``lcb_observed`` 1 if it
    is at an evaluated point), ``bound_noise``, ``signal_sd`` and ``lengthscale_min`` (that
    GP's fitted noise and signal standard deviations, its shortest lengthscale in the unit
    cube; all three 0 when the best half ties), ``tie`` (1 when the best half's values are
    equal up to float rounding, ``spread``: no GP is fitted, the model is flat at the tie and
    the bound is how far the incumbent lies above it, 0 without constraints), ``threshold``,
    ``noise`` (the statistical error the threshold is built on), ``reported`` (1 if it is the
    incumbent's ``noise_metric``, else 0), ``n_val`` (the validation examples of a binomial
    error, 0 if the error is not one), ``gp_noise`` and ``curve_noise`` (the measured error's
    two parts, 0 unless it is the one used), ``expected_improvement``, ``cost_per_trial``,
    ``best`` (the incumbent's score: the best feasible result, ``None`` returned when a
    constrained study has none), ``beta``, ``trials`` (results at ``step``), ``fitted`` (the
    best half the bound's GP is fitted to), ``step``. All in the objective's units, lower is
    better."""
    from rung.searchers._common import CAT, UnitCache, dims_of
    from rung.searchers._gp import Features

    table = sorted((tid, score) for score, tid in h.at_step(step))
    ids = np.array([t for t, _ in table])
    y = np.array([s for _, s in table], dtype=float)
    finite = np.isfinite(y)
    if finite.sum() < 3:
        return None
    y[~finite] = y[finite].max()
    # the incumbent: the best feasible result (every result is feasible without constraints)
    feasible = finite.copy()
    if h.constraints:
        feasible &= np.array([h.violation(int(t), step) == 0.0 for t in ids], dtype=bool)
        if not feasible.any():
            return None  # no incumbent to bound the regret of
    inc = int(np.flatnonzero(feasible)[np.argmin(y[feasible])])
    dims = dims_of(h.space)
    features = Features(dims.kind, dims.size, CAT)
    units = UnitCache(h.space)
    order = np.argsort(y, kind="stable")
    # the statistical error, from the first source that applies (module docstring, 1-5)
    n_val = 0
    reported = None  # the incumbent's own standard error, if it reports one
    gp_noise = curve_noise = 0.0
    if rule.noise is not None:
        noise = rule.noise
    elif rule.threshold is not None:
        noise = 0.0
    else:
        if rule.noise_metric is not None:
            reported = _reported(h, int(ids[inc]), step, rule.noise_metric)
        if reported is None:
            if rule.n_val is not None:
                n_val = rule.n_val
            elif rule.lattice:
                n_val = lattice_size(y[finite]) or 0
        if reported is not None:
            noise = reported
        elif n_val:
            noise = binomial_se(float(y[inc]), n_val)
        else:
            # measured: a GP on every point (the best max_points), whose fitted noise is the
            # part of the scores the configuration does not explain, and the curves' jitter
            keep = np.sort(order[: rule.max_points])
            sd_all = spread(y[keep])
            if sd_all > 0:
                gp_all = _model(rule, "all", features,
                                units.get(h, [int(t) for t in ids[keep]]),
                                (y[keep] - y[keep].mean()) / sd_all)
                gp_noise = math.sqrt(gp_all.noise) * sd_all
            # (else every value ties: the configuration explains them all, no noise is seen)
            curve_noise = curve_jitter(h, rule.tail, rule.jitters)
            noise = max(gp_noise, curve_noise)
    # the bound: a GP on the best half (at least min_trials, at most max_points), where the
    # incumbent's bound is decided, as Optuna's RegretBoundEvaluator does (top_trials_ratio
    # 0.5): the poor half would inflate the model's uncertainty with regions nobody searches
    n_keep = min(max(len(y) // 2, rule.min_trials), rule.max_points, len(y))
    keep = np.sort(order[:n_keep])
    # the upper bound is taken at the evaluated feasible points: with constraints, the best
    # feasible ones (an infeasible result is no incumbent; the lower bound over the whole
    # space stays, which can only make the regret bound larger)
    feas_ids = ids[np.sort(order[feasible[order]][:n_keep])]
    best_y = float(y[inc])
    ids, y = ids[keep], y[keep]
    n, d = len(y), h.space.n_dims
    beta = 2.0 * math.log(d * n * n * math.pi**2 / (6.0 * rule.delta)) / 5.0
    threshold = rule.threshold if rule.threshold is not None else noise * rule.noise_scale
    cost_per_trial = 0.0
    ended = trials_ended(h)
    if request is not None and ended:
        cost_per_trial = request.cost / ended
    sd = spread(y)
    if sd == 0.0:
        # the best half ties: a GP fitted to equal values has no signal (its maximum-likelihood
        # signal variance is 0), so both confidence bounds are the tie everywhere, and the
        # bound is what the incumbent lies above it (0 without constraints) in any units;
        # nothing is fitted (standardizing by 0 would invent a scale)
        tie = float(y.min())
        bound = {"regret_bound": max(best_y - tie, 0.0), "ucb": best_y, "lcb": tie,
                 "lcb_observed": 1.0, "bound_noise": 0.0, "signal_sd": 0.0,
                 "lengthscale_min": 0.0, "tie": 1.0, "expected_improvement": 0.0}
    else:
        X = units.get(h, [int(t) for t in ids])
        feas = feas_ids if h.constraints else None
        # the bound is a function of these alone: the last one is kept and reused for the same
        # (most checks under ASHA model the same points: rung.cost.stop_evidence._model)
        key = (X.tobytes(), y.tobytes(), best_y, beta, sd,
               None if feas is None else np.asarray(feas).tobytes())
        if rule.bounds is not None and rule.bounds[0] == key:
            bound = rule.bounds[1]
        else:
            bound = _bound(rule, h, features, X, y, sd, best_y, beta, feas, units)
            rule.bounds = (key, bound)
    return {
        **{k: bound[k] for k in _BOUND_KEYS},
        "threshold": float(threshold),
        "noise": noise,
        "n_val": float(n_val),
        "reported": 0.0 if reported is None else 1.0,
        "gp_noise": gp_noise,
        "curve_noise": curve_noise,
        "expected_improvement": bound["expected_improvement"],
        "cost_per_trial": cost_per_trial,
        "best": best_y,
        "beta": beta,
        "trials": float(len(table)),
        "fitted": float(n),
        "step": float(step),
    }


_BOUND_KEYS = ("regret_bound", "ucb", "lcb", "lcb_observed", "bound_noise", "signal_sd",
               "lengthscale_min", "tie")


def _bound(rule: StopRule, h: History, features: Any, X: np.ndarray, y: np.ndarray,
           sd: float, best_y: float, beta: float, feasible: np.ndarray | None,
           units: Any) -> dict[str, float]:
    """The regret bound's parts and the expected improvement (``evidence``'s keys of those
    names, in the objective's units) from a GP fitted to the best half ``(X, y)``,
    standardized by its spread ``sd > 0``; the upper bound at the ``feasible`` trial ids
    (``None``: at ``X``)."""
    from scipy.special import ndtr  # the model already needs SciPy

    mean = float(y.mean())
    z = (y - mean) / sd
    gp = _model(rule, "top", features, X, z)
    assert gp.hyper is not None
    root = math.sqrt(max(beta, 0.0))
    rng = derive_rng(rule.ctx.seed, "stop_rule", len(z))
    cand = rng.random((rule.n_candidates, X.shape[1]))
    cand = np.where(np.isnan(X[:1]), np.nan, cand)  # keep inactive dims inactive (approx.)
    mu_o, var_o = gp.predict(features(X))
    mu_c, var_c = gp.predict(features(np.nan_to_num(cand, nan=0.0)))
    if feasible is not None:
        mu_f, var_f = gp.predict(features(units.get(h, [int(t) for t in feasible])))
    else:
        mu_f, var_f = mu_o, var_o
    ucb_obs = float(np.min(mu_f + root * np.sqrt(var_f)))
    lcb_c = float(np.min(mu_c - root * np.sqrt(var_c)))
    lcb_o = float(np.min(mu_o - root * np.sqrt(var_o)))
    lcb = min(lcb_c, lcb_o)
    best = (best_y - mean) / sd
    s_all = np.sqrt(np.concatenate([var_c, var_o]))
    imp = (best - np.concatenate([mu_c, mu_o])) / s_all
    pdf = np.exp(-0.5 * imp * imp) / math.sqrt(2 * math.pi)
    ei = float(np.max(s_all * (imp * ndtr(imp) + pdf)))
    return {
        "regret_bound": max(ucb_obs - lcb, 0.0) * sd,
        "ucb": mean + ucb_obs * sd,
        "lcb": mean + lcb * sd,
        "lcb_observed": 1.0 if lcb_o <= lcb_c else 0.0,
        "bound_noise": math.sqrt(gp.noise) * sd,
        "signal_sd": math.sqrt(gp.s2) * sd,
        "lengthscale_min": float(np.exp(np.min(gp.hyper.log_ls))),
        "tie": 0.0,
        "expected_improvement": ei * sd,
    }


#: values whose range is at most this fraction of their largest magnitude tie (``spread``):
#: float rounding (an objective computed in another order) is ~1e-16 of it
TIE_RTOL = 1e-12


def spread(v: np.ndarray) -> float:
    """The standard deviation of ``v``, the scale the stop rule's GPs standardize by; ``0.0``
    when the values tie (their range is at most ``TIE_RTOL`` of their largest magnitude, so
    that float rounding of a constant is no scale either)."""
    if len(v) == 0 or float(np.ptp(v)) <= TIE_RTOL * float(np.max(np.abs(v))):
        return 0.0
    return float(v.std())


_ENDED = (TrialStatus.PAUSED, TrialStatus.COMPLETED, TrialStatus.STOPPED, TrialStatus.FAILED,
          TrialStatus.INTERRUPTED)


def trials_ended(h: History) -> int:
    """Trials that ran and are not running now: the denominator of the mean cost of a trial
    (a trial paused and resumed, by Hyperband or PBT, is one trial however many runs it had;
    the money so far also holds the running trials' part, which makes the mean a little
    high while they run)."""
    return sum(h.count(s) for s in _ENDED)


def _reported(h: History, trial_id: int, step: int, metric: str) -> float | None:
    """``metric`` as ``trial_id`` reported it at ``step`` (the last such report), if it is a
    finite number >= 0."""
    for r in reversed(h.results(trial_id)):
        if r.step == step:
            v = r.metrics.get(metric)
            try:
                x = float(v)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return None
            return x if math.isfinite(x) and x >= 0.0 else None
    return None


def _model(rule: StopRule, slot: str, features: Any, X: np.ndarray, z: np.ndarray) -> Any:
    """A GP fitted (MAP hyperparameters, ``GP.fit``) and conditioned on ``(X, z)``: the bound
    is a function of the history alone. (A fit is at most ``max_points`` = 200 points, about
    0.15 s. Reusing an earlier fit's hyperparameters is wrong here: from ``min_trials`` to
    ``2 min_trials`` results the best half is ``min_trials`` points whose members an improving
    search replaces, and whose standard deviation, the scale of the standardized scores the
    fit was made on, can fall threefold in a few trials.) The fit is deterministic, so the
    last one per slot is kept with its exact inputs and returned again for the same ``(X,
    z)``: under ASHA most runs end at a lower rung than the one modelled, and each of their
    checks would refit the same points (a 300-trial simulated study spent 48 s of CPU in
    566 fits). BLAS runs on one thread, as in the ``gp`` searcher. ``rule.last_fit[slot]``
    keeps the hyperparameters for inspection."""
    from rung.searchers._gp import GP, blas_single_thread

    key = (X.shape, X.tobytes(), z.tobytes())
    cached = rule.fits.get(slot)
    if cached is not None and cached[0] == key:
        return cached[1]
    gp = GP(features(X), z, features.group, features.n_groups)
    with blas_single_thread():  # as the gp searcher: matrices too small for BLAS threads
        hyper = gp.fit(n_starts=1)
        gp.condition(hyper)
    rule.last_fit[slot] = hyper
    rule.fits[slot] = (key, gp)
    return gp


def curve_jitter(h: History, tail: int, cache: dict[int, float | None] | None = None) -> float:
    """Median over ended trials with at least ``tail`` results of the robust standard deviation
    of the last ``tail`` results' second differences, over ``sqrt(6)`` (0 if none has).
    ``cache`` (a rule's, for one history and ``tail``) keeps each ended trial's value, which
    its results, final once it completed or stopped, never change: a check then computes only
    the trials that ended since the last (every trial at every check made the stop rule
    quadratic in the trials: 24 of 46 s over 3,000 simulated trials)."""
    out: list[float] = []
    for tid in h.ids((TrialStatus.COMPLETED, TrialStatus.STOPPED)):
        if cache is not None and tid in cache:
            v = cache[tid]
        else:
            v = _jitter(h, tid, tail)
            if cache is not None:
                cache[tid] = v
        if v is not None:
            out.append(v)
    return float(np.median(out)) if out else 0.0


def _jitter(h: History, tid: int, tail: int) -> float | None:
    """One trial's part of ``curve_jitter``; ``None`` with fewer than ``tail`` results or one
    that is not finite among its last ``tail``."""
    results = h.results(tid)
    if len(results) < tail:
        return None
    y = np.array([h.objective.score(r.metrics) for r in results[-tail:]], dtype=float)
    if not np.all(np.isfinite(y)):
        return None
    e = np.diff(y, 2)
    mad = float(np.median(np.abs(e - np.median(e))))
    return mad / 0.6745 / math.sqrt(6.0)


__all__ = ["TIE_RTOL", "curve_jitter", "evidence", "spread", "trials_ended"]
