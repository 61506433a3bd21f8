"""The line joining a Pareto front of two objectives bounds what the front attains: between
two neighbours its corner takes the worse of each of their values, whatever each objective's
direction (a corner taking the better ones would claim a configuration that beats both). The
figure (``rung plot --kind pareto``) and the dashboard's Pareto page draw that line."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.analysis_frames import front_staircase

A, B, C = (1.0, 10.0), (2.0, 20.0), (3.0, 30.0)  # a front when x is max and y min


@pytest.mark.parametrize(("modes", "points", "want"), [
    (("max", "min"), [C, A, B],
     ([1.0, 1.0, 2.0, 2.0, 3.0], [10.0, 20.0, 20.0, 30.0, 30.0])),
    (("min", "max"), [A, B, C],
     ([1.0, 2.0, 2.0, 3.0, 3.0], [10.0, 10.0, 20.0, 20.0, 30.0])),
    (("min", "min"), [(1.0, 30.0), (2.0, 20.0), (3.0, 10.0)],
     ([1.0, 2.0, 2.0, 3.0, 3.0], [30.0, 30.0, 20.0, 20.0, 10.0])),
    (("max", "max"), [(1.0, 30.0), (2.0, 20.0), (3.0, 10.0)],
     ([1.0, 1.0, 2.0, 2.0, 3.0], [30.0, 20.0, 20.0, 10.0, 10.0])),
    (("max", "min"), [A], ([1.0], [10.0])),
    (("max", "min"), [], ([], [])),
])
def test_corners_take_the_worse_values(modes: tuple[str, str],
                                       points: list[tuple[float, float]],
                                       want: tuple[list[float], list[float]]) -> None:
    assert front_staircase(points, modes) == want


def _mixed(storage: object = None) -> rung.Study:
    s = rung.Study.create("mo", {"x": rung.Float(0, 1)},
                          objective=[rung.Objective("accuracy", "max"),
                                     rung.Objective("latency", "min")],
                          searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=30), seed=0, storage=storage)
    while (t := s.ask()) is not None:
        x = t.params["x"]
        s.tell(t.id, "completed", {"accuracy": x, "latency": 10 + 50 * x ** 2})
    return s


def _front(s: rung.Study) -> list[tuple[float, float]]:
    return sorted((t.metrics["accuracy"], t.metrics["latency"]) for t in s.pareto_front())


def _assert_bounds_from_the_dominated_side(xs: list[float], ys: list[float],
                                           front: list[tuple[float, float]]) -> None:
    """Every corner of the line is attained by some front point: no point of the front is
    worse than it on both (max accuracy, min latency)."""
    assert len(front) >= 3
    assert (xs[0], ys[0]) == front[0] and (xs[-1], ys[-1]) == front[-1]
    for x, y in zip(xs, ys, strict=True):
        assert any(fx >= x and fy <= y for fx, fy in front), (x, y)


def test_the_figure_draws_the_attained_bound() -> None:
    pytest.importorskip("matplotlib")
    from rung import plot as P

    s = _mixed()
    ax = P.pareto_front(s).axes[0]
    (line,) = [a for a in ax.lines if a.get_gid() == "front-line"]
    assert line.get_drawstyle() == "default"  # drawn through its points, corners included
    xs, ys = (list(map(float, v)) for v in line.get_data())
    assert (xs, ys) == front_staircase(_front(s), ("max", "min"))
    _assert_bounds_from_the_dominated_side(xs, ys, _front(s))


def test_the_dashboard_sends_the_attained_bound(tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from rung.dashboard import create_app

    s = _mixed(tmp_path / "m.db")
    front = _front(s)
    s.close()
    d = TestClient(create_app(tmp_path / "m.db")).get("/api/study/mo/pareto").json()
    assert (d["line"]["x"], d["line"]["y"]) == front_staircase(front, ("max", "min"))
    _assert_bounds_from_the_dominated_side(d["line"]["x"], d["line"]["y"], front)
