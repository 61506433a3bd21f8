"""Regret curves of ``bench_schedulers.py``'s runs: reading them at a resource or a time, their
median over seeds, and the resource fraction at which they reach a target, with bootstrap
intervals.

A run's curve is a list of ``(steps consumed, simulated time, regret)`` points, one per change
of the recommendation: a step function, ``inf`` before its first point. Nothing here runs a
study; ``benchmarks/allocation`` reads ``values_at`` too.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def at(curve: list[tuple[int, float, float]], x: float, axis: int) -> float:
    """Regret of the recommendation once ``x`` resource (axis 0) or time (axis 1) is spent."""
    value = math.inf
    for point in curve:
        if point[axis] > x:
            break
        value = point[2]
    return value


def median_curve(
    runs: list[dict[str, Any]], grid: np.ndarray, axis: int, key: str = "curve"
) -> list[tuple[float, float, float]]:
    out = []
    for x in grid:
        vals = np.array([at(r[key], float(x), axis) for r in runs])
        with np.errstate(invalid="ignore"):  # inf - inf while interpolating: still inf
            qs = np.quantile(vals, [0.25, 0.5, 0.75])
        out.append(tuple(math.inf if math.isnan(v) else float(v) for v in qs))
    return out  # type: ignore[return-value]


def values_at(runs: list[dict[str, Any]], xs: np.ndarray, key: str) -> np.ndarray:
    """``(runs, len(xs))``: each run's regret once ``xs`` resource is spent (a step function
    of the curve's points; inf before its first point)."""
    out = np.full((len(runs), len(xs)), np.inf)
    for i, r in enumerate(runs):
        curve = r[key]
        if not curve:
            continue
        px = np.array([p[0] for p in curve], dtype=float)
        pv = np.array([p[2] for p in curve], dtype=float)
        idx = np.searchsorted(px, xs, side="right") - 1
        out[i] = np.where(idx >= 0, pv[np.maximum(idx, 0)], np.inf)
    return out


def reach(
    runs: list[dict[str, Any]], fifo: list[dict[str, Any]], key: str, budget: int,
    n_boot: int = 0,
) -> tuple[float | None, tuple[float, float] | None]:
    """The exact resource fraction at which the median (over seeds) regret curve first drops
    to random+FIFO's final median regret: the curves are step functions, so the median is
    evaluated at every point where any run's curve moves (no grid). With ``n_boot``, a 95%
    bootstrap interval over seeds, resampled jointly with FIFO's (same seeds, same
    configurations), so the target's own noise is included; ``inf`` means "never"."""
    by_seed = {r["seed"]: r for r in runs}
    seeds = sorted(set(by_seed) & {r["seed"] for r in fifo})
    fifo_final = {r["seed"]: r["final_regret"] for r in fifo}
    xs = np.unique(np.array([p[0] for s in seeds for p in by_seed[s][key]], dtype=float))
    if len(xs) == 0:
        return None, None
    vals = values_at([by_seed[s] for s in seeds], xs, key)
    finals = np.array([fifo_final[s] for s in seeds])

    def crossing(rows: np.ndarray) -> float:
        med = np.median(vals[rows], axis=0)
        hit = np.nonzero(med <= np.median(finals[rows]))[0]
        return float(xs[hit[0]]) / budget if len(hit) else math.inf

    point = crossing(np.arange(len(seeds)))
    ci = None
    if n_boot:
        rng = np.random.Generator(np.random.PCG64(0))
        boots = [crossing(rng.integers(0, len(seeds), len(seeds))) for _ in range(n_boot)]
        ci = (float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975)))
    return (None if math.isinf(point) else point), ci


def bootstrap_mean_ci(d: np.ndarray, seed: int = 0, n: int = 4000) -> tuple[float, float]:
    rng = np.random.Generator(np.random.PCG64(seed))
    means = rng.choice(d, size=(n, len(d)), replace=True).mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))
