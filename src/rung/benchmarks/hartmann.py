"""Multi-fidelity Hartmann 3 and 6 with tunable fidelity correlation.

Source: the MF-Hartmann problems of mf-prior-bench (``mfpbench``), used in Mallik et al.,
"PriorBand: Practical Hyperparameter Optimization in the Age of Deep Learning", NeurIPS 2023.
They take the classic Hartmann functions on the unit cube and add, at low fidelity, a *bias* that
flattens the landscape and *noise* that blurs it; both vanish at the top fidelity, where the value
is the exact, noiseless Hartmann function.

Formula. With the standard Hartmann constants ``alpha``, ``A`` and ``P`` (``d`` = 3 or 6) and
the fidelity on a log scale, ``s = log(step) / log(max_step)`` (0 at step 1, 1 at ``max_step``)::

    e_i(x)   = exp(-sum_j A_ij (x_j - P_ij)^2)                     i = 1..4
    H(x)     = -sum_i alpha_i e_i(x)                               (the true Hartmann function)
    f(x, s)  = -sum_i (alpha_i - bias (1 - s)) e_i(x) + noise (1 - s) |eps|
             = H(x) + (1 - s) (bias sum_i e_i(x) + noise |eps|),   eps ~ N(0, 1)

``eps`` is the ``step``-th draw of ``derive_rng(seed, name, repr(x))``, so a value is a pure
function of ``(seed, x, step)``; the bias and noise only scale the same draws, so the presets of
one problem share their random numbers (common random numbers make preset comparisons tighter).
The noise is half-normal, so it only ever makes a configuration look worse, as in mfpbench.

Presets ``(bias, noise)``, taken from mfpbench's ``MFHartmann{3,6}Benchmark*`` classes:
``default`` (0.5, 0.1), ``good`` (2.5, 2.0), ``moderate`` (3.0, 3.0), ``bad`` (3.5, 4.0),
``terrible`` (4.0, 5.0). The names rank the presets against each other, not on an absolute
scale: with a bias above 1 the first two terms flip sign at the lowest fidelities, so even
``good`` has a rank correlation with the top fidelity near zero at step 1 and only becomes
informative a few steps up (Spearman about 0.7 for Hartmann 3 and 0.4 for Hartmann 6 at step 9
of 27), while ``default`` is informative from step 1 (about 0.97 and 0.87). ``bias=`` and
``noise=`` override a preset.

Cost model (ours; mfpbench charges ``0.05 + 0.95 (z / z_max)^2`` per evaluation from scratch):
every step costs ``seconds_per_step * (1 + cost_spread * mean(x))`` simulated seconds, a constant
per configuration, like an epoch whose length depends on the model size. The default spread
makes the slowest configurations twice as slow as the fastest, so asynchronous schedulers meet
uneven trial durations.

Known optima (at ``max_step``; minimization): Hartmann 3: -3.86278 at
(0.114614, 0.555649, 0.852547); Hartmann 6: -3.32237 at
(0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from rung._validate import check_float, check_int, check_positive
from rung.benchmarks.base import (
    ConfigCache,
    check_step,
    read_floats,
)
from rung.core.rng import derive_rng
from rung.errors import ConfigError
from rung.space import Float, SearchSpace

#: ``(bias, noise)`` per named fidelity-correlation preset, from mf-prior-bench.
PRESETS: dict[str, tuple[float, float]] = {
    "default": (0.5, 0.1),
    "good": (2.5, 2.0),
    "moderate": (3.0, 3.0),
    "bad": (3.5, 4.0),
    "terrible": (4.0, 5.0),
}

_ALPHA = (1.0, 1.2, 3.0, 3.2)

# One row per term: (alpha_i, ((A_i1, P_i1), ..., (A_id, P_id))).
_Terms = tuple[tuple[float, tuple[tuple[float, float], ...]], ...]


def _terms(a: list[list[float]], p: list[list[int]]) -> _Terms:
    return tuple(
        (alpha, tuple((aij, pij * 1e-4) for aij, pij in zip(arow, prow, strict=True)))
        for alpha, arow, prow in zip(_ALPHA, a, p, strict=True)
    )


_H3 = _terms(
    [[3.0, 10.0, 30.0], [0.1, 10.0, 35.0], [3.0, 10.0, 30.0], [0.1, 10.0, 35.0]],
    [[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]],
)
_H6 = _terms(
    [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ],
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ],
)


def _hartmann(terms: _Terms, xs: tuple[float, ...]) -> tuple[float, float]:
    """``(H(x), sum_i e_i(x))`` in plain Python: for 4 x 6 numbers, faster than NumPy."""
    h = 0.0
    total = 0.0
    for alpha, row in terms:
        inner = 0.0
        for (a, p), x in zip(row, xs, strict=True):
            inner += a * (x - p) * (x - p)
        e = math.exp(-inner)
        h -= alpha * e
        total += e
    return h, total


class _MFHartmann:
    """Shared implementation of ``MFHartmann3`` and ``MFHartmann6``; see the module docstring."""

    _terms: ClassVar[_Terms]
    dims: ClassVar[int]
    argmin: ClassVar[tuple[float, ...]]
    known_optimum: ClassVar[float]
    registry_name: ClassVar[str]

    metric = "loss"
    mode = "min"

    def __init__(
        self,
        preset: str = "default",
        max_step: int = 27,
        seed: int = 0,
        *,
        bias: float | None = None,
        noise: float | None = None,
        seconds_per_step: float = 1.0,
        cost_spread: float = 1.0,
    ) -> None:
        name = self.registry_name
        if preset not in PRESETS:
            raise ConfigError(
                key=f"{name}.preset",
                message=f"unknown preset {preset!r}; choose one of {list(PRESETS)}",
            )
        self.seed = check_int(f"{name}.seed", seed)
        self.name: str = name
        self.preset = preset
        self.max_step: int = check_int(f"{name}.max_step", max_step, 1)
        preset_bias, preset_noise = PRESETS[preset]
        self.bias = check_float(f"{name}.bias", preset_bias if bias is None else bias, 0)
        self.noise = check_float(f"{name}.noise", preset_noise if noise is None else noise, 0)
        self.seconds_per_step = check_positive(f"{name}.seconds_per_step", seconds_per_step)
        self.cost_spread = check_float(f"{name}.cost_spread", cost_spread, 0)
        self.optimum: float | None = self.known_optimum
        self._keys = tuple(f"x{i}" for i in range(self.dims))
        self.space: SearchSpace = SearchSpace({k: Float(0.0, 1.0) for k in self._keys})
        # (1 - s) for every step; exactly 0 at max_step (and everywhere when max_step == 1).
        top = math.log(self.max_step)
        self._shrink = [0.0] + [
            (1.0 - math.log(step) / top) if step < self.max_step else 0.0
            for step in range(1, self.max_step + 1)
        ]
        self._cache: ConfigCache[tuple[float, ...], tuple[float, float, float, list[float]]] = (
            ConfigCache(self._per_config)
        )

    def _per_config(self, xs: tuple[float, ...]) -> tuple[float, float, float, list[float]]:
        """Everything about ``xs`` that does not depend on the step, computed once."""
        h, total = _hartmann(self._terms, xs)
        # One string key (the exact float reprs) hashes faster than one key per float.
        eps = derive_rng(self.seed, self.name, repr(xs)).standard_normal(self.max_step)
        # Index 0 unused, so step indexes directly.
        noise = [0.0, *(abs(float(v)) for v in eps)]
        return h, self.bias * total, self._seconds(xs), noise

    def _seconds(self, xs: tuple[float, ...]) -> float:
        return self.seconds_per_step * (1.0 + self.cost_spread * sum(xs) / len(xs))

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        """Loss at fidelity ``step`` and the step's cost; see ``rung.benchmarks.Benchmark``."""
        if type(step) is not int or not 1 <= step <= self.max_step:
            step = check_step(self.name, step, self.max_step)
        xs = read_floats(self.name, params, self._keys)
        if step == self.max_step:
            # The top fidelity is the true function: no noise, so no random stream to derive.
            return {"loss": _hartmann(self._terms, xs)[0]}, self._seconds(xs)
        h, bias_term, seconds, noise = self._cache.get(xs)
        value = h + self._shrink[step] * (bias_term + self.noise * noise[step])
        return {"loss": value}, seconds

    def true_value(self, params: Mapping[str, Any]) -> float:
        """The noiseless Hartmann value of ``params`` (the loss at ``max_step``)."""
        return _hartmann(self._terms, read_floats(self.name, params, self._keys))[0]

    def to_json(self) -> dict[str, Any]:
        """``{"name", "params"}``: ``get_benchmark(d["name"], **d["params"])`` rebuilds it."""
        return {
            "name": self.name,
            "params": {
                "preset": self.preset,
                "max_step": self.max_step,
                "seed": self.seed,
                "bias": self.bias,
                "noise": self.noise,
                "seconds_per_step": self.seconds_per_step,
                "cost_spread": self.cost_spread,
            },
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(preset={self.preset!r}, max_step={self.max_step}, "
            f"seed={self.seed}, bias={self.bias}, noise={self.noise})"
        )


class MFHartmann3(_MFHartmann):
    """Multi-fidelity Hartmann 3 on ``[0, 1]^3`` (parameters ``x0..x2``); minimum -3.86278."""

    _terms = _H3
    dims = 3
    argmin = (0.114614, 0.555649, 0.852547)
    known_optimum = -3.86278
    registry_name = "mf-hartmann3"


class MFHartmann6(_MFHartmann):
    """Multi-fidelity Hartmann 6 on ``[0, 1]^6`` (parameters ``x0..x5``); minimum -3.32237."""

    _terms = _H6
    dims = 6
    argmin = (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573)
    known_optimum = -3.32237
    registry_name = "mf-hartmann6"
