"""A range of one value (``low == high``): Optuna's ``suggest_int(name, n, n)``; it takes no
coordinate, as a ``Fixed`` parameter."""

from __future__ import annotations

import numpy as np
import pytest

from rung import Float, Int, SearchSpace, SpaceError
from rung.space.search_space import product_size


def test_a_range_of_one_value_is_that_value_and_takes_no_coordinate() -> None:
    space = SearchSpace({"n": Int(3, 3), "lr": Float(1e-3, 1e-3, log=True),
                         "q": Float(0.5, 0.5, step=0.25), "x": Float(0.0, 1.0)})
    assert space.dims == ["x"]
    assert space.sample(np.random.default_rng(0))["n"] == 3
    assert space.validate({"x": 0.2}) == {"n": 3, "lr": 1e-3, "q": 0.5, "x": 0.2}
    assert space.from_unit([0.7]) == {"n": 3, "lr": 1e-3, "q": 0.5, "x": 0.7}
    assert space.grid(2) == [{"n": 3, "lr": 1e-3, "q": 0.5, "x": 0.0},
                             {"n": 3, "lr": 1e-3, "q": 0.5, "x": 1.0}]
    assert SearchSpace.from_json(space.to_json()) == space
    assert product_size(SearchSpace({"n": Int(3, 3), "f": Float(2.0, 2.0)})) == 1.0
    with pytest.raises(SpaceError) as e:
        space.validate({"n": 4, "x": 0.2})
    assert str(e.value) == "'n': 4 is outside [3, 3]"


def test_low_above_high_is_refused() -> None:
    with pytest.raises(SpaceError) as e:
        SearchSpace({"n": Int(3, 2)})
    assert str(e.value) == ("'n'.low: must be < high, or equal to it for a single value "
                            "(got low=3, high=2)")


def test_a_one_value_float_can_be_a_parent() -> None:
    space = SearchSpace({"f": Float(2.0, 2.0), "x": Float(0, 1, when={"f": 2.0})})
    assert space.active({"f": 2.0}) == ["f", "x"]


def test_a_range_wider_than_a_float_is_refused() -> None:
    # high - low = inf: every draw was high
    with pytest.raises(SpaceError) as e:
        SearchSpace({"x": Float(-1e308, 1e308)})
    assert str(e.value) == "'x'.high: high - low overflows a float (got low=-1e+308, high=1e+308)"
    with pytest.raises(SpaceError) as e:  # was an OverflowError at the first draw
        SearchSpace({"k": Int(0, 10**400)})
    assert str(e.value) == ("'k'.high: must be inside int64's range [-2**63, 2**63 - 1], got "
                            "an integer of 401 digits")
