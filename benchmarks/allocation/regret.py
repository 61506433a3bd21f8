"""Incumbent, regret and compute-to-reach: pure functions of the results a method reported
(definitions in ``bench_allocation``'s docstring)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
from bench_schedulers import values_at

Obs = tuple[float, int, int, float]  # (time, trial handle, step, score: lower is better)


def incumbent_trajectory(obs: Iterable[Obs], max_step: int) -> list[tuple[float, int]]:
    """``[(time, handle), ...]``: the incumbent (module docstring) after every change, from
    results in time order (a stable sort keeps the reported order of simultaneous results)."""
    out: list[tuple[float, int]] = []
    top_best: tuple[float, int] | None = None  # (score, handle) among results at max_step
    high_step = 0
    high_best: tuple[float, int] | None = None  # best at the highest step reached
    current: int | None = None
    for t, h, s, v in sorted(obs, key=lambda o: o[0]):
        if s == max_step and (top_best is None or v < top_best[0]):
            top_best = (v, h)
        if s > high_step:
            high_step, high_best = s, (v, h)
        elif s == high_step and high_best is not None and v < high_best[0]:
            high_best = (v, h)
        inc = top_best[1] if top_best is not None else high_best[1] if high_best else None
        if inc is not None and inc != current:
            current = inc
            out.append((t, inc))
    return out


def regret_curve(
    obs: Iterable[Obs], max_step: int, n_workers: int, horizon: float,
    regret_of: Callable[[int], float],
) -> list[tuple[float, float, float]]:
    """``[(compute, time, regret), ...]`` change points of the incumbent's regret up to
    ``horizon`` (virtual seconds); compute is ``n_workers x time``."""
    out: list[tuple[float, float, float]] = []
    for t, h in incumbent_trajectory([o for o in obs if o[0] <= horizon], max_step):
        r = regret_of(h)
        if out and out[-1][0] == n_workers * t:
            out[-1] = (n_workers * t, t, r)
        elif not out or r != out[-1][2]:
            out.append((n_workers * t, t, r))
    return out


def reach_fraction(
    runs: list[Mapping[str, Any]], target: float, budget: float
) -> float | None:
    """The fraction of ``budget`` from which the median (over runs) regret stays at or below
    ``target`` until the budget; ``None`` if it is above it at the budget. The curves are step
    functions, so the median is evaluated exactly at every point where one of them moves. A
    median that touches the target and leaves it again (a lucky early incumbent) has not
    reached it."""
    xs = sorted({float(q[0]) for r in runs for q in r["curve"] if q[0] <= budget} | {budget})
    grid = np.array(xs)
    with np.errstate(invalid="ignore"):
        med = np.median(values_at(list(runs), grid, "curve"), axis=0)
    ok = med <= target
    if not ok[-1]:
        return None
    bad = np.nonzero(~ok)[0]
    return float(grid[0 if len(bad) == 0 else bad[-1] + 1]) / budget


def regret_at(curve: list[Any], x: float) -> float:
    """Regret once ``x`` compute is spent (``inf`` before the first result)."""
    value = math.inf
    for p in curve:
        if p[0] > x:
            break
        value = p[2]
    return value

