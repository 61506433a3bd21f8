"""A ``Float`` step that makes more grid points than an int64 holds is refused when the space
is made, naming ``<name>.step``, as an ``Int`` spanning more than an int64 holds is; a fine
step below the limit works with every searcher."""

from __future__ import annotations

import pytest

import rung
from rung.errors import SpaceError

SEARCHERS = ["random", "sobol", "grid", "tpe", "gp", "bohb"]


@pytest.mark.parametrize(("low", "high", "step", "shown"), [
    (0.0, 1.0, 1e-300, "1e-300"),
    (0.0, 1.0, 1e-19, "1e-19"),
    (-1e307, 1e307, 1e-300, "1e-300"),  # the quotient overflows to inf
])
def test_too_fine_a_step_is_refused_naming_it(low: float, high: float, step: float,
                                              shown: str) -> None:
    with pytest.raises(SpaceError) as e:
        rung.SearchSpace({"a": rung.Float(low, high, step=step)})
    assert str(e.value) == (f"'a'.step: {shown} makes more grid points than an int64 holds "
                            "(2**63 - 1): give a larger step, or none (continuous)")


@pytest.mark.parametrize("searcher", SEARCHERS)
def test_refused_at_create_for_every_searcher(searcher: str) -> None:
    with pytest.raises(SpaceError, match=r"^'a'\.step: "):
        rung.Study.create("s", {"a": rung.Float(0, 1, step=1e-300)}, "loss",
                          searcher=searcher, scheduler="fifo", max_step=1)


@pytest.mark.parametrize("searcher", SEARCHERS)
def test_a_fine_step_below_the_limit_works(searcher: str) -> None:
    st = rung.Study.create("s", {"a": rung.Float(0, 1, step=1e-18)}, "loss",
                           searcher=searcher, scheduler="fifo", max_step=1,
                           budget=rung.Budget(n_trials=4), seed=0)
    while (t := st.ask()) is not None:
        assert 0.0 <= t.params["a"] <= 1.0
        st.tell(t.id, "completed", {"loss": t.params["a"]})
    assert st.best_trial is not None
