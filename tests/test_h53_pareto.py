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
