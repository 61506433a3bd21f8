"""A grid is built in memory: one too large is refused before it is built, with the count."""

from __future__ import annotations

import pytest

import rung
from rung import Categorical, Float, Int, SearchSpace, SpaceError
from rung.space.search_space import MAX_GRID
from rung.storage import MemoryJournal


def test_a_grid_too_large_is_refused_before_it_is_built() -> None:
    # 5 ** 12 = 244 million configurations: MemoryError (or swapping) while building it
    space = SearchSpace({f"x{i}": Float(0, 1) for i in range(12)})
    with pytest.raises(SpaceError) as e:
        space.grid(5)
    assert str(e.value) == ("the grid has more than 1,000,000 points: give fewer points per "
                            "numeric parameter, or search with sobol or random")
    with pytest.raises(rung.ConfigError) as c:
        rung.Study.create("t", space, "loss", searcher="grid", storage=MemoryJournal(),
                          budget=rung.Budget(n_trials=10))
    assert str(c.value).startswith("searcher.params.points: the grid has more than 1,000,000")
    with pytest.raises(SpaceError, match="more than 1,000,000 points"):
        SearchSpace({"k": Int(0, 10**9)}).grid(10**9)  # one axis of 10**9 values


def test_the_bound_is_the_size_of_a_conditional_grid() -> None:
    # six branches of one parameter each: 6 * 5 * 5 = 150, not 5 ** 7 * 6
    space = SearchSpace({"o": Categorical(list("abcdef")), "y": Int(0, 9),
                         **{f"x{i}": Float(0, 1, when={"o": "abcdef"[i]}) for i in range(6)}})
    assert space._grid_bound({n: 5 for n in space.order}) == len(space.grid(5)) == 150
    assert MAX_GRID == 1_000_000
