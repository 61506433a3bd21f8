"""``Study.pareto_front`` of studies told through ``ask`` / ``tell`` against a brute-force
front computed in the metrics' own directions: mixed ``min`` / ``max``, ties and duplicate
points (all kept), NaN results (``nan="worst"``: never on the front), constraints (only
feasible trials; none feasible: an empty front and no best trial)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import rung

MODES = ("min", "max", "min")
VALUES = st.sampled_from([0.0, 1.0, 2.0, 3.0, math.nan])  # few values: many ties


def brute_front(rows: list[tuple[float, ...]], modes: tuple[str, ...],
                feasible: list[bool]) -> set[int]:
    """Ids of the feasible rows with finite values that no other such row dominates."""
    def better_eq(a: float, b: float, mode: str) -> bool:
        return a <= b if mode == "min" else a >= b

    def strictly(a: float, b: float, mode: str) -> bool:
        return a < b if mode == "min" else a > b

    ok = [i for i, r in enumerate(rows) if feasible[i] and all(math.isfinite(v) for v in r)]
    front = set()
    for i in ok:
        dominated = any(
            all(better_eq(rows[j][k], rows[i][k], m) for k, m in enumerate(modes))
            and any(strictly(rows[j][k], rows[i][k], m) for k, m in enumerate(modes))
            for j in ok if j != i)
        if not dominated:
            front.add(i)
    return front


def study(n: int, constraints: Any = ()) -> rung.Study:
    objectives = [rung.Objective(f"m{k}", m, nan="worst") for k, m in enumerate(MODES)]
    return rung.Study.create("p", {"x": rung.Float(0.0, 1.0)}, objective=objectives,
                             constraints=constraints, searcher="random", scheduler="fifo",
                             budget=rung.Budget(n_trials=max(n, 1)), seed=0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(VALUES, VALUES, VALUES, st.sampled_from([0.5, 2.0])),
                min_size=1, max_size=14))
def test_pareto_front_equals_the_brute_force_front(rows: list[tuple[float, ...]]) -> None:
    s = study(len(rows), constraints=["lat <= 1"])
    for r in rows:
        t = s.ask()
        assert t is not None
        s.tell(t.id, "completed", {"m0": r[0], "m1": r[1], "m2": r[2], "lat": r[3]})
    feasible = [r[3] <= 1 for r in rows]
    expect = brute_front([r[:3] for r in rows], MODES, feasible)
    assert {t.id for t in s.pareto_front()} == expect
    assert [t.id for t in s.pareto_front()] == sorted(expect)  # in id order
    if not any(feasible):
        assert s.best_trial is None and s.best_value() is None and s.hypervolume() == 0.0


def test_duplicates_and_ties_are_all_on_the_front() -> None:
    s = study(5)
    for r in [(1.0, 1.0, 1.0), (1.0, 1.0, 1.0), (0.0, 0.0, 1.0), (2.0, 2.0, 2.0),
              (2.0, 0.0, 2.0)]:
        t = s.ask()
        assert t is not None
        s.tell(t.id, "completed", {"m0": r[0], "m1": r[1], "m2": r[2]})
    # (2, 0, 2) is dominated by (1, 1, 1) (m1 is maximized); the two (1, 1, 1) stay
    assert [t.id for t in s.pareto_front()] == [0, 1, 2, 3]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(VALUES, VALUES), min_size=0, max_size=12))
def test_nan_scores_are_the_worst_in_the_module_functions(rows: list[tuple[float, float]]) -> None:
    """Before: a row holding NaN compared false with everything, so it was never dominated
    (always on the front, front 0 of the sort) whatever its other values."""
    import numpy as np

    from rung.multiobjective import dominates, non_dominated, nondominated_sort

    Y = np.array(rows, dtype=float).reshape(len(rows), 2)
    inf = [tuple(math.inf if math.isnan(v) else v for v in r) for r in rows]
    everyone = [True] * len(rows)

    def front_of(ids: list[int]) -> set[int]:
        # brute_front leaves out non-finite rows: compare with +inf as a large finite value
        big = [tuple(1e9 if math.isinf(v) else v for v in inf[i]) for i in ids]
        return {ids[k] for k in brute_front(big, ("min", "min"), everyone[:len(ids)])}

    assert set(np.flatnonzero(non_dominated(Y)).tolist()) == front_of(list(range(len(rows))))
    rank, left, k = nondominated_sort(Y), list(range(len(rows))), 0
    while left:  # peel the fronts by brute force
        f = front_of(left)
        assert {i for i in range(len(rows)) if rank[i] == k} == f
        left, k = [i for i in left if i not in f], k + 1
    for i in range(len(rows)):
        for j in range(len(rows)):
            assert dominates(Y[i], Y[j]) == (
                all(a <= b for a, b in zip(inf[i], inf[j], strict=True))
                and any(a < b for a, b in zip(inf[i], inf[j], strict=True)))
