"""``StopRule``: stop searching when more trials are unlikely to be worth their cost.

The default test is the automatic termination criterion of Makarova, Shen, Perrone, Klein,
Faddoul, Krause, Seeger and Archambeau, "Automatic Termination for Hyperparameter Optimization"
(AutoML Conf 2022): fit a Gaussian process to the configurations tried so far and bound the
simple regret of the incumbent from above,

    regret_bound = min_{x observed} UCB(x) - min_{x in the space} LCB(x),

with ``UCB/LCB = mean +/- sqrt(beta) * sd`` and ``beta = 2 log(d n^2 pi^2 / (6 delta)) / 5``
(the GP-UCB confidence of Srinivas, Krause, Kakade and Seeger 2010, scaled down by 5 as is
common in practice after Kandasamy et al. 2015). The search stops once the bound falls below the
statistical error of the incumbent's validation estimate: an improvement smaller than that error
is not a real one (Makarova et al. take it from the incumbent's cross-validation folds). The
error, in this order of precedence:

1. ``noise``: given by the user (the standard error of the objective's evaluation);
2. ``noise_metric``: a metric each trial reports with the standard error of its own evaluation,
   taken at the incumbent, as Makarova et al. do with the incumbent's cross-validation folds
   (the folds' standard deviation times ``sqrt(1/k + 1/(k-1))``, Nadeau and Bengio 2003);
3. ``n_val``: the objective is an error rate (or accuracy) on ``n_val`` held-out examples: the
   binomial standard error ``sqrt(p (1 - p) / n_val)`` at the incumbent's rate ``p``;
4. (default, ``lattice=True``) the same, with ``n_val`` read off the values themselves: an error
   rate on ``n`` examples is a multiple of ``1 / n`` (``rung.cost.noise.lattice_size``; a
   continuous objective never passes that test);
5. otherwise, measured from the history, as the larger of the GP's fitted noise standard
   deviation (the part of the scores the configuration does not explain) and the step-to-step
   jitter of the trials' own learning curves near their end (the median over trials of
   ``MAD(second differences) / (0.6745 sqrt(6))`` of the last ``tail`` results: white noise of
   standard deviation ``s`` has second differences of standard deviation ``s sqrt(6)``).

The measured noise of 5 is a lower bound of the evaluation's error (consecutive steps of a
learning curve are scored on the same held-out data, so their jitter misses its sampling error;
a GP can explain a fixed validation set's scores nearly exactly): on the learning-curve tables
of ``benchmarks/`` it is 8 to 32 times below the binomial error, and the rule then stops late
or never. Give ``noise`` or ``noise_metric`` for an objective that is not a rate, ``n_val`` for a
rate whose grid the values do not reveal.

With ``value`` (money per unit of improvement of the objective) the rule weighs cost instead:
it stops when the largest expected improvement over the space (in the objective's units) times
``value`` falls below the mean cost of one trial so far (``StopRequest.cost`` over the trials
that ran and are not running, ``trials_ended``: a trial paused and resumed is one trial).

With constraints the incumbent is the best feasible result at the modelled step (the upper
bound is taken at feasible points only; the lower bound still ranges over the whole space, so
the bound can only grow), and the rule does not stop while no result there is feasible.

The model is the one behind the ``gp`` searcher (``rung.searchers._gp``), fitted to the results
at the largest step with ``min_trials`` results (the step a multi-fidelity searcher models).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rung._validate import check_float, check_int
from rung.core.components import BindContext
from rung.core.history import History
from rung.core.records import TrialStatus
from rung.core.registry import register
from rung.core.rng import derive_rng
from rung.core.stopping import SearchStopRule, StopRequest, StopVerdict
from rung.cost.noise import binomial_se, lattice_size
from rung.errors import ConfigError

_CITATION = "Makarova et al. 2022"

log = logging.getLogger(__name__)


#: the largest ``StopRule(n_candidates=...)`` and ``max_points`` (``ConfigError`` past them)
MAX_CANDIDATES = 10_000
MAX_POINTS = 1_000


def check_objectives(metrics: Sequence[str]) -> None:
    """Refuse a stop rule for a study of several objectives (``metrics``, in order): the rule
    bounds the regret of one objective, and would end a search for a Pareto front because its
    first objective converged. ``ConfigError`` keyed ``budget.stop``; for where a study with a
    ``Budget.stop`` is created (the CLI checks a spec with it)."""
    if len(metrics) > 1:
        raise ConfigError(key="budget.stop", message=f"the stop rule bounds the regret of one "
                          f"objective; this study has {len(metrics)} ({', '.join(metrics)}): "
                          f"drop budget.stop, or stop it with n_trials, max_cost, ...")


def check_value_priced(stop: Any, prices: Mapping[str, float],
                       resources_per_trial: Mapping[str, float] | None,
                       reported: bool = False) -> None:
    """Refuse a stop rule with ``value`` (money per unit of improvement) when a trial costs
    nothing: it stops when the improvement's worth falls below the mean cost of a trial, which
    is then 0, so it would never stop. ``stop`` is ``Budget.stop`` (a ``ComponentSpec``) or its
    ``{"name", "params"}`` mapping (anything else, or another rule, passes); ``prices`` and
    ``resources_per_trial`` are canonical (``rung.core.pricing.check_table``), ``None``: one
    CPU; ``reported``: they are what the session's executor says a trial holds. Raises
    ``ConfigError`` keyed ``budget.stop.params.value``."""
    from rung.core.pricing import DEFAULT_RESOURCES, hourly_rate, trial_holds

    if isinstance(stop, Mapping):
        name, params = stop.get("name"), stop.get("params")
    else:
        name, params = getattr(stop, "name", None), getattr(stop, "params", None)
    value = params.get("value") if name == "auto" and isinstance(params, Mapping) else None
    held = DEFAULT_RESOURCES if resources_per_trial is None else resources_per_trial
    if value is None or hourly_rate(prices, held) > 0:
        return
    what = (", ".join(f"{k}={v:g}" for k, v in sorted(held.items())) + " (as its executor "
            "reports)") if reported else trial_holds(resources_per_trial)
    raise ConfigError(key="budget.stop.params.value", message=f"the rule would never stop: it "
                      f"weighs the improvement's worth against the mean cost of a trial, and a "
                      f"trial holding {what} costs nothing under prices {dict(prices)}")


@register("stop_rule", "auto")
class StopRule(SearchStopRule):
    """Stops the search when the regret bound of the incumbent falls below the statistical
    error of its validation estimate (or, with ``value``, when the expected improvement is worth
    less than a trial costs).

    Args:
        min_trials: results at the modelled step before the rule may stop (Optuna's Terminator
            uses 20 too).
        noise: the standard error of the objective's evaluation, in its units; ``None``
            (default): from ``n_val``, the values' grid or the history (see above).
        noise_metric: a metric each trial reports beside the objective: the standard error of
            its own evaluation (e.g. from cross-validation folds); the error is the
            incumbent's. Where the incumbent did not report it, the next source is used.
        n_val: the objective is an error rate (or accuracy) on this many held-out examples;
            the error is the binomial one at the incumbent.
        lattice: read ``n_val`` off the values' grid when neither ``noise`` nor ``n_val`` is
            given (``False``: go straight to the error measured from the history).
        threshold: the regret not worth chasing, in the objective's units; ``None`` (default)
            uses the noise times ``noise_scale``.
        noise_scale: multiplies the observed noise.
        value: money per unit of improvement of the objective; with it, the rule compares the
            expected improvement's worth with the mean cost of a trial instead.
        delta: confidence parameter of ``beta`` (smaller: wider bounds, later stops).
        n_candidates: quasi-random points of the space where the lower bound is minimized
            (with the observed points); at most ``MAX_CANDIDATES`` (10,000).
        max_points: most observations the GP is fitted to (the best ones); at most
            ``MAX_POINTS`` (1,000: a fit is cubic in it, about 0.15 s at 200 points and 10 s
            or more at 1,000, once or twice per check).
        tail: results at the end of each learning curve the jitter is measured on.
        every: check once per this many ended runs (the GP fit costs O(n^3)).
    """

    version = 3
    changes = {2: "a study of several objectives is never stopped (it was, on the first "
                  "objective's regret bound alone)",
               3: "with value, the cost of a trial is the money so far over the trials that "
                  "ran and are not running (it was over the runs that ended: a trial paused "
                  "and resumed, by Hyperband or PBT, counted once per run)"}

    def __init__(
        self,
        min_trials: int = 20,
        noise: float | None = None,
        noise_metric: str | None = None,
        n_val: int | None = None,
        lattice: bool = True,
        threshold: float | None = None,
        noise_scale: float = 1.0,
        value: float | None = None,
        delta: float = 0.1,
        n_candidates: int = 512,
        max_points: int = 200,
        tail: int = 10,
        every: int = 1,
    ) -> None:
        self.min_trials = min_trials
        self.noise = noise
        self.noise_metric = noise_metric
        self.n_val = n_val
        self.lattice = lattice
        self.threshold = threshold
        self.noise_scale = noise_scale
        self.value = value
        self.delta = delta
        self.n_candidates = n_candidates
        self.max_points = max_points
        self.tail = tail
        self.every = every

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        # the last fit per model (``_model``), kept for inspection only: every check refits
        self.last_fit: dict[str, Any] = {}
        self._warned = False
        key = "budget.stop.params."
        check_int(key + "min_trials", self.min_trials, 3)
        if self.threshold is not None:
            check_float(key + "threshold", self.threshold, 0.0)
        if self.noise is not None:
            check_float(key + "noise", self.noise, 0.0, low_open=True)
        if self.n_val is not None:
            check_int(key + "n_val", self.n_val, 1)
        if self.noise_metric is not None and (
                not isinstance(self.noise_metric, str) or not self.noise_metric):
            raise ConfigError(key=key + "noise_metric", message=f"must be a metric's name, got "
                              f"{self.noise_metric!r}")
        if not isinstance(self.lattice, bool):
            raise ConfigError(key=key + "lattice", message=f"must be true or false, got "
                              f"{self.lattice!r}")
        check_float(key + "noise_scale", self.noise_scale, 0.0, low_open=True)
        if self.value is not None:
            check_float(key + "value", self.value, 0.0, low_open=True)
        check_float(key + "delta", self.delta, 0.0, 1.0, low_open=True, high_open=True)
        # the sizes are bounded: the candidates' predictions hold n_candidates x max_points
        # numbers, and a fit costs O(max_points^3) per check (n_candidates=10**9 asked for
        # 15 GB at the first check)
        check_int(key + "n_candidates", self.n_candidates, 1, MAX_CANDIDATES)
        check_int(key + "max_points", self.max_points, 4, MAX_POINTS)
        check_int(key + "tail", self.tail, 4)
        check_int(key + "every", self.every, 1)

    def check(self, request: StopRequest) -> StopVerdict | None:
        if request.ended % self.every:
            return None
        h = request.history
        if len(h.objectives) > 1:  # (check_objectives refuses it where a study is created)
            if not self._warned:
                self._warned = True
                log.warning("budget.stop: the stop rule bounds the regret of one objective; "
                            "it never stops this study of %d", len(h.objectives))
            return None
        step = next((s for s in reversed(h.steps()) if h.n_at_step(s) >= self.min_trials), None)
        if step is None or h.space.n_dims == 0:
            return None
        ev = evidence(h, step, self, request)
        if ev is None:
            return None
        if self.value is not None:
            worth = ev["expected_improvement"] * self.value
            if worth < ev["cost_per_trial"]:
                return StopVerdict(
                    f"expected improvement {ev['expected_improvement']:.4g} is worth "
                    f"{worth:.4g} < {ev['cost_per_trial']:.4g} per trial after "
                    f"{int(ev['trials'])} trials", ev)
            return None
        if ev["regret_bound"] <= ev["threshold"]:
            return StopVerdict(
                f"regret bound {ev['regret_bound']:.4g} <= {_source(self, ev)} "
                f"{ev['threshold']:.4g} after {int(ev['trials'])} trials at step {step} "
                f"({_CITATION})", ev)
        return None


def _source(rule: StopRule, ev: dict[str, float]) -> str:
    """What the threshold is, in words (the verdict's reason)."""
    if rule.threshold is not None:
        return "threshold"
    scale = "" if rule.noise_scale == 1.0 else f"{rule.noise_scale:g} x "
    if rule.noise is not None:
        return f"{scale}noise"
    if ev["reported"]:
        return f"{scale}the incumbent's reported {rule.noise_metric}"
    n = int(ev["n_val"])
    if n:
        how = "given" if rule.n_val is not None else "read off the values' grid"
        return (f"{scale}binomial error of the incumbent's rate {abs(ev['best']):.4g} on "
                f"{n} validation examples ({how})")
    return f"{scale}observed noise"


def evidence(h: History, step: int, rule: StopRule, request: StopRequest | None = None
             ) -> dict[str, float] | None:
    """The numbers the rule decides on, at ``step`` (``None``: no finite score there):
    ``regret_bound`` (``ucb - lcb``, at least 0), ``ucb`` (the GP's least upper confidence
    bound over the evaluated points it is fitted to), ``lcb`` (its least lower confidence bound
    over ``n_candidates`` random points of the space and those points; ``lcb_observed`` 1 if it
    is at an evaluated point), ``bound_noise``, ``signal_sd`` and ``lengthscale_min`` (that
    GP's fitted noise and signal standard deviations, its shortest lengthscale in the unit
    cube), ``threshold``, ``noise`` (the statistical error the threshold is built
    on), ``reported`` (1 if it is the incumbent's ``noise_metric``, else 0), ``n_val`` (the
    validation examples of a binomial error, 0 if the error is not one),
    ``gp_noise`` and ``curve_noise`` (the measured error's two parts, 0 unless it is the
    one used), ``expected_improvement``, ``cost_per_trial``, ``best`` (the incumbent's score:
    the best feasible result, ``None`` returned when a constrained study has none), ``beta``,
    ``trials`` (results at ``step``), ``fitted`` (the best half the bound's GP is fitted to),
    ``step``. All in the objective's units, lower is better."""
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
            sd_all = float(y[keep].std()) or 1.0
            gp_all = _model(rule, "all", features, units.get(h, [int(t) for t in ids[keep]]),
                            (y[keep] - y[keep].mean()) / sd_all)
            gp_noise = math.sqrt(gp_all.noise) * sd_all
            curve_noise = curve_jitter(h, rule.tail)
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
    mean, sd = float(y.mean()), float(y.std())
    if sd <= 0:
        sd = 1.0
    z = (y - mean) / sd
    X = units.get(h, [int(t) for t in ids])
    gp = _model(rule, "top", features, X, z)
    assert gp.hyper is not None
    n, d = len(z), h.space.n_dims
    beta = 2.0 * math.log(d * n * n * math.pi**2 / (6.0 * rule.delta)) / 5.0
    root = math.sqrt(max(beta, 0.0))
    rng = derive_rng(rule.ctx.seed, "stop_rule", n)
    cand = rng.random((rule.n_candidates, X.shape[1]))
    cand = np.where(np.isnan(X[:1]), np.nan, cand)  # keep inactive dims inactive (approx.)
    mu_o, var_o = gp.predict(features(X))
    mu_c, var_c = gp.predict(features(np.nan_to_num(cand, nan=0.0)))
    if h.constraints:
        mu_f, var_f = gp.predict(features(units.get(h, [int(t) for t in feas_ids])))
    else:
        mu_f, var_f = mu_o, var_o
    ucb_obs = float(np.min(mu_f + root * np.sqrt(var_f)))
    lcb_c = float(np.min(mu_c - root * np.sqrt(var_c)))
    lcb_o = float(np.min(mu_o - root * np.sqrt(var_o)))
    lcb = min(lcb_c, lcb_o)
    best = (best_y - mean) / sd
    s_all = np.sqrt(np.concatenate([var_c, var_o]))
    imp = (best - np.concatenate([mu_c, mu_o])) / s_all
    from scipy.special import ndtr  # the model already needs SciPy

    pdf = np.exp(-0.5 * imp * imp) / math.sqrt(2 * math.pi)
    ei = float(np.max(s_all * (imp * ndtr(imp) + pdf)))
    threshold = rule.threshold if rule.threshold is not None else noise * rule.noise_scale
    cost_per_trial = 0.0
    ended = trials_ended(h)
    if request is not None and ended:
        cost_per_trial = request.cost / ended
    return {
        "regret_bound": max(ucb_obs - lcb, 0.0) * sd,
        "ucb": mean + ucb_obs * sd,
        "lcb": mean + lcb * sd,
        "lcb_observed": 1.0 if lcb_o <= lcb_c else 0.0,
        "bound_noise": math.sqrt(gp.noise) * sd,
        "signal_sd": math.sqrt(gp.s2) * sd,
        "lengthscale_min": float(np.exp(np.min(gp.hyper.log_ls))),
        "threshold": float(threshold),
        "noise": noise,
        "n_val": float(n_val),
        "reported": 0.0 if reported is None else 1.0,
        "gp_noise": gp_noise,
        "curve_noise": curve_noise,
        "expected_improvement": ei * sd,
        "cost_per_trial": cost_per_trial,
        "best": best_y,
        "beta": beta,
        "trials": float(len(table)),
        "fitted": float(n),
        "step": float(step),
    }


_ENDED = (TrialStatus.PAUSED, TrialStatus.COMPLETED, TrialStatus.STOPPED, TrialStatus.FAILED,
          TrialStatus.INTERRUPTED)


def trials_ended(h: History) -> int:
    """Trials that ran and are not running now: the denominator of the mean cost of a trial
    (a trial paused and resumed, by Hyperband or PBT, is one trial however many runs it had;
    the money so far also holds the running trials' part, which makes the mean a little
    high while they run)."""
    return sum(h.count(s) for s in _ENDED)


def assess(study: Any, **params: Any) -> dict[str, float] | None:
    """What ``StopRule(**params)`` sees in ``study`` now, whether or not its budget names a
    stop rule: the ``evidence`` at the step the rule would model, with ``cost_per_trial`` the
    money the study's ledger says was spent so far (the engine's account) over the trials
    that ran and are not running (``trials_ended``; ``None``: fewer than ``min_trials``
    results at any step). For the
    question "is another N trials worth it?" (docs/cost.md).

    Raises:
        ConfigError: the study has several objectives (``check_objectives``), or a parameter
            ``StopRule`` does not take (keyed by its name) or refuses (keyed
            ``budget.stop.params.<name>``, as in a spec)."""
    import inspect

    spec = study.spec
    check_objectives([o.metric for o in spec.objectives])
    accepted = sorted(inspect.signature(StopRule.__init__).parameters.keys() - {"self"})
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ConfigError(key=unknown[0], message=f"StopRule takes no parameter "
                          f"{unknown[0]!r} (accepted: {', '.join(accepted)})")
    rule = StopRule(**params)
    rule.bind(BindContext(spec.space, spec.objective, spec.max_step, spec.seed))
    h = study.engine.history
    step = next((s for s in reversed(h.steps()) if h.n_at_step(s) >= rule.min_trials), None)
    if step is None:
        return None
    led = study.ledger()
    running = led.by_outcome["running"].runs if "running" in led.by_outcome else 0
    # as the engine asks the rule (the runs that ended; cost_per_trial divides by trials)
    request = StopRequest(h, -1, led.total.cost, led.total.device_hours,
                          led.total.runs - running)
    return evidence(h, step, rule, request)


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
    """A GP fitted (MAP hyperparameters, ``GP.fit``) and conditioned on ``(X, z)``, now: the
    bound is a function of the history alone. (A fit is at most ``max_points`` = 200 points,
    about 0.15 s. Reusing an earlier fit is wrong here: from ``min_trials`` to
    ``2 min_trials`` results the best half is ``min_trials`` points whose members an improving
    search replaces, and whose standard deviation, the scale of the standardized scores the
    fit was made on, can fall threefold in a few trials.) ``rule.last_fit[slot]`` keeps the
    hyperparameters for inspection."""
    from rung.searchers._gp import GP

    gp = GP(features(X), z, features.group, features.n_groups)
    hyper = gp.fit(n_starts=1)
    rule.last_fit[slot] = hyper
    gp.condition(hyper)
    return gp


def curve_jitter(h: History, tail: int) -> float:
    """Median over ended trials with at least ``tail`` results of the robust standard deviation
    of the last ``tail`` results' second differences, over ``sqrt(6)`` (0 if none has)."""
    out: list[float] = []
    for tid in h.ids((TrialStatus.COMPLETED, TrialStatus.STOPPED)):
        results = h.results(tid)
        if len(results) < tail:
            continue
        y = np.array([h.objective.score(r.metrics) for r in results[-tail:]], dtype=float)
        if not np.all(np.isfinite(y)):
            continue
        e = np.diff(y, 2)
        mad = float(np.median(np.abs(e - np.median(e))))
        out.append(mad / 0.6745 / math.sqrt(6.0))
    return float(np.median(out)) if out else 0.0


__all__ = ["MAX_CANDIDATES", "MAX_POINTS", "StopRule", "assess", "check_objectives",
           "check_value_priced", "curve_jitter", "evidence", "trials_ended"]
