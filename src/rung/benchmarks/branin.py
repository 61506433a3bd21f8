"""Multi-fidelity Branin.

Source: Kandasamy, Dasarathy, Schneider and Poczos, "Multi-fidelity Bayesian optimisation with
continuous approximations" (BOCA), ICML 2017. BOCA perturbs three coefficients of the Branin
function with a fidelity vector; here a single fidelity ``z = step / max_step`` drives all three.

Formula, on ``x1 in [-5, 10]``, ``x2 in [0, 15]``::

    b(z) = 5.1 / (4 pi^2) - 0.01 (1 - z)
    c(z) = 5 / pi - 0.1 (1 - z)
    t(z) = 1 / (8 pi) + 0.05 (1 - z)
    f(x, z) = (x2 - b(z) x1^2 + c(z) x1 - 6)^2 + 10 (1 - t(z)) cos(x1) + 10

At ``z = 1`` this is the standard Branin function. Lower fidelities are biased but smooth and,
by default, noiseless, as in the paper. ``noise > 0`` adds ``noise (1 - z) eps``, where
``eps ~ N(0, 1)`` is the ``step``-th draw of ``derive_rng(seed, "mf-branin", repr(x))``: still
zero at ``max_step`` and still a pure function of ``(seed, x, step)``.

Cost model (ours): every step costs ``seconds_per_step * (1 + cost_spread * u)`` simulated
seconds with ``u = ((x1 + 5) / 15 + x2 / 15) / 2`` in ``[0, 1]``, a constant per configuration,
so configurations differ in speed (by 2x with the default spread).

Known optimum (at ``max_step``; minimization): 0.397887, reached at (-pi, 12.275),
(pi, 2.275) and (9.42478, 2.475).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rung._validate import check_float, check_int, check_positive
from rung.benchmarks.base import (
    ConfigCache,
    check_step,
    read_floats,
)
from rung.core.rng import derive_rng
from rung.space import Float, SearchSpace

_B = 5.1 / (4.0 * math.pi**2)
_C = 5.0 / math.pi
_T = 1.0 / (8.0 * math.pi)

#: The three global minimizers of the standard Branin function.
ARGMINS: tuple[tuple[float, float], ...] = (
    (-math.pi, 12.275),
    (math.pi, 2.275),
    (3.0 * math.pi, 2.475),
)


def branin(x1: float, x2: float, z: float = 1.0) -> float:
    """The BOCA multi-fidelity Branin value at fidelity ``z`` in ``[0, 1]`` (1 = the true one)."""
    gap = 1.0 - z
    b = _B - 0.01 * gap
    c = _C - 0.1 * gap
    t = _T + 0.05 * gap
    r = x2 - b * x1 * x1 + c * x1 - 6.0
    return r * r + 10.0 * (1.0 - t) * math.cos(x1) + 10.0


class MFBranin:
    """Multi-fidelity Branin on ``x1 in [-5, 10]``, ``x2 in [0, 15]``; minimum 0.397887.

    Args:
        max_step: The top fidelity; ``z = step / max_step``.
        seed: Seeds the optional noise.
        noise: Standard deviation of the Gaussian noise at ``z = 0`` (shrinks linearly to 0 at
            ``max_step``); 0 (the default) keeps the benchmark noiseless, as in BOCA.
        seconds_per_step: Simulated seconds of one step for the fastest configuration.
        cost_spread: How much slower the slowest configuration is, as a fraction.
    """

    name = "mf-branin"
    metric = "loss"
    mode = "min"

    def __init__(
        self,
        max_step: int = 27,
        seed: int = 0,
        *,
        noise: float = 0.0,
        seconds_per_step: float = 1.0,
        cost_spread: float = 1.0,
    ) -> None:
        name = self.name
        self.seed = check_int(f"{name}.seed", seed)
        self.max_step: int = check_int(f"{name}.max_step", max_step, 1)
        self.noise = check_float(f"{name}.noise", noise, 0)
        self.seconds_per_step = check_positive(f"{name}.seconds_per_step", seconds_per_step)
        self.cost_spread = check_float(f"{name}.cost_spread", cost_spread, 0)
        self.optimum: float | None = 0.397887
        self.space: SearchSpace = SearchSpace({"x1": Float(-5.0, 10.0), "x2": Float(0.0, 15.0)})
        self._keys = ("x1", "x2")
        self._z = [step / self.max_step for step in range(self.max_step + 1)]
        self._noise: ConfigCache[tuple[float, ...], list[float]] = ConfigCache(self._draw)

    def _draw(self, xs: tuple[float, ...]) -> list[float]:
        eps = derive_rng(self.seed, self.name, repr(xs)).standard_normal(self.max_step)
        return [0.0, *(float(v) for v in eps)]

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        """Loss at fidelity ``step`` and the step's cost; see ``rung.benchmarks.Benchmark``."""
        if type(step) is not int or not 1 <= step <= self.max_step:
            step = check_step(self.name, step, self.max_step)
        x1, x2 = read_floats(self.name, params, self._keys)
        z = self._z[step]
        value = branin(x1, x2, z)
        if self.noise and step < self.max_step:
            value += self.noise * (1.0 - z) * self._noise.get((x1, x2))[step]
        u = ((x1 + 5.0) / 15.0 + x2 / 15.0) * 0.5
        return {"loss": value}, self.seconds_per_step * (1.0 + self.cost_spread * u)

    def to_json(self) -> dict[str, Any]:
        """``{"name", "params"}``: ``get_benchmark(d["name"], **d["params"])`` rebuilds it."""
        return {
            "name": self.name,
            "params": {
                "max_step": self.max_step,
                "seed": self.seed,
                "noise": self.noise,
                "seconds_per_step": self.seconds_per_step,
                "cost_spread": self.cost_spread,
            },
        }

    def __repr__(self) -> str:
        return f"MFBranin(max_step={self.max_step}, seed={self.seed}, noise={self.noise})"
