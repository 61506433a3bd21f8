"""The value axis of a figure fitted to the bulk of the results, far outliers on the bad side
left out and counted (``fit_bulk``)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from rung.core.history import History

#: a result more than this many interquartile ranges past the worse quartile is an outlier the
#: value axes of ``optimization_history`` and ``learning_curves`` leave out (``fit_bulk``)
OUTLIER_IQRS = 3.0
#: fewer finite results than this: the axis shows them all
MIN_RESULTS_TO_CLIP = 8


def fit_bulk(ax: Axes, h: History, scores: list[float]) -> int:
    """Fit the value axis to the results that are not far outliers on the objective's *bad*
    side: a score (lower is better) above the upper quartile by more than ``OUTLIER_IQRS``
    interquartile ranges. A diverged trial's loss of 1e6 otherwise flattens every other curve
    into one line. Every good result stays in view, however far it lies; nothing is clipped
    when the quartiles tie (most results equal) or there are fewer than
    ``MIN_RESULTS_TO_CLIP``. The axes say how many results they leave out and past which
    value (gid ``outliers``); returns that count (0: the axis is matplotlib's own)."""
    import numpy as np

    sc = np.asarray([x for x in scores if math.isfinite(x)], dtype=float)
    if len(sc) < MIN_RESULTS_TO_CLIP:
        return 0
    q1, q3 = np.percentile(sc, [25, 75])
    top = q3 + OUTLIER_IQRS * (q3 - q1)
    out = int(np.count_nonzero(sc > top))
    if q3 <= q1 or not out:
        return 0
    kept = sc[sc <= top]
    lo, hi = float(kept.min()), float(kept.max())
    pad = 0.05 * (hi - lo)
    a, b = h.objective.value(lo - pad), h.objective.value(hi + pad)
    ax.set_ylim(min(a, b), max(a, b))
    worse = "above" if h.objective.mode == "min" else "below"
    ax.text(0.99, 0.98 if worse == "above" else 0.02,
            f"{out} result{'s' if out != 1 else ''} {worse} the axis (worse than "
            f"{h.objective.value(hi):.4g})", transform=ax.transAxes, ha="right",
            va="top" if worse == "above" else "bottom", fontsize="x-small", color="#555555",
            gid="outliers")
    return out
