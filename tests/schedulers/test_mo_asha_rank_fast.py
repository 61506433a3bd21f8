"""``RungRanking`` (MO-ASHA's per-rung ranking, kept up to date result by result) places every
result where the whole-rung order places it, on random rungs with ties, NaN and infinite
values, constraint violations and replaced results. The reference below states the order
straightforwardly (NSGA-II's sort of the feasible results, then each front's greedy
epsilon-net one distance vector at a time, then the infeasible ones by violation and trial id:
O(n^2) and more), and the positions a decision reads (a result's position, the best position
of its ranking group, the positions of the results identical to it) from that order."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rung.multiobjective import nondominated_sort
from rung.schedulers._mo_rank import RungRanking, Standing, eps_net_order, mo_rank

# +-1e308 overflow the epsilon-net's normalization to the front's range (NaN distances), as
# they do in a study: the orders must still agree
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                                        "ignore:invalid value encountered:RuntimeWarning")

VALUES = [0.0, 0.5, 1.0, 1.5, 2.0, -1.0, -0.0, math.nan, math.inf, -math.inf, 1e308, -1e308]
VIOLATIONS = [0.0, 0.0, 0.0, 0.0, 0.5, 1.0, math.inf]


def ref_eps_net(Y: np.ndarray) -> list[int]:
    n = Y.shape[0]
    if n <= 1:
        return list(range(n))
    lo, hi = Y.min(axis=0), Y.max(axis=0)
    N = (Y - lo) / np.where(hi > lo, hi - lo, 1.0)
    first = int(np.lexsort(N.T[::-1])[0])
    order = [first]
    dmin = np.linalg.norm(N - N[first], axis=1)
    dmin[first] = -1.0
    for _ in range(n - 1):
        nxt = int(np.argmax(dmin))
        order.append(nxt)
        dmin = np.minimum(dmin, np.linalg.norm(N - N[nxt], axis=1))
        dmin[order] = -1.0
    return order


def ref_rank(values: np.ndarray, violation: np.ndarray, ids: np.ndarray) -> list[int]:
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
        out.extend(int(members[i]) for i in ref_eps_net(values[members]))
    bad = np.flatnonzero(~ok)
    out.extend(int(i) for i in bad[np.lexsort((ids[bad], viol[bad]))])
    return out


def reference(values: np.ndarray, violation: np.ndarray, ids: np.ndarray, i: int) -> Standing:
    """Row ``i``'s standing read off the whole order, as the scheduler read it before."""
    n = values.shape[0]
    order = ref_rank(values, violation, ids)
    assert mo_rank(values, violation, ids) == order
    position = np.empty(n, dtype=int)
    position[order] = np.arange(n)
    same = np.all(values == values[i], axis=1) & (violation == violation[i])
    same[i] = True
    bad = np.where(np.all(np.isfinite(values), axis=1), violation, np.inf)
    group = (bad == bad[i]) if bad[i] > 0 else same
    tied = sorted(np.flatnonzero(same).tolist(), key=lambda r: ids[r])
    return Standing(n, int(position[i]), int(position[group].min()),
                    tuple(int(ids[r]) for r in tied), tuple(int(position[r]) for r in tied))


def check(ranking: RungRanking, rows: dict[int, tuple[tuple[float, ...], float]]) -> None:
    ids = np.array(list(rows))
    values = np.array([rows[t][0] for t in ids]).reshape(len(ids), -1)
    violation = np.array([rows[t][1] for t in ids])
    assert len(ranking) == len(rows)
    for i, t in enumerate(ids):
        assert ranking.standing(int(t)) == reference(values, violation, ids, i), int(t)


@st.composite
def puts(draw: st.DrawFn) -> tuple[int, list[tuple[int, tuple[float, ...], float]]]:
    """Results put in turn: trial ids, some put again with other values (a replaced result)."""
    m = draw(st.integers(1, 3))
    tids = draw(st.lists(st.integers(0, 10_000), min_size=1, max_size=12, unique=True))
    seq = []
    for t in draw(st.lists(st.sampled_from(tids), min_size=len(tids), max_size=2 * len(tids))
                  ) + tids:
        grid = draw(st.booleans())
        pool = VALUES[:5] if grid else VALUES
        vals = tuple(draw(st.sampled_from(pool)) for _ in range(m))
        seq.append((t, vals, draw(st.sampled_from(VIOLATIONS))))
    return m, seq


@pytest.mark.slow  # 300 examples, 11 s (the larger-rung test below stays in the default lane)
@settings(max_examples=300, deadline=None)
@given(puts())
def test_standing_matches_the_whole_order_with_ties_nan_inf_and_violations(
        case: tuple[int, list[tuple[int, tuple[float, ...], float]]]) -> None:
    _, seq = case
    ranking = RungRanking()
    rows: dict[int, tuple[tuple[float, ...], float]] = {}
    for t, vals, viol in seq:
        ranking.put(t, vals, viol)
        rows[t] = (vals, viol)
        check(ranking, rows)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 3), st.sampled_from([None, 0.25, 0.1]),
       st.integers(20, 120))
def test_standing_matches_on_larger_rungs(seed: int, m: int, grid: float | None,
                                          n: int) -> None:
    """Continuous or gridded values (many fronts, or many identical results), some
    infeasible, some replaced: the fronts kept result by result equal a fresh sort."""
    rng = np.random.default_rng(seed)
    ranking = RungRanking()
    rows: dict[int, tuple[tuple[float, ...], float]] = {}
    for _ in range(n):
        t = int(rng.integers(0, 2 * n)) if rng.random() < 0.15 and rows else len(rows) + n
        y = rng.random(m)
        if grid is not None:
            y = np.round(y / grid) * grid
        viol = 0.0 if rng.random() < 0.8 else float(rng.choice([0.5, 1.0, np.inf]))
        ranking.put(t, tuple(float(v) for v in y), viol)
        rows[t] = (tuple(float(v) for v in y), viol)
        ids = np.array(list(rows))  # as the scheduler asks: the new result's standing
        values = np.array([rows[int(u)][0] for u in ids])
        violation = np.array([rows[int(u)][1] for u in ids])
        i = int(np.flatnonzero(ids == t)[0])
        assert ranking.standing(t) == reference(values, violation, ids, i)
    check(ranking, rows)
    ok = [i for i, t in enumerate(rows) if rows[t][1] == 0.0]
    if ok:  # the fronts kept as results arrived are NSGA-II's
        feasible = np.array([rows[t][0] for t in rows if rows[t][1] == 0.0])
        assert ranking._front[ok].tolist() == nondominated_sort(feasible).tolist()


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 9), st.integers(1, 60),
       st.sampled_from([None, 0.5, 0.1]), st.sampled_from([0.0, 1e-300, 1e300]))
def test_eps_net_order_and_its_prefixes_match_the_row_by_row_greedy(
        seed: int, m: int, n: int, grid: float | None, scale: float) -> None:
    """The distances computed all at once are the row-by-row ones to the last bit (near
    ties included), and the prefix asked for stops where the whole order holds every row
    asked for."""
    rng = np.random.default_rng(seed)
    Y = rng.random((n, m)) * (scale or 1.0)
    if grid is not None:
        Y = np.round(Y / grid) * grid
    full = ref_eps_net(Y)
    assert eps_net_order(Y) == full
    need = rng.choice(n, size=int(rng.integers(1, n + 1)), replace=False)
    cut = max(full.index(int(i)) for i in need) + 1
    assert eps_net_order(Y, need=need) == full[:cut]
