"""The statistical error of an error rate measured on a finite validation set.

The stop rule of Makarova et al. 2022 ("Automatic Termination for Hyperparameter Optimization",
AutoML Conf 2022) stops when the bound on the incumbent's simple regret falls below the
statistical error of the incumbent's validation estimate. When the objective is an error rate
(or an accuracy) counted on ``n`` held-out examples, that error is the binomial standard error
``sqrt(p (1 - p) / n)`` at the incumbent's rate ``p``.

``n`` is rarely known to the search, but such a rate is always a multiple of ``1 / n``:
``lattice_size`` reads ``n`` off the values themselves: exactly, as the least common
denominator of the rates' fractions, when they are computed in float64; otherwise (float32
storage) from the smallest gap between distinct rates, which must span at most ``MAX_MULTIPLE``
grid steps. The test is strict enough that a
continuous objective (a log-loss, an RMSE) is never taken for a rate: at least ``MIN_DISTINCT``
distinct values in ``[0, 1]`` must all lie within ``TOL`` examples of the grid, which a
continuous value does with probability ``2 TOL`` each (``0.02**6 ~ 6e-11``). A grid of
``1 / 10**k`` is not taken: values rounded to ``k`` decimals lie on it too (a validation set of
exactly 1,000 or 10,000 examples has to be given as ``n_val``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction

import numpy as np

MIN_DISTINCT = 6
"""Fewest distinct values ``lattice_size`` decides on."""

TOL = 0.01
"""How far (in examples) ``value * n`` may be from an integer: float32 storage of a rate on
``n <= 10**5`` examples is off by at most ``6e-8 * n <= 0.006``."""

MAX_MULTIPLE = 10
"""The smallest gap between distinct values may span up to this many grid steps."""

MAX_WINDOW = 2000
"""Most candidates tried on either side of the grid size the smallest gap suggests."""


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
    exact = _exact_grid(v, max_n)
    if exact is not None:
        return None if _power_of_ten(exact) else exact
    g = float(gaps.min())  # >= 1 / n: n >= 1 / g
    for m in range(1, MAX_MULTIPLE + 1):
        n0 = m / g
        if n0 > max_n + 0.5:
            break
        # the smallest gap of float32-stored rates is off by up to 2 float32 ulps: so is n0,
        # by up to 1.2e-7 v_max n^2 / m (1.7 at n = 6,340); search that window around it
        r = min(int(2.4e-7 * float(v[-1]) * n0 * n0 / m) + 1, MAX_WINDOW)
        cand = np.arange(max(2, round(n0) - r), min(max_n, round(n0) + r) + 1)
        if len(cand) == 0:
            continue
        k = np.outer(cand, v)
        fits = np.max(np.abs(k - np.round(k)), axis=1) <= TOL
        if fits.any():
            n = int(cand[np.argmax(fits)])
            return None if _power_of_ten(n) else n
    return None


def _exact_grid(v: np.ndarray, max_n: int) -> int | None:
    """For rates computed in float64 (within ``1e-15`` of ``k / n``): the least common
    denominator of their reduced fractions, if it is at most ``max_n`` (a continuous value's
    nearest fraction is ``~1e-12`` away, or its denominators' multiple passes ``max_n``)."""
    n = 1
    for x in v:
        f = Fraction(float(x)).limit_denominator(max_n)
        if abs(float(f) - float(x)) > 1e-15:
            return None
        n = math.lcm(n, f.denominator)
        if n > max_n:
            return None
    return n


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


__all__ = ["MAX_MULTIPLE", "MAX_WINDOW", "MIN_DISTINCT", "TOL", "binomial_se", "lattice_size"]
