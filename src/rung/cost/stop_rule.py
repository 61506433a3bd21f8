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
Values that tie (equal up to float rounding) have no scale: a best half that ties is a plateau
the model has no signal on, so the bound is 0 there (no GP is fitted), and the noise measured
over tied values is 0; a constant objective stops at ``min_trials``, whatever the constant.
The numbers the rule decides on are computed in ``rung.cost.stop_evidence`` (``evidence``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from rung._validate import check_float, check_int
from rung.core.components import BindContext
from rung.core.registry import register
from rung.core.stopping import SearchStopRule, StopRequest, StopVerdict

# re-exported; ``check`` and ``assess`` look ``evidence`` up in this module, so replacing
# ``stop_rule.evidence`` (benchmarks/bench_cost.py records it) reaches both
from rung.cost.stop_evidence import curve_jitter, evidence, trials_ended
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

    version = 4
    changes = {2: "a study of several objectives is never stopped (it was, on the first "
                  "objective's regret bound alone)",
               3: "with value, the cost of a trial is the money so far over the trials that "
                  "ran and are not running (it was over the runs that ended: a trial paused "
                  "and resumed, by Hyperband or PBT, counted once per run)",
               4: "values that tie (equal up to float rounding) have no scale: a best half "
                  "that ties bounds the regret by 0, and measured noise over tied values is "
                  "0 (both were computed on a made-up unit scale, so a constant objective "
                  "stopped or not by float luck)"}

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
        # the last fit per model with its exact inputs (``stop_evidence._model``): a check on
        # the same points returns it again, the fit being deterministic
        self.fits: dict[str, tuple[Any, Any]] = {}
        # the last bound with its inputs, and each ended trial's curve jitter
        # (``stop_evidence``): what a check would compute again from the same points
        self.bounds: tuple[Any, dict[str, float]] | None = None
        self.jitters: dict[int, float | None] = {}
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
            tie = f" (the best {int(ev['fitted'])} results tie)" if ev.get("tie") else ""
            return StopVerdict(
                f"regret bound {ev['regret_bound']:.4g}{tie} <= {_source(self, ev)} "
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


__all__ = ["MAX_CANDIDATES", "MAX_POINTS", "StopRule", "assess", "check_objectives",
           "check_value_priced", "curve_jitter", "evidence", "trials_ended"]
