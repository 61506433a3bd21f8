"""Pareto dominance, non-dominated sorting and hypervolume (all objectives lower-is-better).

Points are rows of a ``(n, m)`` array of lower-is-better scores (``History.values``). Used by
``Study.pareto_front``, MOTPE (``searchers/tpe.py``) and MO-ASHA (``schedulers/mo_asha.py``).
A NaN score is the worst possible (``+inf``), as ``Objective.score`` makes it: a row holding
one is dominated by a row no worse elsewhere, and never dominates a row over it.

Hypervolume: exact, by the "hypervolume by slicing objectives" recursion (While, Hingston,
Barone and Huband, IEEE TEVC 2006) with a sweep for two objectives: fine for the front sizes
of a hyperparameter search (hundreds of points, 2-4 objectives).

**The reference point** bounds the volume: it must be *worse* than the front in every
objective, in that objective's own direction (below the front for ``mode="max"``, above it for
``"min"``; in lower-is-better scores, above it everywhere). A point counts only where it is
strictly better than the reference in every objective: a reference that bounds only part of
the front leaves the other points out (they add nothing; the standard definition), and one
on the wrong side of every point gives 0. ``front_hypervolume`` (``Study.hypervolume``)
refuses a reference that no point of the front dominates, which can only be a mistake. Its
default, ``default_reference``, is 10% of the front's range beyond its worst point: it
depends on the front, so two studies' (or one study's at two moments) default hypervolumes
are not comparable; compare them under one fixed reference.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rung.core.records import Objective
from rung.errors import ConfigError


def _worst_nan(Y: np.ndarray) -> np.ndarray:
    """``Y`` as floats with NaN as ``+inf`` (the worst score), so that it compares."""
    Y = np.asarray(Y, dtype=float)
    nan = np.isnan(Y)
    return np.where(nan, np.inf, Y) if nan.any() else Y


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """``a`` is no worse than ``b`` everywhere and better somewhere."""
    a, b = _worst_nan(a), _worst_nan(b)
    return bool(np.all(a <= b) and np.any(a < b))


def non_dominated(Y: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows no other row dominates (duplicates are all kept)."""
    Y = _worst_nan(Y)
    n = Y.shape[0]
    keep = np.ones(n, dtype=bool)
    if n == 0:
        return keep
    step = max(1, 2_000_000 // (n * max(1, Y.shape[1])))  # rows tested at once, in memory
    for i in range(0, n, step):
        C = Y[i:i + step]
        le = np.all(Y[:, None, :] <= C[None, :, :], axis=2)  # row a no worse than c
        lt = np.any(Y[:, None, :] < C[None, :, :], axis=2)   # ... and better somewhere
        keep[i:i + step] = ~np.any(le & lt, axis=0)
    return keep


def _dominance(Y: np.ndarray) -> np.ndarray:
    """``(n, n)`` matrix: ``[a, c]`` is true when row ``a`` dominates row ``c`` (built in
    chunks of rows, so no ``(n, n, m)`` array is held)."""
    n = Y.shape[0]
    D = np.empty((n, n), dtype=bool)
    step = max(1, 2_000_000 // (n * max(1, Y.shape[1])))
    for i in range(0, n, step):
        C = Y[i:i + step]
        D[:, i:i + step] = (np.all(Y[:, None, :] <= C[None, :, :], axis=2)
                            & np.any(Y[:, None, :] < C[None, :, :], axis=2))
    return D


def nondominated_sort(Y: np.ndarray) -> np.ndarray:
    """Front index of every row (0 = the non-dominated ones), as in NSGA-II: with up to
    4,096 rows by NSGA-II's domination counts over one dominance matrix (O(m n^2)), beyond
    that front by front (no n-by-n matrix in memory)."""
    Y = _worst_nan(Y)
    if 0 < Y.shape[0] <= 4096:
        D = _dominance(Y)
        count = D.sum(axis=0)  # how many rows dominate each row
        rank = np.full(Y.shape[0], -1, dtype=int)
        current = np.flatnonzero(count == 0)
        k = 0
        while current.size:
            rank[current] = k
            count = count - D[current].sum(axis=0)
            count[rank >= 0] = -1
            current = np.flatnonzero(count == 0)
            k += 1
        return rank
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
    rows not strictly better than the reference in every objective add nothing (0 when no
    row is)."""
    Y = np.asarray(Y, dtype=float)
    ref = np.asarray(reference, dtype=float)
    if Y.size == 0:
        return 0.0
    Y = Y[np.all(ref > Y, axis=1)]
    if Y.shape[0] == 0:
        return 0.0
    Y = Y[non_dominated(Y)]
    return _hv(np.unique(Y, axis=0), ref)


def _hv2(P: np.ndarray, ref: np.ndarray) -> float:
    """Two objectives: a sweep in the first, vectorized (dominated rows add nothing)."""
    P = P[np.lexsort((P[:, 1], P[:, 0]))]
    best = np.minimum.accumulate(P[:, 1])
    before = np.concatenate([[ref[1]], best[:-1]])
    return float(np.sum((ref[0] - P[:, 0]) * np.maximum(before - P[:, 1], 0.0)))


def _hv(Y: np.ndarray, ref: np.ndarray) -> float:
    m = Y.shape[1]
    if m == 1:
        return float(ref[0] - Y[:, 0].min())
    if m == 2:
        return _hv2(Y, ref)
    # slice along the last objective: the slab above each value holds the rows up to it;
    # dominated rows need no filtering (they add nothing to a slab's volume)
    order = np.argsort(Y[:, -1], kind="stable")
    P = Y[order]
    vol = 0.0
    for i in range(P.shape[0]):
        top = P[i + 1, -1] if i + 1 < P.shape[0] else ref[-1]
        depth = top - P[i, -1]
        if depth <= 0:
            continue
        S = P[: i + 1, :-1]
        if m > 3:  # the recursion is exponential in the rows it carries: prune them
            S = S[non_dominated(S)]
        vol += depth * _hv(S, ref[:-1])
    return float(vol)


def hv_contributions(Y: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Exclusive hypervolume contribution of every row: the volume only it dominates, its box
    up to the reference less the hypervolume of the other rows limited to that box (few of
    them stay non-dominated there, so this is far cheaper than the total less the total
    without the row; a duplicated row contributes 0)."""
    Y = np.asarray(Y, dtype=float)
    ref = np.asarray(reference, dtype=float)
    out = np.zeros(Y.shape[0])
    for i in range(Y.shape[0]):
        if not np.all(ref > Y[i]):
            continue
        box = float(np.prod(ref - Y[i]))
        limited = np.maximum(np.delete(Y, i, axis=0), Y[i])
        out[i] = box - hypervolume(limited, ref) if limited.shape[0] else box
    return out


def front_hypervolume(
    Y: np.ndarray, reference: np.ndarray | None, objectives: Sequence[Objective]
) -> float:
    """``Study.hypervolume``: the hypervolume of the front ``Y`` (its rows' lower-is-better
    scores, one column per objective of ``objectives``) bounded by ``reference`` (scores too;
    ``None``: ``default_reference(Y)``, not comparable across fronts). Points that are not
    strictly better than the reference in every objective are left out (module docstring,
    "The reference point"). An empty front has hypervolume 0.

    Raises:
        ConfigError: (key ``reference``) no point of a non-empty front dominates
            ``reference``: it lies on the wrong side of the front in some objective's
            direction. The message gives, per objective, the front's worst value, beyond
            which a reference counts every point.
    """
    Y = np.asarray(Y, dtype=float).reshape(-1, len(objectives))
    if Y.shape[0] == 0:
        return 0.0
    if reference is None:
        return hypervolume(Y, default_reference(Y))
    ref = np.asarray(reference, dtype=float)
    if not any(dominates(y, ref) or np.array_equal(y, ref) for y in Y):
        F = np.where(np.isfinite(Y), Y, np.nan)
        worst = np.nanmax(F, axis=0) if np.isfinite(F).any() else np.full(len(objectives),
                                                                            np.nan)
        need = " and ".join(
            f"{o.metric} ({o.mode}) {'below' if o.mode == 'max' else 'above'} "
            f"{o.value(float(w)):.6g}" for o, w in zip(objectives, worst, strict=True))
        given = [float(f"{o.value(float(r)):.6g}") for o, r in zip(objectives, ref,
                                                                    strict=True)]
        raise ConfigError(key="reference", message=(
            f"no point of the Pareto front dominates {given}: a reference must be worse "
            f"than the front in each objective's own direction; one with {need} counts "
            "every point"))
    return hypervolume(Y, ref)


def default_reference(Y: np.ndarray) -> np.ndarray:
    """A reference point just beyond the worst finite value of every objective (nadir + 10%
    of the range, at least 1e-12 past it): a function of ``Y``, so hypervolumes of different
    fronts under their default references are not comparable."""
    Y = np.asarray(Y, dtype=float)
    F = np.where(np.isfinite(Y), Y, np.nan)
    hi = np.nanmax(F, axis=0)
    lo = np.nanmin(F, axis=0)
    span = np.where(hi > lo, hi - lo, np.maximum(np.abs(hi), 1.0))
    return np.asarray(hi + 0.1 * span + 1e-12)


__all__ = [
    "default_reference",
    "dominates",
    "front_hypervolume",
    "hv_contributions",
    "hypervolume",
    "non_dominated",
    "nondominated_sort",
]
