"""Means and midpoints of finite floats that never overflow: the median stopping rule's
running averages and medians (``rung.schedulers.median``) decide alike whatever the scale of
the values, up to ``1.7e308``.

Each function gives the same float as the plain formula whenever that formula does not
overflow (so ordinary values decide exactly as before), and a correctly scaled result when
it would: a sum is also kept scaled down by ``2**-SHIFT`` (exact for values this large), and
a midpoint is taken of the halves.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

#: scores are scaled by ``2**-SHIFT`` in the scaled sum: each then lies below 1 in magnitude
SHIFT = 1024
_DOWN = 2.0**-SHIFT
_UP = 2.0**(SHIFT // 2)  # 2**1024 is not a float: scale back up in two halves


def scaled(x: float) -> float:
    """``x * 2**-SHIFT``, the term of a scaled sum (inf stays inf)."""
    return x * _DOWN


def fsum_total(values: Iterable[float]) -> tuple[float, float]:
    """``(sum, scaled sum)`` of ``values``, each as ``math.fsum`` gives it; the plain sum is
    ``inf`` of its sign where the exact one overflows (``math.fsum`` raises there)."""
    vals = list(values)
    try:
        total = math.fsum(vals)
    except OverflowError:
        total = math.inf if math.fsum(scaled(v) for v in vals) > 0 else -math.inf
    return total, math.fsum(scaled(v) for v in vals)


def mean(total: float, scaled_total: float, count: int) -> float:
    """The mean of ``count`` values whose plain sum is ``total`` and scaled sum
    ``scaled_total``: ``total / count`` when ``total`` is finite, else ``inf`` when a value
    was ``+inf`` (the scaled sum is infinite then), else the scaled sum's mean scaled back."""
    if math.isfinite(total):
        return total / count
    if not math.isfinite(scaled_total):
        return math.inf if scaled_total > 0 else math.nan
    return scaled_total / count * _UP * _UP


def midpoint(a: float, b: float) -> float:
    """``(a + b) / 2`` (the float that formula gives when ``a + b`` does not overflow; the
    halves' sum when it does)."""
    s = a + b
    if math.isfinite(s) or not (math.isfinite(a) and math.isfinite(b)):
        return s / 2.0
    return a / 2.0 + b / 2.0


def interpolate_half(lo: float, hi: float) -> float:
    """``hi - (hi - lo) * 0.5`` (NumPy's linear interpolation at 0.5, the float it gives when
    ``hi - lo`` does not overflow; the halves' sum when it does)."""
    d = hi - lo
    if math.isfinite(d) or not (math.isfinite(lo) and math.isfinite(hi)):
        return hi - d * 0.5
    return lo / 2.0 + hi / 2.0


__all__ = ["fsum_total", "interpolate_half", "mean", "midpoint", "scaled"]
