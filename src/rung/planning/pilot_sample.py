"""Which pilot curves the planner fits: all of them up to ``MAX_FIT_TRIALS``, else a seeded
uniform sample of that many that always holds the pilot's best curve.

Fitting costs time in the number of curves (a least-squares fit per curve, and the step-cost
model's least squares with one column per trial, which grows faster than linearly), so a pilot
of thousands of trials would keep ``rung plan`` fitting for minutes, deaf to Ctrl-C inside a
long linear-algebra call. A uniform sample keeps the pilot's mix of configurations (good and
bad alike, as the bootstrap replicates draw them); the best curve is kept so that regret is
still measured against the pilot's best. The sample is a function of the curves and the
study's seed alone (``derive_rng(seed, "plan-fit-sample")``): the same pilot gives the same
plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rung.core.rng import derive_rng

#: the most pilot curves one plan fits (a sample of this many beyond it)
MAX_FIT_TRIALS = 1_000

Curve = tuple[Sequence[int], Sequence[float]]


def best_curve(curves: Mapping[int, Curve]) -> int:
    """The id of the curve with the lowest score at the highest step any curve reached (the
    lowest id among equals)."""
    top = max(steps[-1] for steps, _ in curves.values())
    return min((scores[-1], k) for k, (steps, scores) in curves.items() if steps[-1] == top)[1]


def sample_curves(curves: Mapping[int, Curve], seed: int,
                  limit: int | None = None) -> dict[int, Curve]:
    """``curves`` (trial id -> ascending steps and their lower-is-better scores) when there are
    at most ``limit`` (default ``MAX_FIT_TRIALS``, read at the call); else ``limit`` of them:
    the best (``best_curve``) and a uniform sample without replacement of the others, drawn
    from ``derive_rng(seed, "plan-fit-sample")``, in id order."""
    if limit is None:
        limit = MAX_FIT_TRIALS
    if len(curves) <= limit:
        return dict(curves)
    best = best_curve(curves)
    others = sorted(k for k in curves if k != best)
    rng = derive_rng(seed, "plan-fit-sample")
    chosen = rng.choice(len(others), size=limit - 1, replace=False)
    keep = sorted([best, *(others[int(i)] for i in chosen)])
    return {k: curves[k] for k in keep}


__all__ = ["MAX_FIT_TRIALS", "best_curve", "sample_curves"]
