"""Counting ones, a mixed categorical / continuous problem whose budget is a sample count.

Source: Falkner, Klein and Hutter, "BOHB: Robust and Efficient Hyperparameter Optimization at
Scale", ICML 2018 (section 5.1).

Formula. ``n_categorical`` binary parameters ``c_i in {0, 1}`` and ``n_continuous`` parameters
``x_j in [0, 1]``. At budget ``b`` each ``x_j`` is seen only through the mean of ``b`` draws of
``Bernoulli(x_j)``; the loss is::

    f(c, x, b) = -(sum_i c_i + sum_j mean of b Bernoulli(x_j) draws)

whose expectation, ``-(sum_i c_i + sum_j x_j)``, does not depend on ``b``: a bigger budget only
shrinks the noise (its standard deviation is ``sqrt(sum_j x_j (1 - x_j) / b)``). The mean of
``b`` Bernoulli draws is sampled as ``Binomial(b, x_j) / b``, which has the same distribution.

Budget of a step: ``b = samples_per_step * step``. The defaults (``max_step=81``,
``samples_per_step=9``) span the paper's budgets, 9 to 729 samples, and put its successive
halving rungs (9, 27, 81, 243, 729 with eta = 3) at steps 1, 3, 9, 27 and 81. Every step is a
fresh, independent estimate at its own budget (as when BOHB re-evaluates a configuration on a
larger budget). The draws come, step after step, from ``derive_rng(seed, "counting-ones",
repr(x))``, so a value is a pure function of ``(seed, params, step)``. The top fidelity is
therefore still noisy, as in the paper; ``true_value`` gives the expectation.

Cost model: proportional to the samples a step adds, ``seconds_per_step`` simulated seconds per
step for every configuration (in the paper the cost is the budget alone).

Known optimum: ``-(n_categorical + n_continuous)``, at every ``c_i = 1`` and ``x_j = 1``, and
reached exactly at every budget (``Bernoulli(1)`` never draws a 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from rung._validate import check_int, check_positive
from rung.benchmarks.base import (
    ConfigCache,
    check_step,
    read_floats,
)
from rung.core.rng import derive_rng
from rung.errors import ConfigError
from rung.space import Categorical, Float, Param, SearchSpace


class _Estimates:
    """The summed Bernoulli-mean estimates of one configuration, drawn lazily, step by step.

    Most trials of a simulation stop after a few steps, so the draws are made in chunks of
    fixed, doubling extent (steps 1, 2, 3-4, 5-8, 9-16, ...) only when a step is first asked
    for. Chunks are always drawn in order from one stream, so a step's value does not depend on
    the order in which steps are requested.
    """

    __slots__ = ("_budgets", "_p", "_rng", "_sums")

    def __init__(self, rng: np.random.Generator, p: np.ndarray, budgets: np.ndarray) -> None:
        self._rng = rng
        self._p = p[None, :]
        self._budgets = budgets
        self._sums: list[float] = [0.0]  # index 0 unused, so steps index directly

    def at(self, step: int) -> float:
        sums = self._sums
        while len(sums) <= step:
            first = len(sums)
            last = min(max(first, 2 * (first - 1)), len(self._budgets))
            b = self._budgets[first - 1 : last]
            counts = self._rng.binomial(b[:, None], self._p)
            sums.extend((counts.sum(axis=1) / b).tolist())
        return sums[step]


class CountingOnes:
    """Counting ones with ``cat0..`` in ``{0, 1}`` and ``cont0..`` in ``[0, 1]``; minimization.

    Args:
        n_categorical: Number of binary categorical parameters.
        n_continuous: Number of continuous parameters (BOHB used as many as categorical ones).
        max_step: The top fidelity.
        samples_per_step: Bernoulli samples per continuous parameter added by each step.
        seed: Seeds the Bernoulli draws.
        seconds_per_step: Simulated seconds of one step.
    """

    name = "counting-ones"
    metric = "loss"
    mode = "min"

    def __init__(
        self,
        n_categorical: int = 8,
        n_continuous: int = 8,
        max_step: int = 81,
        samples_per_step: int = 9,
        seed: int = 0,
        *,
        seconds_per_step: float = 1.0,
    ) -> None:
        name = self.name
        self.n_categorical = check_int(f"{name}.n_categorical", n_categorical, 0)
        self.n_continuous = check_int(f"{name}.n_continuous", n_continuous, 0)
        if self.n_categorical + self.n_continuous == 0:
            raise ConfigError(
                key=name, message="needs at least one parameter (n_categorical + n_continuous)"
            )
        self.max_step: int = check_int(f"{name}.max_step", max_step, 1)
        self.samples_per_step = check_int(f"{name}.samples_per_step", samples_per_step, 1)
        self.seed = check_int(f"{name}.seed", seed)
        self.seconds_per_step = check_positive(f"{name}.seconds_per_step", seconds_per_step)
        self.optimum: float | None = -float(self.n_categorical + self.n_continuous)
        self._cat_keys = tuple(f"cat{i}" for i in range(self.n_categorical))
        self._cont_keys = tuple(f"cont{j}" for j in range(self.n_continuous))
        params: dict[str, Param] = {k: Categorical([0, 1]) for k in self._cat_keys}
        params.update({k: Float(0.0, 1.0) for k in self._cont_keys})
        self.space: SearchSpace = SearchSpace(params)
        self._budgets = self.samples_per_step * np.arange(1, self.max_step + 1, dtype=np.int64)
        self._estimates: ConfigCache[tuple[float, ...], _Estimates] = ConfigCache(self._stream)

    def budget(self, step: int) -> int:
        """Bernoulli samples per continuous parameter behind the value at ``step``."""
        return self.samples_per_step * check_step(self.name, step, self.max_step)

    def _stream(self, xs: tuple[float, ...]) -> _Estimates:
        # One string key (the exact float reprs) hashes faster than one key per float.
        p = np.clip(np.asarray(xs, dtype=np.float64), 0.0, 1.0)  # guard float round-off
        return _Estimates(derive_rng(self.seed, self.name, repr(xs)), p, self._budgets)

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        """Loss at fidelity ``step`` and the step's cost; see ``rung.benchmarks.Benchmark``."""
        if type(step) is not int or not 1 <= step <= self.max_step:
            step = check_step(self.name, step, self.max_step)
        ones = sum(read_floats(self.name, params, self._cat_keys))
        if self._cont_keys:
            ones += self._estimates.get(read_floats(self.name, params, self._cont_keys)).at(step)
        return {"loss": -ones}, self.seconds_per_step

    def true_value(self, params: Mapping[str, Any]) -> float:
        """The expected loss of ``params`` (infinite budget): ``-(sum c_i + sum x_j)``."""
        return -(
            sum(read_floats(self.name, params, self._cat_keys))
            + sum(read_floats(self.name, params, self._cont_keys))
        )

    def to_json(self) -> dict[str, Any]:
        """``{"name", "params"}``: ``get_benchmark(d["name"], **d["params"])`` rebuilds it."""
        return {
            "name": self.name,
            "params": {
                "n_categorical": self.n_categorical,
                "n_continuous": self.n_continuous,
                "max_step": self.max_step,
                "samples_per_step": self.samples_per_step,
                "seed": self.seed,
                "seconds_per_step": self.seconds_per_step,
            },
        }

    def __repr__(self) -> str:
        return (
            f"CountingOnes(n_categorical={self.n_categorical}, n_continuous={self.n_continuous}, "
            f"max_step={self.max_step}, samples_per_step={self.samples_per_step}, "
            f"seed={self.seed})"
        )
