"""History's per-step tables: merged lazily, but every read sees every result (property)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from rung import Float, Objective, SearchSpace
from rung.core.history import History
from rung.core.records import Result

SPACE = SearchSpace({"x": Float(0.0, 1.0)})

# (trial, step, score, read-after?) ; a repeated (trial, step) is a restart replacing the result
OPS = st.lists(
    st.tuples(st.integers(0, 7), st.integers(1, 3), st.integers(0, 20), st.booleans()),
    max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(OPS)
def test_reads_match_a_recomputed_reference(ops: list[tuple[int, int, int, bool]]) -> None:
    h = History(SPACE, Objective("loss"), max_step=3)
    for tid in range(8):
        h._create(tid, {"x": 0.5}, None, {}, suggested=True)
    ref: dict[int, dict[int, float]] = {}  # step -> trial -> latest score
    for tid, step, score, read in ops:
        h._add_result(tid, Result(step, {"loss": float(score)}, 0.0), 1)
        ref.setdefault(step, {})[tid] = float(score)
        if read:
            for s, by_trial in ref.items():
                expected = sorted((v, t) for t, v in by_trial.items())
                assert h.n_at_step(s) == len(expected)
                assert list(h.at_step(s)) == expected
                assert h.rank_at(s, 10.0) == sum(1 for v, _ in expected if v < 10.0)
                assert h.quantile_at(s, 0.5) == expected[math.floor(0.5 * (len(expected) - 1))][0]
    for s, by_trial in ref.items():
        assert list(h.at_step(s)) == sorted((v, t) for t, v in by_trial.items())
    if ref:
        top = max(ref)
        _, best_tid = min((v, t) for t, v in ref[top].items())
        assert h.best_trial_id() == best_tid
