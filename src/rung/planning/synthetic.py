"""A synthetic ``Benchmark`` built from a pilot: fitted curves and measured step costs.

Population. Every pilot trial with a scored result becomes a *template*: its fitted power law
(``rung.planning.fit``) evaluated at steps ``1..max_step`` (extrapolated past the steps it ran,
clipped to the metric's range: ``continuation.score_bounds``) and
its step costs (``rung.planning.costs.StepCosts``: the measured time of every step it ran, and its
scale times the pilot's step profile for the steps it did not run).

A configuration the simulated searcher proposes takes the curve of the pilot trial nearest to
it in the space's unit encoding (``SearchSpace.to_unit``; Euclidean, a missing coordinate counts
as 0.5, lowest trial id on a tie), the nearest-neighbour lookup ``rung.benchmarks.CurveTable``
uses for recorded tables, so a searcher that learns where good configurations are finds good
templates, plus its own observation noise: independent normal draws with the pilot's estimated
noise (``CurvePrior.noise``), one per step. (``CURVE_NEIGHBOURS = k > 1`` draws the curve's
template per configuration among its ``k`` nearest, from ``derive_rng(seed, "plan-template",
configuration)``, so that the several configurations near one pilot trial do not all share its
curve, a cluster an asynchronous scheduler ranks together; measured with ``k = 3`` it did not
lower the error, see the ``bench_plan`` section of ``benchmarks/RESULTS.md``.)

Its step costs come from its parameters, not from its neighbours' costs: their level (mean
seconds per step) is ``rung.planning.cost_model``'s ridge regression of log level on the unit
encoding, fitted on the templates, plus a log-normal residual drawn for this configuration (so
the planned study meets a costly configuration as often as the pilot did, and the costliest ones,
which decide the wall-clock of many workers, are not averaged away); their shape over steps
(how the first step compares with later ones, and the measured step pattern) is the nearest
template's. A noisy value is clipped to the metric's range too. Curve noise and cost residual
come from ``derive_rng(seed, "plan", configuration)``
and ``derive_rng(seed, "plan-cost", configuration)``: the same ``seed`` and configuration give
the same curve and costs in any order or process.

Replicates (``replicate``). Replicate 0 is the pilot as measured; replicate ``i >= 1`` is a
bootstrap resample of the templates (Efron 1979, "Bootstrap Methods: Another Look at the
Jackknife": whole pilot trials, curve and measured step times together, drawn with replacement)
with the step-cost model (``costs.fit_step_costs``: the step profile of the steps a trial did
not run, which few trials of an early-stopping pilot measured) and the cost model refitted on
the resample, so the spread of a plan over replicates includes what
a pilot of that size does not know (which configurations it happened to sample, and the fit
made from them), not only the randomness of one simulated run.

Curve models (``CURVE_MODELS``, one per replicate: replicate ``i`` uses model ``i mod 2``).
``"power"`` is the above: the template's fitted power law at every step. ``"donor"``
(``rung.planning.continuation``) keeps the template's measured scores and continues them past its
last measured step by a pilot trial observed further, drawn per configuration
(``derive_rng(seed, "plan-donor", configuration)``), by a ratio towards the metric's floor: it
keeps the plateau-then-drop shape a power law smooths away, and configurations of one template
go on in different ways, as configurations near each other do. Neither model is right for every
table, so the replicates alternate between them (an ensemble, as Domhan et al. 2015 combine
parametric families): the plan's median weighs both, and its interval carries the difference
between them, the curve model's uncertainty, besides the pilot's sampling.

Values on the pilot's grid (``grid``). An error rate counted on ``n`` validation examples is a
multiple of ``1 / n``, and the stop rule reads its statistical error off that grid
(``rung.cost.noise.lattice_size``); fitted curves plus noise are continuous, so on them the
rule would fall back to the noise it measures, much smaller, and stop later than the real study
(measured: a 100-trial TPE study of the ``hgb-magic`` table with ``stop: auto`` stops after 26
to 38 trials; planned on continuous values, 83). ``lattice`` is the pilot's grid size when its
values reveal one; ``on_grid(n)`` is the same benchmark with every value it returns rounded to
the nearest multiple of ``1 / n`` (after the noise and the clipping), so the planned study's
rule sees the evidence the real one will, ties included. The planner uses it for a planned
budget with a stop rule only (the accuracy measured in ``benchmarks/RESULTS.md``, section
``bench_plan``, is of plans without one, on continuous values).

Regret is measured on the templates' noise-free fitted values at ``max_step`` against the best
of them: it says how far the planned search ends from the best curve the pilot has seen, not
from the (unknown) best configuration of the space.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rung.benchmarks.base import ConfigCache, check_step
from rung.core.rng import derive_rng
from rung.errors import ConfigError
from rung.planning.continuation import continue_from, full_curves, pick_donor, score_bounds
from rung.planning.cost_model import CostModel, fit_cost_model
from rung.planning.costs import Pilot, StepCosts, TrialCosts, step_rows
from rung.planning.fit import CurveFit, CurvePrior
from rung.space import SearchSpace

#: the curve models replicates cycle through (module docstring)
CURVE_MODELS: tuple[str, ...] = ("power", "donor")
#: a configuration's curve template is drawn among this many nearest templates (1: the nearest)
CURVE_NEIGHBOURS = 1
#: whether a bootstrap replicate refits the step-cost model on its resample (module docstring)
REFIT_STEP_COSTS = True


class PilotBenchmark:
    """Fitted pilot curves and costs as a ``rung.benchmarks.Benchmark`` (module docstring).

    Args:
        space: The study's search space.
        metric, mode: The objective (values are returned in the metric's own direction).
        max_step: The study's highest step.
        units: ``(K, d)`` unit encodings of the K templates' pilot configurations.
        scores: ``(K, max_step)`` noise-free fitted scores (lower is better).
        seconds: ``(K, max_step)`` step costs.
        sigma: Standard deviation of the observation noise, in score units.
        seed: Seeds the noise and the cost residuals.
        best_final: The score regret is measured against (default: the best template's final
            fitted score; a bootstrap replicate keeps the whole pilot's).
        observed: ``(K, max_step)`` measured scores, NaN where not measured (default: none
            measured; the donor model then follows the fitted curves).
        bounds: ``(floor, ceiling)`` of the score (``continuation.score_bounds``; default:
            inferred from ``scores``).
        curve_model: ``"power"`` or ``"donor"`` (module docstring).
        trial_costs: The templates' measured step times (``costs.TrialCosts``), for refitting
            the step-cost model on a bootstrap replicate (default: replicates keep ``seconds``).
        startup: The pilot's start-up per launch (taken off step 1 of refitted rows).
        lattice: The grid size ``n`` the pilot's values lie on (multiples of ``1 / n``:
            ``rung.cost.noise.lattice_size``), ``None`` if they reveal none (default: read
            off ``observed``).
        grid: Round every value returned to the nearest multiple of ``1 / grid`` (``None``,
            the default: continuous values; module docstring).
    """

    name = "pilot-fit"

    def __init__(
        self,
        space: SearchSpace,
        metric: str,
        mode: str,
        max_step: int,
        units: np.ndarray,
        scores: np.ndarray,
        seconds: np.ndarray,
        sigma: float,
        seed: int,
        best_final: float | None = None,
        observed: np.ndarray | None = None,
        bounds: tuple[float, float] | None = None,
        curve_model: str = "power",
        trial_costs: Sequence[TrialCosts] | None = None,
        startup: float = 0.0,
        lattice: int | None = -1,
        grid: int | None = None,
    ) -> None:
        if len(units) == 0:
            raise ConfigError(key="study", message="the pilot has no trial with a result")
        self.space = space
        self.metric = metric
        self.mode = mode
        self.max_step = max_step
        self.units = np.nan_to_num(np.asarray(units, dtype=float), nan=0.5)
        self.scores = np.asarray(scores, dtype=float)
        self.seconds = np.asarray(seconds, dtype=float)
        self.sigma = float(sigma)
        self.seed = seed
        levels = self.seconds.mean(axis=1)
        self._log_levels = np.log(levels)
        self.cost_model: CostModel = fit_cost_model(self.units, levels)
        self._sign = 1.0 if mode == "min" else -1.0
        self.best_final = (float(self.scores[:, -1].min()) if best_final is None
                           else float(best_final))
        self.optimum: float | None = self._sign * self.best_final
        self.observed = (np.full(self.scores.shape, np.nan) if observed is None
                         else np.asarray(observed, dtype=float))
        self.bounds = bounds if bounds is not None else score_bounds(
            self._sign * self.scores.ravel(), mode)
        if curve_model not in ("power", "donor"):
            raise ValueError(f"curve_model must be 'power' or 'donor', got {curve_model!r}")
        self.curve_model = curve_model
        self.trial_costs = None if trial_costs is None else list(trial_costs)
        self.startup = float(startup)
        # every step of every template timed (a FIFO pilot): a refit gives the same rows
        steps = set(range(1, max_step + 1))
        self._timed_all = self.trial_costs is not None and all(
            steps <= t.steps.keys() for t in self.trial_costs)
        self.lattice = _lattice(self.observed) if lattice == -1 else lattice
        if grid is not None and (type(grid) is not int or grid < 1):
            raise ValueError(f"grid must be a positive integer or None, got {grid!r}")
        self.grid = grid
        self._full, self._last = full_curves(self.observed, self.scores, *self.bounds)
        self._configs: ConfigCache[str, tuple[int, np.ndarray, np.ndarray, int]] = ConfigCache(
            self._make)

    @classmethod
    def from_fits(
        cls,
        space: SearchSpace,
        metric: str,
        mode: str,
        max_step: int,
        pilot: Pilot,
        fits: Mapping[int, CurveFit],
        prior: CurvePrior,
        costs: StepCosts,
        seed: int,
    ) -> PilotBenchmark:
        """The benchmark of a fitted pilot: one template per fitted trial, in id order
        (``costs`` must cover them all)."""
        ids = sorted(fits)
        steps = np.arange(1, max_step + 1)
        units = np.array([space.to_unit(pilot.params[k]) for k in ids]).reshape(len(ids), -1)
        scores = np.array([fits[k](steps) for k in ids]).reshape(len(ids), max_step)
        seconds = np.array([costs.row(k, pilot.costs[k].steps if k in pilot.costs else {})
                            for k in ids]).reshape(len(ids), max_step)
        observed = np.full((len(ids), max_step), np.nan)
        for i, k in enumerate(ids):
            for s, y in pilot.curves[k].items():
                if 1 <= s <= max_step:
                    observed[i, s - 1] = y
        sign = 1.0 if mode == "min" else -1.0
        seen = observed[np.isfinite(observed)]
        bounds = score_bounds(sign * (seen if len(seen) else scores.ravel()), mode)
        scores = np.clip(scores, *bounds)  # a power law may extrapolate past the floor
        return cls(space, metric, mode, max_step, units, scores, seconds, prior.noise, seed,
                   observed=observed, bounds=bounds,
                   trial_costs=[pilot.costs.get(k, TrialCosts()) for k in ids],
                   startup=costs.startup)

    def replicate(self, seed: int, resample: bool = True) -> PilotBenchmark:
        """Replicate ``seed`` (module docstring): the same templates with the noise of ``seed``
        when it is 0, else a bootstrap resample of the templates drawn from ``derive_rng(seed,
        "plan-bootstrap")``, its step-cost model (``costs.step_rows``; not when every step of
        every template was timed: nothing is extrapolated then) and cost model refitted; its
        curve model is ``CURVE_MODELS[seed %
        len(CURVE_MODELS)]``; regret stays against this pilot's best, bounds are this pilot's.
        ``resample=False``: the same templates for every ``seed`` (a plug-in run)."""
        idx = np.arange(len(self.units))
        seconds = self.seconds
        if seed != 0 and resample:
            idx = derive_rng(seed, "plan-bootstrap").integers(0, len(idx), len(idx))
            if self.trial_costs is not None and REFIT_STEP_COSTS and not self._timed_all:
                seconds = step_rows([self.trial_costs[i] for i in idx], self.max_step,
                                    self.startup)
            else:
                seconds = self.seconds[idx]
        return self._derived(idx, seconds, seed, CURVE_MODELS[seed % len(CURVE_MODELS)])

    def using(self, curve_model: str) -> PilotBenchmark:
        """The same templates, seed and bounds with curve model ``curve_model``."""
        return self._derived(np.arange(len(self.units)), self.seconds, self.seed, curve_model)

    def on_grid(self, grid: int | None) -> PilotBenchmark:
        """The same benchmark with its values rounded to multiples of ``1 / grid`` (``None``:
        continuous), and so every replicate of it (module docstring)."""
        return self._derived(np.arange(len(self.units)), self.seconds, self.seed,
                             self.curve_model, grid)

    def _derived(self, idx: np.ndarray, seconds: np.ndarray, seed: int,
                 curve_model: str, grid: int | None = -1) -> PilotBenchmark:
        """The templates ``idx`` (with repeats) of this pilot, their step times ``seconds``,
        with ``seed`` and ``curve_model``; regret target, bounds, start-up, lattice and grid
        (unless ``grid`` is given) are this one's."""
        return PilotBenchmark(self.space, self.metric, self.mode, self.max_step,
                              self.units[idx], self.scores[idx], seconds, self.sigma,
                              seed, best_final=self.best_final, observed=self.observed[idx],
                              bounds=self.bounds, curve_model=curve_model,
                              trial_costs=None if self.trial_costs is None else
                              [self.trial_costs[i] for i in idx], startup=self.startup,
                              lattice=self.lattice, grid=self.grid if grid == -1 else grid)

    @staticmethod
    def _key(params: Mapping[str, Any]) -> str:
        return json.dumps({k: params[k] for k in sorted(params)}, default=str)

    def _make(self, key: str) -> tuple[int, np.ndarray, np.ndarray, int]:
        u = np.nan_to_num(self.space.to_unit(json.loads(key)), nan=0.5)
        d2 = ((self.units - u) ** 2).sum(axis=1)
        k = int(np.argmin(d2))  # first on a tie
        c = k  # the curve's template
        if CURVE_NEIGHBOURS > 1:
            near = np.argsort(d2, kind="stable")[:CURVE_NEIGHBOURS]
            c = int(near[derive_rng(self.seed, "plan-template", key).integers(len(near))])
        noise = derive_rng(self.seed, "plan", key).normal(0.0, self.sigma, self.max_step)
        z = float(derive_rng(self.seed, "plan-cost", key).standard_normal())
        # the template's step costs rescaled to the drawn level (exactly its own when equal)
        ratio = math.exp(self.cost_model.draw(u, k, z) - float(self._log_levels[k]))
        curve = self.scores[c]
        if self.curve_model == "donor":
            draw = float(derive_rng(self.seed, "plan-donor", key).random())
            j = pick_donor(c, self._full, self._last, self.observed, draw)
            curve = continue_from(self._full[c], int(self._last[c]), self._full[j],
                                  *self.bounds) if j != c else self._full[c]
        values = np.clip(curve + noise, *self.bounds)
        if self.grid is not None:
            values = np.round(values * self.grid) / self.grid
        return k, values, self.seconds[k] * ratio, c

    def template_of(self, params: Mapping[str, Any]) -> int:
        """Index of the template (pilot trial, in id order) nearest to ``params``: its step
        costs' shape (its curve's template is ``curve_template_of``)."""
        return self._configs.get(self._key(params))[0]

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        """The noisy fitted value of ``params``'s template at ``step`` (on the grid, with
        ``grid``), and its step cost."""
        if type(step) is not int or not 1 <= step <= self.max_step:
            step = check_step(self.name, step, self.max_step)
        _, curve, seconds, _ = self._configs.get(self._key(params))
        return {self.metric: self._sign * float(curve[step - 1])}, float(seconds[step - 1])

    def curve_template_of(self, params: Mapping[str, Any]) -> int:
        """Index of the template whose curve ``params`` takes (module docstring)."""
        return self._configs.get(self._key(params))[3]

    def regret_of(self, params: Mapping[str, Any]) -> float:
        """The noise-free final fitted score of ``params``'s curve template minus the best
        template's."""
        return float(self.scores[self.curve_template_of(params), -1] - self.best_final)


def _lattice(observed: np.ndarray) -> int | None:
    """The grid size the measured scores lie on (``rung.cost.noise.lattice_size``, which reads
    a negated rate as the rate), ``None`` if they reveal none."""
    from rung.cost.noise import lattice_size

    seen = np.unique(observed[np.isfinite(observed)])
    return lattice_size(seen.tolist())
