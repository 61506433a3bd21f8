"""A figure's value axis fitted to the bulk of the results (``rung.bulk_range``), the results
it leaves out counted on the axes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rung.bulk_range import bulk_range

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from rung.core.history import History


def fit_bulk(ax: Axes, h: History, scores: list[float]) -> int:
    """Set ``ax``'s value axis to ``bulk_range`` of ``scores`` and say on the axes (gid
    ``outliers``) how many results it leaves out and past which value; returns that count (0:
    nothing left out, the axis is matplotlib's own)."""
    r = bulk_range(scores, h.objective)
    if r is None:
        return 0
    ax.set_ylim(r.low, r.high)
    above = r.side == "above"
    ax.text(0.99, 0.98 if above else 0.02, r.note(), transform=ax.transAxes, ha="right",
            va="top" if above else "bottom", fontsize="x-small", color="#555555",
            gid="outliers")
    return r.left_out


def note_not_finite(ax: Axes, n: int, what: str) -> None:
    """Say on the axes (gid ``not-finite``) that ``n`` of its ``what`` (``"trials'
    values"``, ``"results"``) are NaN, infinite or missing and not drawn (nothing when 0)."""
    if n:
        ax.text(0.01, 0.02, f"{n} {what} not drawn (NaN, infinite or missing)",
                transform=ax.transAxes, ha="left", va="bottom", fontsize="x-small",
                color="#555555", gid="not-finite")
