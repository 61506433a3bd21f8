"""Grids of a ``SearchSpace``: the configurations ``SearchSpace.grid`` enumerates, and how many
there are, bounded without enumerating them.

``space_grid(space, points)`` takes every choice of each categorical and ``points`` values of
each numeric parameter (all of them if it has fewer), keeps only active combinations (a
parameter whose ``when=`` does not hold is left out) and drops duplicates; it refuses a grid
of more than ``MAX_GRID`` points, found by ``grid_bound`` before any is built. ``product_size``
is the size of the full product, ``inf`` with an unquantized continuous parameter.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rung._validate import close_hint, is_int
from rung.errors import SpaceError
from rung.space.params import Categorical, Fixed, Float, Int, Param, param_error

if TYPE_CHECKING:
    from rung.space.search_space import SearchSpace

#: Most points ``SearchSpace.grid`` builds (a grid is a list of configurations in memory).
MAX_GRID = 1_000_000


def _axis_bound(p: Param, points: int) -> int:
    """How many values ``p.grid(points)`` has at most, without building it."""
    if isinstance(p, Categorical):
        return len(p.choices)
    if isinstance(p, Fixed) or not p.tunable:
        return 1
    if isinstance(p, Int) or (isinstance(p, Float) and p.step is not None):
        return min(p._n, points)
    return points


def space_grid(space: SearchSpace, points: int | Mapping[str, int] = 5) -> list[dict[str, Any]]:
    """``SearchSpace.grid``: every configuration of the grid, in a deterministic order."""

    def n_points(name: str) -> int:
        k = points.get(name, 5) if isinstance(points, Mapping) else points
        if not is_int(k) or k < 1:
            raise param_error(name, f"grid points must be a positive integer, got {k!r}")
        return int(k)

    if isinstance(points, Mapping):
        for k in points:
            if k not in space.params:
                raise param_error(k, "grid points given for an unknown parameter"
                                  f"{close_hint(k, space.params, given=points)}")
    counts = {n: n_points(n) for n in space.order}
    if grid_bound(space, counts) > MAX_GRID:
        raise SpaceError(message=f"the grid has more than {MAX_GRID:,} points: give fewer "
                         "points per numeric parameter, or search with sobol or random")
    axes = {n: space.params[n].grid(counts[n]) for n in space.order}
    partial: list[dict[str, Any]] = [{}]
    for n in space.order:
        p = space.params[n]
        nxt: list[dict[str, Any]] = []
        for cfg in partial:
            if space._is_active(p, cfg):
                nxt.extend({**cfg, n: v} for v in axes[n])
            else:
                nxt.append(cfg)
        partial = nxt
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for cfg in partial:
        ordered = {n: cfg[n] for n in space.params if n in cfg}
        key = json.dumps(ordered, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(ordered)
    return out


def grid_bound(space: SearchSpace, counts: Mapping[str, int]) -> int:
    """An upper bound of the grid's size (exact unless a numeric axis loses duplicates),
    ``MAX_GRID + 1`` as soon as it exceeds ``MAX_GRID``, found without building the grid:
    the parents of conditions are enumerated, the other parameters only counted."""
    parents = {parent for p in space.params.values() for parent in p.when}
    partial: list[tuple[dict[str, Any], int]] = [({}, 1)]
    for n in space.order:
        p = space.params[n]
        size = _axis_bound(p, counts[n])
        if size > MAX_GRID:
            return MAX_GRID + 1
        axis = p.grid(counts[n]) if n in parents else []
        nxt: list[tuple[dict[str, Any], int]] = []
        for cfg, mult in partial:
            if not space._is_active(p, cfg):
                nxt.append((cfg, mult))
            elif n in parents:
                nxt.extend(({**cfg, n: v}, mult) for v in axis)
            else:
                nxt.append((cfg, mult * size))
        if len(nxt) > MAX_GRID or any(m > MAX_GRID for _, m in nxt):
            return MAX_GRID + 1
        partial = nxt
    total = sum(m for _, m in partial)
    return total if total <= MAX_GRID else MAX_GRID + 1


def product_size(space: SearchSpace) -> float:
    """Number of distinct configurations, ``inf`` if any continuous parameter is unquantized."""
    total = 1.0
    for p in space.params.values():
        if isinstance(p, Float) and p.step is None and p.tunable:
            return math.inf
        if isinstance(p, Float | Int) and p.tunable:
            total *= p._n
        elif isinstance(p, Categorical):
            total *= len(p.choices)
    return total
