"""A synthetic ``Benchmark`` built from a pilot: fitted curves and measured step costs.

Population. Every pilot trial with a scored result becomes a *template*: its fitted power law
(``rung.planning.fit``) evaluated at steps ``1..max_step`` (extrapolated past the steps it ran) and
its step costs (``rung.planning.costs.StepCosts``: the measured time of every step it ran, and its
scale times the pilot's step profile for the steps it did not run).

A configuration the simulated searcher proposes takes the fitted curve of the pilot trial
nearest to it in the space's unit encoding (``SearchSpace.to_unit``; Euclidean, a missing
coordinate counts as 0.5, lowest trial id on a tie), the nearest-neighbour lookup
``rung.benchmarks.CurveTable`` uses for recorded tables, so a searcher that learns where good
configurations are finds good templates. Its step costs are the mean of the step costs of its
``COST_NEIGHBOURS`` (5) nearest templates: a k-nearest-neighbour regression (Stone 1977,
"Consistent Nonparametric Regression") that keeps costly regions costly without betting the
prediction on one pilot trial's cost (with a 30-trial pilot, the few configurations a scheduler
trains to ``max_step`` would otherwise all carry the cost of whichever template is best). Each
configuration then gets its own observation noise: independent normal draws with the pilot's
pooled residual standard deviation, one per step, from ``derive_rng(seed, "plan",
configuration)``, so two configurations near the same pilot trial differ as two noisy runs
would. Deterministic: the same ``seed`` and configuration give the same curve and costs in any
order or process.

Regret is measured on the templates' noise-free fitted values at ``max_step`` against the best
of them: it says how far the planned search ends from the best curve the pilot has seen, not
from the (unknown) best configuration of the space.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from rung.benchmarks.base import ConfigCache, check_step
from rung.core.rng import derive_rng
from rung.errors import ConfigError
from rung.planning.costs import Pilot, StepCosts
from rung.planning.fit import CurveFit, CurvePrior
from rung.space import SearchSpace

#: templates whose step costs a new configuration averages (its nearest ones)
COST_NEIGHBOURS = 5


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
        seed: Seeds the noise.
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
        self.cost_neighbours = min(COST_NEIGHBOURS, len(self.units))
        self._sign = 1.0 if mode == "min" else -1.0
        finals = self.scores[:, -1]
        self.best_final = float(finals.min())
        self.optimum: float | None = self._sign * self.best_final
        self._configs: ConfigCache[str, tuple[int, np.ndarray, np.ndarray]] = ConfigCache(
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
        return cls(space, metric, mode, max_step, units, scores, seconds, prior.sigma, seed)

    def reseeded(self, seed: int) -> PilotBenchmark:
        """The same templates with the noise of another ``seed``."""
        return PilotBenchmark(self.space, self.metric, self.mode, self.max_step, self.units,
                              self.scores, self.seconds, self.sigma, seed)

    @staticmethod
    def _key(params: Mapping[str, Any]) -> str:
        return json.dumps({k: params[k] for k in sorted(params)}, default=str)

    def _make(self, key: str) -> tuple[int, np.ndarray, np.ndarray]:
        u = np.nan_to_num(self.space.to_unit(json.loads(key)), nan=0.5)
        order = np.argsort(((self.units - u) ** 2).sum(axis=1), kind="stable")
        k = int(order[0])
        noise = derive_rng(self.seed, "plan", key).normal(0.0, self.sigma, self.max_step)
        seconds = self.seconds[order[: self.cost_neighbours]].mean(axis=0)
        return k, self.scores[k] + noise, seconds

    def template_of(self, params: Mapping[str, Any]) -> int:
        """Index of the template (pilot trial, in id order) ``params`` is mapped to."""
        return self._configs.get(self._key(params))[0]

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        """The noisy fitted value of ``params``'s template at ``step``, and its step cost."""
        if type(step) is not int or not 1 <= step <= self.max_step:
            step = check_step(self.name, step, self.max_step)
        _, curve, seconds = self._configs.get(self._key(params))
        return {self.metric: self._sign * float(curve[step - 1])}, float(seconds[step - 1])

    def regret_of(self, params: Mapping[str, Any]) -> float:
        """The noise-free final score of ``params``'s template minus the best template's."""
        return float(self.scores[self.template_of(params), -1] - self.best_final)

