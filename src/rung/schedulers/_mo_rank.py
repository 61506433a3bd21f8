"""MO-ASHA's ranking of the results at a rung, stated whole and kept up to date.

Schmucker, Donini, Zafar, Salinas and Archambeau, "Multi-objective asynchronous successive
halving", arXiv:2106.12639, 2021: a rung's results are ordered by feasibility (feasible first,
then by total violation; a result with an objective that is not finite ranks with the
infinitely violating ones), non-dominated front (NSGA-II sorting of the lower-is-better
values; Deb, Pratap, Agarwal and Meyarivan, IEEE TEVC 2002) and, inside a front, the order of a
greedy epsilon-net (the paper's "EpsNet"); every tie left is broken by trial id, the earlier
trial first.

``mo_rank`` computes that order from scratch (``O(n^2 m)`` for ``n`` results of ``m``
objectives): it is the rule's statement. ``RungRanking`` holds one rung's results and answers
where one of them stands in that same order, without ordering the whole rung:

* a feasible result's position is the number of feasible results in the fronts before its own
  plus its place in its front's epsilon-net order, so only its front is ordered;
* the fronts are kept as results arrive: a result's front is the length of the longest chain
  of feasible results dominating it (which is what NSGA-II's sorting peels off), so a new one
  takes ``1 +`` the highest front among those dominating it, and the ones it dominates move
  down only where a chain through it is now longer (``O(n m)``, plus ``O(k d m)`` for the
  ``k`` that move among the ``d`` it dominates, where a sort costs ``O(n^2 m)``); a result
  that changes (a restart re-reported it, a trial became final and a constraint's unknown
  metric now counts) while feasible before or after sorts the feasible results again, with
  ``rung.multiobjective.nondominated_sort``;
* an infeasible or non-finite result's position is counted: the results of lower violation,
  then those of equal violation and lower trial id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rung.multiobjective import nondominated_sort

#: elements of a temporary array at most (a wave's dominance tests, the eps-net's distances)
_CHUNK = 1_000_000


def eps_net_order(Y: np.ndarray, need: np.ndarray | None = None) -> list[int]:
    """Greedy farthest-point order of the rows of ``Y`` (objectives normalized to [0, 1]):
    the row best in the first objective (then the next objectives, then the lowest index),
    then repeatedly the row farthest from those taken (ties: the lowest index). With
    ``need`` (row indices), the order's shortest prefix holding all of them."""
    n = Y.shape[0]
    if n <= 1:
        return list(range(n))
    lo, hi = Y.min(axis=0), Y.max(axis=0)
    N = (Y - lo) / np.where(hi > lo, hi - lo, 1.0)
    first = int(np.lexsort(N.T[::-1])[0])
    # the distances between rows, all at once where they fit (the same floats as row by
    # row: the same subtraction and the same reduction over the objectives)
    D = np.linalg.norm(N[:, None, :] - N[None, :, :], axis=2) if n * n * N.shape[1] <= _CHUNK \
        else None
    wanted = np.zeros(n, dtype=bool)
    wanted[np.arange(n) if need is None else need] = True
    taken = np.zeros(n, dtype=bool)
    order = [first]
    taken[first] = True
    left = int(np.count_nonzero(wanted & ~taken))
    dmin = D[first].copy() if D is not None else np.linalg.norm(N - N[first], axis=1)
    dmin[first] = -1.0
    while left:
        nxt = int(np.argmax(dmin))  # ties: lowest index (the earlier trial)
        order.append(nxt)
        taken[nxt] = True
        left -= int(wanted[nxt])
        dmin = np.minimum(dmin, D[nxt] if D is not None else np.linalg.norm(N - N[nxt], axis=1))
        dmin[taken] = -1.0
    return order


def mo_rank(values: np.ndarray, violation: np.ndarray, ids: np.ndarray) -> list[int]:
    """Row indices best first: feasibility, front, epsilon-net order inside each front (the
    rows of a front taken in trial-id order, so index ties go to the earlier trial), then the
    infeasible and non-finite rows by violation and trial id."""
    n = values.shape[0]
    finite = np.all(np.isfinite(values), axis=1)
    viol = np.where(finite, violation, np.inf)
    ok = viol == 0.0
    front = np.full(n, n + 1)
    if ok.any():
        front[ok] = nondominated_sort(values[ok])
    out: list[int] = []
    for f in sorted(set(front[ok].tolist())):
        members = np.flatnonzero(ok & (front == f))
        members = members[np.argsort(ids[members], kind="stable")]
        out.extend(int(members[i]) for i in eps_net_order(values[members]))
    bad = np.flatnonzero(~ok)
    out.extend(int(i) for i in bad[np.lexsort((ids[bad], viol[bad]))])
    return out


@dataclass(frozen=True)
class Standing:
    """Where one result stands among the ``n`` at its rung, in ``mo_rank``'s order (0-based
    positions).

    Attributes:
        n: the results at the rung.
        position: the result's position.
        shown: the best position of its ranking group: the results identical to it when
            feasible, else those of equal violation (the non-finite ones share ``inf``).
        tied_ids: the trials whose results have identical values and violation (itself
            included), in trial-id order.
        tied_positions: their positions, in the same order.
    """

    n: int
    position: int
    shown: int
    tied_ids: tuple[int, ...]
    tied_positions: tuple[int, ...]


class RungRanking:
    """One rung's results (one per trial: a trial's new result replaces its earlier one), with
    each result's position in ``mo_rank``'s order on demand (module docstring).

    ``put`` and ``standing`` cost ``O(n m)`` array work, plus the results a new one moves to a
    later front, and the epsilon-net of the asked result's front up to the last result tied
    with it (``O(f^2 m)`` for ``f`` results in that front); a changed result that is or was
    feasible costs one non-dominated sort of the feasible results at the next ``standing``."""

    def __init__(self) -> None:
        self._row: dict[int, int] = {}  # trial id -> row
        self._n = 0
        self._ids = np.empty(0, dtype=np.int64)
        self._values = np.empty((0, 0))  # lower-is-better objective values
        self._viol = np.empty(0)  # total violation (as the rung ranks it)
        self._bad = np.empty(0)  # violation, inf where a value is not finite (0: feasible)
        self._front = np.empty(0, dtype=np.int64)  # -1 where not feasible
        self._sorted = True  # _front holds every feasible row's front

    def __len__(self) -> int:
        return self._n

    def __contains__(self, trial_id: object) -> bool:
        return trial_id in self._row

    def put(self, trial_id: int, values: Sequence[float], violation: float) -> None:
        """Record (or replace) the result of ``trial_id``: its lower-is-better ``values`` and
        its total constraint ``violation``."""
        y = np.asarray(values, dtype=float)
        bad = violation if np.all(np.isfinite(y)) else np.inf
        i = self._row.get(trial_id)
        if i is None:
            i = self._append(trial_id, y.size)
        else:
            same = (self._values[i].tobytes() == y.tobytes()
                    and self._viol[i:i + 1].tobytes() == np.float64(violation).tobytes())
            if same:
                return
            if self._bad[i] == 0.0 or bad == 0.0:
                self._sorted = False
        self._values[i] = y
        self._viol[i] = violation
        self._bad[i] = bad
        self._front[i] = -1
        if bad == 0.0 and self._sorted:
            self._insert(i)

    def standing(self, trial_id: int) -> Standing:
        """Where the result of ``trial_id`` (``put`` before) stands at the rung."""
        if not self._sorted:
            self._sort()
        n, i = self._n, self._row[trial_id]
        ys, ids, bad = self._values[:n], self._ids[:n], self._bad[:n]
        same = np.all(ys == ys[i], axis=1) & (self._viol[:n] == self._viol[i])
        same[i] = True  # a non-finite row equals nothing, not even itself
        if bad[i] == 0.0:  # feasible: the fronts before its own, then its front's eps-net
            front = self._front[:n]
            f = front[i]
            before = int(np.count_nonzero((front >= 0) & (front < f)))
            members = np.flatnonzero(front == f)
            members = members[np.argsort(ids[members], kind="stable")]
            tied_at = np.flatnonzero(same[members])  # identical and feasible: this front
            order = eps_net_order(ys[members], need=tied_at)  # up to the last of them
            place = np.full(members.size, -1, dtype=np.int64)
            place[order] = np.arange(len(order))
            pos = before + place
            position = int(pos[np.flatnonzero(members == i)[0]])
            tied = members[tied_at]
            tied_pos = pos[tied_at]
            shown = int(tied_pos.min())
        else:  # after every feasible row, by violation, then trial id
            shown = int(np.count_nonzero(bad < bad[i]))
            group = np.sort(ids[bad == bad[i]])
            tied = np.flatnonzero(same)  # identical: the same violation, so in the group
            tied = tied[np.argsort(ids[tied], kind="stable")]
            tied_pos = shown + np.searchsorted(group, ids[tied])
            position = shown + int(np.searchsorted(group, ids[i]))
        return Standing(n, position, shown, tuple(int(t) for t in ids[tied]),
                        tuple(int(p) for p in tied_pos))

    def _append(self, trial_id: int, m: int) -> int:
        i = self._n
        if i == self._ids.size:  # grow by doubling: amortized O(1) per result
            cap = max(16, 2 * i)
            grown = np.empty((cap, m))
            if i:
                grown[:i] = self._values[:i]
            self._values = grown
            self._ids = np.resize(self._ids, cap)
            self._viol = np.resize(self._viol, cap)
            self._bad = np.resize(self._bad, cap)
            self._front = np.resize(self._front, cap)
        self._ids[i] = trial_id
        self._row[trial_id] = i
        self._n = i + 1
        return i

    def _sort(self) -> None:
        n = self._n
        front = self._front[:n]
        front[:] = -1
        ok = np.flatnonzero(self._bad[:n] == 0.0)
        if ok.size:
            front[ok] = nondominated_sort(self._values[ok])
        self._sorted = True

    def _insert(self, p: int) -> None:
        """Give feasible row ``p`` its front and move the feasible rows it dominates down
        where a chain through it is now longer (fronts: longest dominance chains)."""
        n = self._n
        ys, front = self._values[:n], self._front[:n]
        y = ys[p]
        ok = front >= 0  # p is not among them yet (its front is -1)
        above = ok & np.all(ys <= y, axis=1) & np.any(ys < y, axis=1)
        front[p] = int(front[above].max()) + 1 if above.any() else 0
        below = np.flatnonzero(ok & np.all(ys >= y, axis=1) & np.any(ys > y, axis=1))
        if below.size == 0:
            return
        yb, hb = ys[below], front[below].copy()
        src_y, src_h = y[None, :], front[p:p + 1].copy()
        step = max(1, _CHUNK // (below.size * max(1, ys.shape[1])))
        while src_h.size:  # a wave: rows whose front grew push the ones they dominate
            need = np.full(below.size, -1, dtype=np.int64)
            for j in range(0, src_h.size, step):
                s = src_y[j:j + step, None, :]
                dom = np.all(s <= yb[None], axis=2) & np.any(s < yb[None], axis=2)
                need = np.maximum(need, np.where(dom, src_h[j:j + step, None] + 1, -1)
                                  .max(axis=0))
            grew = need > hb
            hb[grew] = need[grew]
            src_y, src_h = yb[grew], hb[grew]
        front[below] = hb
