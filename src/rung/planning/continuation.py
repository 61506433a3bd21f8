"""Continuing a partly observed pilot curve by a longer pilot curve (the donor model).

Most trials of an early-stopping pilot stop after a step or three, and a power law fitted to
one point takes its whole shape from the population (``rung.planning.fit``): it drops smoothly
from step 1, where recorded learning curves often sit on a plateau (a classifier's error stuck
at the class prior) and then drop, at a step that differs from one configuration to the next.
Which trials an asynchronous scheduler promotes, and when, depends on that shape.

The donor model continues such a trial by a pilot trial observed further, as Chandrashekaran
and Lane (2017, "Speeding up Hyper-parameter Optimization by Extrapolation of Learning Curves
Using Previous Builds") predict a partial curve by transformed complete curves of earlier runs.
The transform here is a ratio towards the metric's floor ``f`` (the best score it can reach):
trial ``k``, observed up to step ``L``, continued by donor ``j``, scores

    y_k(s) = f + (y_k(L) - f) * (y_j(s) - f) / (y_j(L) - f)        for s > L,

i.e. an additive shift in ``log(y - f)``: it keeps the donor's plateau and drop, scaled to where
trial ``k`` stands, and never crosses the floor (a shift in ``y`` itself does: continuing a
small error rate by a large drop went negative). Values are clipped to ``[floor, ceiling]``.

A donor's own curve past its last observed step is continued the same way, by its nearest
template observed further still, and the longest-observed templates by their fitted power laws
(``full_curves``): measured shapes are used as far as any pilot trial was measured. Donors are
drawn per configuration (``pick_donor``): uniformly among the ``DONORS`` candidates (observed
past ``L``) whose curves are nearest to trial ``k``'s observed values (mean absolute difference,
ties included), a nearest-neighbour sample of how the trial may go on rather than one guess.
"""

from __future__ import annotations

import math

import numpy as np

#: how many nearest candidate donors a continuation is drawn from (more when tied)
DONORS = 3
_TINY = 1e-12


def score_bounds(values: np.ndarray, mode: str) -> tuple[float, float]:
    """``(floor, ceiling)`` in score units (lower is better) of a metric whose pilot values
    (in the metric's own direction) are ``values`` (finite, at least one).

    The metric's range is inferred from what it took: all values in ``[0, 1]`` (an error rate,
    an accuracy), ``[0, 1]``; all ``>= 0`` (a loss), ``[0, inf)``; all ``<= 0``, ``(-inf, 0]``;
    an unbounded side otherwise lies one observed span beyond the observed extreme, and so does
    an infinite floor (a continuation needs a finite one). ``mode`` is ``"min"`` or ``"max"``.
    """
    v = np.asarray(values, dtype=float)
    lo, hi = float(v.min()), float(v.max())
    span = max(hi - lo, 1e-9 * max(abs(lo), abs(hi), 1.0))
    if lo >= 0.0 and hi <= 1.0:
        r_lo, r_hi = 0.0, 1.0
    elif lo >= 0.0:
        r_lo, r_hi = 0.0, math.inf
    elif hi <= 0.0:
        r_lo, r_hi = -math.inf, 0.0
    else:
        r_lo, r_hi = lo - span, hi + span
    floor, ceiling = (r_lo, r_hi) if mode == "min" else (-r_hi, -r_lo)
    if not math.isfinite(floor):
        best = lo if mode == "min" else -hi
        floor = best - span
    return floor, ceiling


def continue_from(
    head: np.ndarray, last: int, donor: np.ndarray, floor: float, ceiling: float
) -> np.ndarray:
    """The module docstring's continuation: ``head[:last]`` (steps ``1..last``) kept, steps
    ``last + 1..`` from ``donor`` (a full curve of the same length) by the ratio towards
    ``floor``; clipped to ``[floor, ceiling]``. A donor at its floor at step ``last`` gives a
    flat continuation."""
    out = np.array(head, dtype=float)
    if last >= len(out):
        return np.asarray(np.clip(out, floor, ceiling))
    base = float(donor[last - 1]) - floor
    ratio = (np.maximum(donor[last:], floor) - floor) / base if base > _TINY else 1.0
    out[last:] = floor + (out[last - 1] - floor) * ratio
    return np.asarray(np.clip(out, floor, ceiling))


def full_curves(
    observed: np.ndarray, fitted: np.ndarray, floor: float, ceiling: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each template's whole curve and its last observed step.

    Args:
        observed: ``(K, S)`` measured scores, NaN where a step was not measured.
        fitted: ``(K, S)`` fitted power laws (``rung.planning.fit``).
        floor, ceiling: ``score_bounds``.

    Returns:
        ``(curves, last)``: ``curves[k]`` is the measured scores up to ``last[k]`` (gaps
        linearly interpolated, steps before the first measured one at its value), continued
        (``continue_from``) by the whole curve of the template observed further whose curve
        is nearest to ``k``'s measured scores (the first on a tie), built the same way first,
        so measured shapes are used as far as any template was measured; by the template's
        own fitted power law when none was observed further. A template with no measured step
        is its fitted curve (``last = 0``).
    """
    k_n, s_n = observed.shape
    curves = np.array(fitted, dtype=float)
    heads = np.array(fitted, dtype=float)
    last = np.zeros(k_n, dtype=int)
    steps = np.arange(1, s_n + 1)
    for k in range(k_n):
        seen = np.flatnonzero(np.isfinite(observed[k]))
        if len(seen):
            last[k] = int(seen[-1]) + 1
            heads[k, : last[k]] = np.interp(steps[: last[k]], steps[seen], observed[k, seen])
    for k in np.argsort(-last, kind="stable"):  # the longest first: they are the donors
        if last[k] == 0:
            continue
        cand = np.flatnonzero(last > last[k])
        donor = fitted[k]
        if len(cand):
            donor = curves[cand[int(np.argmin(_distance(k, cand, curves, observed)))]]
        curves[k] = continue_from(heads[k], int(last[k]), donor, floor, ceiling)
    return curves, last


def _distance(k: int, cand: np.ndarray, curves: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Mean absolute difference between each candidate's curve and ``k``'s measured scores."""
    seen = np.isfinite(observed[k])
    if not seen.any():
        return np.zeros(len(cand))
    return np.asarray(np.abs(curves[cand][:, seen] - observed[k, seen]).mean(axis=1))


def pick_donor(
    k: int, curves: np.ndarray, last: np.ndarray, observed: np.ndarray, u: float
) -> int:
    """The donor of template ``k`` for a configuration with uniform draw ``u`` in ``[0, 1)``
    (module docstring): among the templates observed past ``last[k]``, the ``DONORS`` whose
    ``curves`` are nearest to ``k``'s measured scores (every one tied with the last of them
    included), one chosen by ``u``; ``k`` itself when no template was observed further."""
    cand = np.flatnonzero(last > last[k])
    if len(cand) == 0:
        return k
    dist = _distance(k, cand, curves, observed)
    order = np.argsort(dist, kind="stable")
    cut = float(dist[order[min(DONORS, len(cand)) - 1]])
    near = cand[dist <= cut + 1e-12]
    return int(near[min(int(u * len(near)), len(near) - 1)])
