"""The range of values a chart's value axis shows: the bulk of the results, far outliers on the
objective's *bad* side left out and counted (``bulk_range``). ``rung plot``'s history and
learning curves and the dashboard's learning curves use it, so both leave out the same results.

A result is a far outlier when its score (lower is better) lies above the upper quartile by
more than ``OUTLIER_IQRS`` interquartile ranges (Tukey's "far out" fence, 1977). A diverged
trial's loss of 1e6 otherwise flattens every other curve into one line. Every good result stays
in view, however far it lies; nothing is left out when the quartiles tie (most results equal)
or there are fewer than ``MIN_RESULTS_TO_CLIP`` finite results.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from rung.core.records import Objective

#: a score more than this many interquartile ranges above the upper quartile is left out
OUTLIER_IQRS = 3.0
#: fewer finite results than this: the axis shows them all
MIN_RESULTS_TO_CLIP = 8
#: the axis extends this share of the kept values' span beyond them on each side
PAD = 0.05


@dataclass(frozen=True)
class BulkRange:
    """The value axis's ends (``low < high`` in the objective's units, padded), how many results
    lie beyond it (``left_out``, all on the bad side), the worst value kept (``worst_kept``)
    and on which side of the axis the left-out results lie (``side``: ``"above"`` when lower
    is better, else ``"below"``)."""

    low: float
    high: float
    left_out: int
    worst_kept: float
    side: str

    def note(self) -> str:
        """What a chart says about the results it leaves out."""
        n = self.left_out
        return (f"{n:,} result{'s' if n != 1 else ''} {self.side} the axis (worse than "
                f"{self.worst_kept:.4g})")


def bulk_range(scores: Iterable[float], objective: Objective) -> BulkRange | None:
    """The axis range of the module docstring for results with these ``scores`` (lower is
    better, ``objective.value`` turns one into the metric's value; non-finite scores are
    ignored), or ``None`` when nothing is left out (the chart keeps its own range)."""
    import numpy as np

    sc = np.asarray([x for x in scores if math.isfinite(x)], dtype=float)
    if len(sc) < MIN_RESULTS_TO_CLIP:
        return None
    q1, q3 = (float(q) for q in np.percentile(sc, [25, 75]))
    # on halves: quartiles near +-1.7e308 must not overflow (a fence beyond a float is inf)
    top = q3 + OUTLIER_IQRS * 2 * (q3 / 2 - q1 / 2)
    out = int(np.count_nonzero(sc > top))
    if q3 <= q1 or not out:
        return None
    kept = sc[sc <= top]
    lo, hi = float(kept.min()), float(kept.max())
    pad = PAD * 2 * (hi / 2 - lo / 2)
    most = sys.float_info.max  # a padded end stays a float (rung.plot keeps the axis drawable)
    a, b = objective.value(max(lo - pad, -most)), objective.value(min(hi + pad, most))
    return BulkRange(min(a, b), max(a, b), out, objective.value(hi),
                     "above" if objective.mode == "min" else "below")
