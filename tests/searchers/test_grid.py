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


def test_enqueued_configurations_neither_skip_nor_repeat_grid_points() -> None:
    """The grid proposed its index-th point, the index counting enqueued trials: with
    `{k: 0, c: x}`, `{k: 1}` and `{c: y}` enqueued, (1, y) ran three times and (0, y), (1, x)
    never. Now every point runs once: an enqueued full point is not proposed again, and a
    partial one completed from a point leaves that point to run as itself. Found by an audit."""
    s = rung.Study.create("g", {"k": rung.Int(0, 4), "c": rung.Categorical(["x", "y"])},
                          searcher="grid", scheduler="fifo", seed=0,
                          budget=rung.Budget(n_trials=20))
    for p in ({"k": 0, "c": "x"}, {"k": 1}, {"c": "y"}):
        s.enqueue(p)
    seen = []
    while (t := s.ask()) is not None:
        seen.append((t.params["k"], t.params["c"]))
        s.tell(t.id, "completed", {"loss": 0.0})
    assert sorted(seen) == sorted({(k, c) for k in range(5) for c in "xy"})
    assert seen[:3] == [(0, "x"), (1, "y"), (0, "y")]  # the partial ones completed in order


@pytest.mark.parametrize("value", ["no", 1, None])
def test_shuffle_must_be_a_bool(value: object) -> None:
    with pytest.raises(rung.ConfigError, match=r"^searcher\.params\.shuffle: "):
        rung.Study.create("g", {"k": rung.Int(0, 4)}, searcher={"name": "grid", "params": {
            "shuffle": value}}, scheduler="fifo")
