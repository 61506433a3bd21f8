"""Pareto dominance, non-dominated sorting and hypervolume (all objectives lower-is-better).

Points are rows of a ``(n, m)`` array of lower-is-better scores (``History.values``). Used by
``Study.pareto_front``, MOTPE (``searchers/tpe.py``) and MO-ASHA (``schedulers/mo_asha.py``).

Hypervolume: exact, by the "hypervolume by slicing objectives" recursion (While, Hingston,
Barone and Huband, IEEE TEVC 2006) with a sweep for two objectives: fine for the front sizes
of a hyperparameter search (hundreds of points, 2-4 objectives).
"""

from __future__ import annotations

import numpy as np


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """``a`` is no worse than ``b`` everywhere and better somewhere."""
    return bool(np.all(a <= b) and np.any(a < b))


def non_dominated(Y: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows no other row dominates (duplicates are all kept)."""
    Y = np.asarray(Y, dtype=float)
    n = Y.shape[0]
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if not keep[i]:
            continue
        le = np.all(Y[i] >= Y, axis=1)
        lt = np.any(Y[i] > Y, axis=1)
        if np.any(le & lt):
            keep[i] = False
    return keep


def nondominated_sort(Y: np.ndarray) -> np.ndarray:
    """Front index of every row (0 = the non-dominated ones), as in NSGA-II."""
    Y = np.asarray(Y, dtype=float)
    rank = np.full(Y.shape[0], -1, dtype=int)
    left = np.arange(Y.shape[0])
    k = 0
    while left.size:
        mask = non_dominated(Y[left])
        rank[left[mask]] = k
        left = left[~mask]
        k += 1
    return rank


def hypervolume(Y: np.ndarray, reference: np.ndarray) -> float:
    """Volume dominated by the rows of ``Y`` and bounded by ``reference`` (lower-is-better);
    rows not strictly better than the reference in every objective add nothing."""
    Y = np.asarray(Y, dtype=float)
    ref = np.asarray(reference, dtype=float)
    if Y.size == 0:
        return 0.0
    Y = Y[np.all(ref > Y, axis=1)]
    if Y.shape[0] == 0:
        return 0.0
    Y = Y[non_dominated(Y)]
    return _hv(np.unique(Y, axis=0), ref)


def _hv(Y: np.ndarray, ref: np.ndarray) -> float:
    m = Y.shape[1]
    if m == 1:
        return float(ref[0] - Y[:, 0].min())
    if m == 2:
        P = Y[np.argsort(Y[:, 0], kind="stable")]
        vol, best2 = 0.0, ref[1]
        for x0, x1 in P:
            if x1 < best2:
                vol += (ref[0] - x0) * (best2 - x1)
                best2 = x1
        return float(vol)
    # slice along the last objective
    order = np.argsort(Y[:, -1], kind="stable")
    P = Y[order]
    vol = 0.0
    for i in range(P.shape[0]):
        top = P[i + 1, -1] if i + 1 < P.shape[0] else ref[-1]
        depth = top - P[i, -1]
        if depth <= 0:
            continue
        S = P[: i + 1, :-1]
        S = S[non_dominated(S)]
        vol += depth * _hv(S, ref[:-1])
    return float(vol)


def hv_contributions(Y: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Exclusive hypervolume contribution of every row."""
    Y = np.asarray(Y, dtype=float)
    total = hypervolume(Y, reference)
    out = np.empty(Y.shape[0])
    for i in range(Y.shape[0]):
        out[i] = total - hypervolume(np.delete(Y, i, axis=0), reference)
    return out


def default_reference(Y: np.ndarray) -> np.ndarray:
    """A reference point just beyond the worst finite value of every objective (nadir + 10%
    of the range, at least 1e-12 past it)."""
    Y = np.asarray(Y, dtype=float)
    F = np.where(np.isfinite(Y), Y, np.nan)
    hi = np.nanmax(F, axis=0)
    lo = np.nanmin(F, axis=0)
    span = np.where(hi > lo, hi - lo, np.maximum(np.abs(hi), 1.0))
    return np.asarray(hi + 0.1 * span + 1e-12)


__all__ = [
    "default_reference",
    "dominates",
    "hv_contributions",
    "hypervolume",
    "non_dominated",
    "nondominated_sort",
]
