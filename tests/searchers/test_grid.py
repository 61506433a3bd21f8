"""The grid searcher's parameters: a bad ``points`` is the searcher's error, not the space's."""

from __future__ import annotations

from typing import Any

import pytest

import rung
from rung.storage import MemoryJournal


@pytest.mark.parametrize(("points", "text"), [
    (0, "searcher.params.points: grid points must be a positive integer, got 0"),
    ({"x": 0}, "searcher.params.points.x: grid points must be a positive integer, got 0"),
    ({"zz": 3}, "searcher.params.points.zz: grid points given for an unknown parameter"),
    (2.5, "searcher.params.points: expected an int or mapping, got 2.5"),
])
def test_bad_points_name_the_searcher_parameter(points: Any, text: str) -> None:
    with pytest.raises(rung.ConfigError) as e:
        rung.Study.create("t", {"x": rung.Float(0, 1)}, "loss", storage=MemoryJournal(),
                          searcher={"name": "grid", "params": {"points": points}})
    assert type(e.value) is rung.ConfigError  # not a SpaceError: the space is fine
    assert str(e.value) == text
