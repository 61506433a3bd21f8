"""Axis limits matplotlib can draw ticks for, whatever the values: ``finite_axes`` keeps every
linear axis of a figure inside ``±AXIS_LIMIT`` and says on the axes (gid ``clipped``) when
values lie beyond; ``unit_interval`` scales values to ``[0, 1]`` without overflow.

matplotlib computes tick positions with the axis's span and its ends: limits beyond about
``±4.5e307`` (a span near the float maximum, ``1.8e308``) overflow there (``arange: cannot
compute length`` when the figure is saved), and autoscaling values near ``±1.7e308`` pads the
limits to infinity. Results that large are rare (a diverged loss), and never the ones a figure
is read for, so they are left off the axis and counted, as ``rung.bulk_range`` leaves far
outliers out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: an axis's ends stay within this magnitude (2**1020, about 1.1e307): its span and padding
#: stay far below what overflows matplotlib's tick computations
AXIS_LIMIT = 2.0**1020
_PAD = 0.05


def finite_axes(fig: Figure) -> Figure:
    """Keep the limits of every linear axis of ``fig`` finite and within ``±AXIS_LIMIT``
    (``_fit``); returns ``fig``. Axes whose limits are already so are left as they are."""
    for ax in fig.axes:
        for which in ("x", "y"):
            _fit(ax, which)
    return fig


def _fit(ax: Axes, which: str) -> None:
    if (ax.get_xscale() if which == "x" else ax.get_yscale()) != "linear":
        return
    import numpy as np

    with np.errstate(over="ignore", invalid="ignore"):  # autoscaling values near 1.7e308
        lo, hi = ax.get_xlim() if which == "x" else ax.get_ylim()
    if _drawable(lo) and _drawable(hi):
        return
    data = ax.dataLim.intervalx if which == "x" else ax.dataLim.intervaly
    dlo, dhi = float(min(data)), float(max(data))
    if not (math.isfinite(dlo) and math.isfinite(dhi)):
        dlo, dhi = -AXIS_LIMIT, AXIS_LIMIT
    clipped = dlo < -AXIS_LIMIT or dhi > AXIS_LIMIT
    lo, hi = _clamp(dlo), _clamp(dhi)
    pad = (hi / 2 - lo / 2) * 2 * _PAD or max(abs(lo), 1.0) * _PAD
    lo, hi = lo - pad, hi + pad
    if which == "x":
        ax.set_xlim(lo, hi)
    else:
        ax.set_ylim(lo, hi)
    if clipped:
        ax.text(0.01, 0.98 if which == "y" else 0.08, f"values beyond ±{AXIS_LIMIT:.3g} are "
                f"off the {which} axis", transform=ax.transAxes, ha="left", va="top",
                fontsize="x-small", color="#555555", gid="clipped")


def _drawable(x: float) -> bool:
    return math.isfinite(x) and abs(x) <= AXIS_LIMIT * (1 + 2 * _PAD)


def _clamp(x: float) -> float:
    return min(max(x, -AXIS_LIMIT), AXIS_LIMIT)


def unit_interval(values: Sequence[float], lo: float, hi: float) -> list[float]:
    """Each of ``values`` (finite, within ``[lo, hi]``) as its position in ``[0, 1]`` between
    ``lo`` and ``hi`` (all ``0.0`` when ``hi == lo``), computed on halves so that a span
    beyond the float maximum (``-1.7e308`` to ``1.7e308``) does not overflow."""
    span = hi / 2 - lo / 2
    if span <= 0:
        return [0.0 for _ in values]
    return [min(max((v / 2 - lo / 2) / span, 0.0), 1.0) for v in values]


__all__ = ["AXIS_LIMIT", "finite_axes", "unit_interval"]
