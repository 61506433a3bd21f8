"""``SearchSpace.size``: the number of distinct configurations of a finite space (active
combinations only), ``None`` with a continuous parameter."""

from __future__ import annotations

from typing import Any

import pytest

from rung.space import Categorical, Fixed, Float, Int, SearchSpace
from rung.space.search_space import MAX_GRID


@pytest.mark.parametrize(("params", "size"), [
    ({"a": Int(0, 4)}, 5),
    ({"a": Int(0, 4), "b": Categorical(["x", "y"])}, 10),
    ({"o": Categorical(["a", "b"]), "m": Int(0, 9, when={"o": "a"})}, 11),
    ({"x": Float(0.0, 1.0, step=0.25), "f": Fixed(3)}, 5),
    ({"x": Float(0.0, 1.0)}, None),
    ({"a": Int(0, 9), "b": Int(0, 9), "c": Int(0, 9), "d": Int(0, 9), "e": Int(0, 9),
      "f": Int(0, 9), "g": Int(0, 9)}, MAX_GRID + 1),
])
def test_size_counts_active_configurations(params: dict[str, Any], size: int | None) -> None:
    space = SearchSpace(params)
    assert space.size() == size
    if size is not None and size <= MAX_GRID:
        assert size == len(space.grid(space.values_per_param() or 1))
