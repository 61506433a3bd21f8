"""What the model-based searchers do about trials that are still running (*pending*).

With parallel workers a searcher is asked for a new configuration while others it proposed are
still being evaluated. The ``gp`` and ``tpe`` searchers model pending trials in their own way
(joint fantasies and local penalization in ``gp``, constant liars in ``tpe``); this module holds
the rules they share, which apply to pending trials only, so a sequential study (nothing pending
at a suggestion) gets exactly the suggestions it got without them:

1. *No repeated pending configuration.* A candidate whose configuration (its snapped unit
   encoding) equals a pending trial's is never proposed while another candidate is available:
   in a small discrete space a model's favourite integer would otherwise be proposed to every
   free worker at once (``tpe`` on one ``Int(0, 20)`` with 8 workers did so in 39 of 67
   suggestions). ``first_free`` picks the best free candidate, ``free_point`` searches for one
   when every candidate was taken.
2. *A spread radius for large batches.* Past ``LARGE_BATCH`` pending trials the candidates must
   also keep a distance ``spread_radius(p, d)`` from every pending point (in the unit cube),
   the hard-ball form of local penalization (González, Dai, Hennig and Lawrence, "Batch Bayesian
   optimization via local penalization", AISTATS 2016), whose penalizer excludes a ball around
   each pending point. The radius is the one at which ``p`` balls cover ``COVER`` of the cube's
   volume, so a batch of hundreds of suggestions still spreads over the promising regions
   instead of piling onto the few best observations, while batches up to ``LARGE_BATCH`` (8 or
   16 workers, where refining the incumbent matters most) are left to the models. A searcher
   draws more candidates before it gives the radius up (rule 1 alone), which happens only when
   a discrete space has no free configuration that far from the pending ones.
3. *A least separation* (opt-in, ``PendingSet(floor=...)``; ``tpe`` does not use it). A
   searcher may keep every suggestion at least ``floor`` from each pending point whatever the
   batch size, a guard against near-duplicates where its own model of the pending trials cannot
   tell a point from one beside it (``gp``: ``rung.searchers._batch.separation``). The
   fallback is rule 2's: a candidate that far while one is found, else rule 1 alone.

Everything here is a pure function of its arguments; randomness comes from the ``rng`` given.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from rung.core.components import SuggestRequest
    from rung.searchers._common import Dims, FiniteConfigs, SobolDesign, UnitCache
    from rung.space import SearchSpace

#: Pending trials beyond which the spread radius applies.
LARGE_BATCH = 32
#: Share of the unit cube that the balls of all pending points cover together.
COVER = 0.05


def config_key(u: np.ndarray) -> bytes:
    """A hashable key of one unit-encoded configuration (NaN, an inactive dimension, is -1;
    rounded to 9 digits and -0.0 made 0.0, so snapped encodings of equal params agree)."""
    return bytes((np.round(np.nan_to_num(np.asarray(u, dtype=float), nan=-1.0), 9) + 0.0)
                 .tobytes())


def row_keys(U: np.ndarray) -> list[bytes]:
    """``config_key`` of each row of ``U``, in order (one vectorized rounding for all rows)."""
    A = np.asarray(U, dtype=float)
    if A.ndim != 2:
        return [config_key(u) for u in A]
    R = np.ascontiguousarray(np.round(np.nan_to_num(A, nan=-1.0), 9) + 0.0)
    return [r.tobytes() for r in R]


def keys_of(U: np.ndarray) -> set[bytes]:
    """The keys of the rows of ``U``."""
    return set(row_keys(U))


def unit_ball_volume(d: int) -> float:
    """Volume of the unit ball in ``d`` dimensions, ``pi^(d/2) / Gamma(d/2 + 1)``."""
    return math.exp(0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d + 1.0))


def spread_radius(n_pending: int, d: int) -> float:
    """The least distance a suggestion keeps from each of ``n_pending`` pending points in a
    ``d``-dimensional unit cube: 0 up to ``LARGE_BATCH`` pending points, else the radius at
    which that many balls have a total volume of ``COVER``."""
    if n_pending <= LARGE_BATCH or d <= 0:
        return 0.0
    return float((COVER / (n_pending * unit_ball_volume(d))) ** (1.0 / d))


def min_distance(C: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Euclidean distance from each row of ``C`` to the nearest row of ``P`` in the unit cube
    (inactive coordinates, NaN, count as -0.5: outside the cube, as in the GP's features);
    ``inf`` when ``P`` is empty."""
    if P.shape[0] == 0:
        return np.full(C.shape[0], np.inf)
    a = np.nan_to_num(C, nan=-0.5)
    b = np.nan_to_num(P, nan=-0.5)
    out = np.empty(C.shape[0])
    step = max(1, 2_000_000 // max(1, b.shape[0] * max(1, a.shape[1])))
    for i in range(0, a.shape[0], step):
        diff = a[i:i + step, None, :] - b[None, :, :]
        out[i:i + step] = np.sqrt(np.min(np.sum(diff * diff, axis=2), axis=1))
    return out


def local_scale(X: np.ndarray) -> float | None:
    """The median distance from each row of ``X`` (the best observations) to its nearest other
    row, or ``None`` for fewer than 2 rows: how finely the search already resolves its best
    region. ``tpe`` caps the spread radius by it, so that once its best observations lie
    closer together than the radius (late in a run, in few dimensions) a batch may still
    refine among them (Branin, 64 workers: without the cap, regret at 320 trials was worse in
    all 7 of the seeds that changed; ``docs/algorithm-notes.md``)."""
    if X.shape[0] < 2:
        return None
    a = np.nan_to_num(X, nan=-0.5)
    D = np.sqrt(np.sum((a[:, None, :] - a[None, :, :]) ** 2, axis=2))
    np.fill_diagonal(D, np.inf)
    return float(np.median(D.min(axis=1)))


class PendingSet:
    """The pending trials of one suggestion, as seen by the rules above.

    Args:
        P: ``(p, d)`` unit encodings of the pending trials.
        taken: keys of further configurations never to propose (e.g. every trial's); the
            pending trials' keys are added (to a copy: ``taken`` is never changed).
        cap: an upper bound of the spread radius (``tpe``: ``local_scale`` of its "below"
            group), or ``None``.
        floor: a least radius while anything is pending (rule 3; ``gp``: ``_batch.separation``),
            applied after ``cap``; 0 (the default) leaves the radius as rule 2 sets it.
    """

    def __init__(
        self, P: np.ndarray, taken: Iterable[bytes] = (), cap: float | None = None,
        floor: float = 0.0,
    ) -> None:
        self.P = P
        own = keys_of(P)
        # a set that already holds the pending keys (``UnitCache.tried``) is shared, not
        # copied: a suggestion stays O(pending) however many trials the study has
        self.taken = taken if isinstance(taken, set | frozenset) and own <= taken \
            else set(taken) | own
        self.radius = spread_radius(P.shape[0], P.shape[1] if P.ndim == 2 else 0)
        if cap is not None:
            self.radius = min(self.radius, cap)
        if P.shape[0] and P.ndim == 2 and P.shape[1]:
            self.radius = max(self.radius, floor)

    def free(self, C: np.ndarray, spread: bool = True) -> np.ndarray:
        """Mask of the rows of ``C`` that may be proposed: not taken and, with ``spread``,
        at least ``radius`` from every pending point."""
        ok = np.array([k not in self.taken for k in row_keys(C)], dtype=bool)
        if spread and self.radius > 0.0 and ok.any():
            ok &= self.spread(C)
        return ok

    def spread(self, C: np.ndarray) -> np.ndarray:
        """Mask of the rows of ``C`` at least ``radius`` from every pending point (all rows
        when the radius is 0)."""
        if self.radius == 0.0:
            return np.ones(C.shape[0], dtype=bool)
        return np.asarray(min_distance(C, self.P) >= self.radius)

    def first_free(self, C: np.ndarray, order: Iterable[int], spread: bool = True) -> int | None:
        """The first index in ``order`` (best first) of a row of ``C`` that may be proposed
        (``free``), or ``None``."""
        idx = list(order)
        if not idx:
            return None
        ok = self.free(C[idx], spread)
        return idx[int(np.argmax(ok))] if ok.any() else None

    def free_point(
        self, draw: Callable[[int], np.ndarray], n: int, rounds: int = 4, spread: bool = True
    ) -> np.ndarray | None:
        """The first row that may be proposed (``free``) of up to ``rounds`` calls of
        ``draw(n)`` (snapped candidate rows, best first or in random order); ``None`` if there
        was none."""
        for _ in range(rounds):
            C = draw(n)
            i = self.first_free(C, range(C.shape[0]), spread)
            if i is not None:
                return np.asarray(C[i])
        return None

def design_point(
    point: Callable[[int], np.ndarray],
    snap_rows: Callable[[np.ndarray], np.ndarray],
    index: int,
    pend: PendingSet | None,
    lookahead: int = 64,
) -> np.ndarray:
    """The initial design's point for suggestion ``index`` (``point(i)``: the ``i``-th point of
    the study's Sobol' sequence), or, when its configuration is pending, the first of the next
    ``lookahead`` points that is not (rule 1; the spread radius does not apply to a design,
    which is space-filling already). Without pending trials: ``point(index)``, as before."""
    u = point(index)
    if pend is None or not pend.taken or pend.free(snap_rows(u[None, :]), spread=False)[0]:
        return u
    U = snap_rows(np.array([point(index + k) for k in range(1, lookahead + 1)]))
    ok = pend.free(U, spread=False)
    return point(index + 1 + int(np.argmax(ok))) if ok.any() else u


def initial_suggestion(space: SearchSpace, dims: Dims, design: SobolDesign, units: UnitCache,
                       request: SuggestRequest, tried: set[bytes] | None = None,
                       finite: FiniteConfigs | None = None) -> dict[str, Any]:
    """A model-based searcher's initial design: the ``request.index``-th point of the study's
    Sobol' sequence, or the next one whose configuration is not pending (``design_point``).

    ``tried`` (the keys of every trial's configuration, ``UnitCache.tried``): the next point
    whose configuration no trial has, else a uniform draw that none has, else (``finite``: the
    space's configurations) a uniform pick among those no trial has, else (every configuration
    was tried) the next point that is not pending."""
    from rung.searchers._common import decode, snap

    h = request.history
    ids = sorted(h.pending())

    def snap_rows(U: np.ndarray) -> np.ndarray:
        return np.asarray(snap(space, dims, U))

    if tried and dims.d:
        avoid = PendingSet(units.get(h, ids), tried)
        u = design_point(design.point, snap_rows, request.index, avoid)
        if config_key(snap_rows(u[None, :])[0]) not in avoid.taken:
            return decode(space, u)
        free = avoid.free_point(lambda k: snap_rows(request.rng.random((k, dims.d))), 64,
                               spread=False)
        if free is not None:
            return decode(space, free)
        untried = finite.untried(tried, request.rng) if finite is not None else None
        if untried is not None:
            return untried
        # every configuration was tried: only the pending ones are avoided, as in any space
    pend = PendingSet(units.get(h, ids)) if ids and dims.d else None
    return decode(space, design_point(design.point, snap_rows, request.index, pend))
