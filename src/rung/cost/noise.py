"""The statistical error of an error rate measured on a finite validation set.

The stop rule of Makarova et al. 2022 ("Automatic Termination for Hyperparameter Optimization",
AutoML Conf 2022) stops when the bound on the incumbent's simple regret falls below the
statistical error of the incumbent's validation estimate. When the objective is an error rate
(or an accuracy) counted on ``n`` held-out examples, that error is the binomial standard error
``sqrt(p (1 - p) / n)`` at the incumbent's rate ``p``.

``n`` is rarely known to the search, but such a rate is always a multiple of ``1 / n``:
``lattice_size`` reads ``n`` off the values themselves. The test is strict enough that a
continuous objective (a log-loss, an RMSE) is never taken for a rate: at least ``MIN_DISTINCT``
distinct values in ``[0, 1]`` must all lie within ``TOL`` examples of the grid, which a
continuous value does with probability ``2 TOL`` each (``0.02**6 ~ 6e-11``). A grid of
``1 / 10**k`` is not taken: values rounded to ``k`` decimals lie on it too (a validation set of
exactly 1,000 or 10,000 examples has to be given as ``n_val``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

MIN_DISTINCT = 6
"""Fewest distinct values ``lattice_size`` decides on."""

TOL = 0.01
"""How far (in examples) ``value * n`` may be from an integer: float32 storage of a rate on
``n <= 10**5`` examples is off by at most ``6e-8 * n <= 0.006``."""

MAX_MULTIPLE = 10
"""The smallest gap between distinct values may span up to this many grid steps."""


def lattice_size(values: Iterable[float], max_n: int = 10**6) -> int | None:
    """The smallest ``n <= max_n`` such that every value is a multiple of ``1 / n`` (within
    ``TOL / n``), or ``None``: fewer than ``MIN_DISTINCT`` distinct finite values, a value
    outside ``[0, 1]``, no such ``n``, or ``n`` a power of ten (rounded decimals).

    Every multiple of ``n`` fits too; the smallest is the validation set's size when the values
    are error rates counted on it (the rates ``k / n`` of at least ``MIN_DISTINCT`` different
    configurations share no common factor of ``n`` in practice). Negated values (an accuracy
    maximized, scored as ``-a``) are read as their absolute values.
    """
    v = np.array([x for x in values if math.isfinite(x)], dtype=float)
    if len(v) and v.max() <= 0.0:
        v = -v
    if len(v) == 0 or v.min() < 0.0 or v.max() > 1.0:
        return None
    v = np.sort(v)
    gaps = np.diff(v)
    gaps = gaps[gaps > 1e-7]  # equal values, up to float noise
    if len(gaps) + 1 < MIN_DISTINCT:
        return None
    g = float(gaps.min())  # >= 1 / n: n >= 1 / g
    for m in range(1, MAX_MULTIPLE + 1):
        n = round(m / g)
        if n < 2 or n > max_n:
            continue
        k = v * n
        if float(np.max(np.abs(k - np.round(k)))) <= TOL:
            return None if _power_of_ten(n) else n
    return None


def _power_of_ten(n: int) -> bool:
    while n % 10 == 0:
        n //= 10
    return n == 1


def binomial_se(p: float, n: int) -> float:
    """``sqrt(q (1 - q) / n)``: the standard error of a rate ``p`` (or ``-p``) on ``n``
    examples, with ``q = (n p + 1/2) / (n + 1)`` so that a rate of 0 or 1 (no error seen) still
    has the error of half an example rather than none."""
    q = (min(max(abs(p), 0.0), 1.0) * n + 0.5) / (n + 1)
    return math.sqrt(q * (1.0 - q) / n)


__all__ = ["MAX_MULTIPLE", "MIN_DISTINCT", "TOL", "binomial_se", "lattice_size"]
