"""Synthetic multi-fidelity benchmark problems for rung's simulated executor (NumPy only).

Each problem implements the ``Benchmark`` protocol: a ``space``, a ``max_step``, a ``metric``
with its ``mode``, the known ``optimum``, and a cheap, deterministic
``evaluate(params, step) -> (metrics, seconds)``. Build one by name with ``get_benchmark``::

    bench = get_benchmark("mf-hartmann3", preset="good", seed=1)
    metrics, seconds = bench.evaluate({"x0": 0.1, "x1": 0.5, "x2": 0.9}, step=3)

=================  =========================  ============================================
name               class                      source
=================  =========================  ============================================
``mf-branin``      ``MFBranin``               Kandasamy et al. 2017 (BOCA)
``mf-hartmann3``   ``MFHartmann3``            mf-prior-bench / Mallik et al. 2023 (PriorBand)
``mf-hartmann6``   ``MFHartmann6``            mf-prior-bench / Mallik et al. 2023 (PriorBand)
``counting-ones``  ``CountingOnes``           Falkner et al. 2018 (BOHB)
``curve-table``    ``CurveTable``             recorded learning curves (benchmarks/curves)
=================  =========================  ============================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rung.benchmarks.base import Benchmark, regret
from rung.benchmarks.branin import MFBranin
from rung.benchmarks.counting_ones import CountingOnes
from rung.benchmarks.curve_table import CurveTable
from rung.benchmarks.hartmann import PRESETS, MFHartmann3, MFHartmann6
from rung.errors import ConfigError

_REGISTRY: dict[str, Callable[..., Benchmark]] = {
    "counting-ones": CountingOnes,
    "curve-table": CurveTable,
    "mf-branin": MFBranin,
    "mf-hartmann3": MFHartmann3,
    "mf-hartmann6": MFHartmann6,
}

#: Names ``get_benchmark`` accepts.
BENCHMARKS: tuple[str, ...] = tuple(sorted(_REGISTRY))


def get_benchmark(name: str, **kwargs: Any) -> Benchmark:
    """Build the benchmark registered as ``name`` with constructor arguments ``kwargs``.

    Raises:
        ConfigError: ``name`` is unknown, or ``kwargs`` do not fit its constructor (the message
            names the benchmark and the offending argument).
    """
    try:
        factory = _REGISTRY[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown benchmark {name!r}; choose one of {list(BENCHMARKS)}") from None
    try:
        return factory(**kwargs)
    except TypeError as e:
        raise ConfigError(key=name, message=str(e)) from None


def benchmark_from_json(data: Mapping[str, Any]) -> Benchmark:
    """Rebuild a benchmark from its ``to_json()`` form, ``{"name": ..., "params": {...}}``."""
    if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
        raise ConfigError(f"a benchmark is {{'name': ..., 'params': {{...}}}}, got {data!r}")
    params = data.get("params", {})
    if not isinstance(params, Mapping):
        raise ConfigError(key=data["name"], message=f"'params' must be a mapping, got {params!r}")
    return get_benchmark(data["name"], **params)


__all__ = [
    "BENCHMARKS",
    "PRESETS",
    "Benchmark",
    "CountingOnes",
    "CurveTable",
    "MFBranin",
    "MFHartmann3",
    "MFHartmann6",
    "benchmark_from_json",
    "get_benchmark",
    "regret",
]
