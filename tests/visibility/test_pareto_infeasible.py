"""The Pareto-front figure and the dashboard's Pareto page tell infeasible trials apart: a
trial that beats the front on both objectives but breaks a constraint is not on it, and the
picture says why instead of looking like a wrong front."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung


def _study(storage: object) -> rung.Study:
    s = rung.Study.create("mo", {"x": rung.Float(0, 1)},
                          objective=[rung.Objective("acc", "max"), rung.Objective("ms", "min")],
                          constraints=["mem <= 100"], searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=12), seed=0, storage=storage)
    while (t := s.ask()) is not None:
        x = t.params["x"]
        # the trials with x > 0.5 are best on both objectives and all infeasible
        s.tell(t.id, "completed", {"acc": x, "ms": 100 - 50 * x, "mem": 200 * x})
    return s


def test_the_figure_marks_infeasible_trials() -> None:
    pytest.importorskip("matplotlib")
    from rung import plot as P

    s = _study(None)
    bad = sorted((t.metrics["acc"], t.metrics["ms"]) for t in s.trials()
                 if t.metrics["mem"] > 100)
    good = sorted((t.metrics["acc"], t.metrics["ms"]) for t in s.trials()
                  if t.metrics["mem"] <= 100)
    assert bad and good
    ax = P.pareto_front(s).axes[0]
    by = {a.get_gid(): sorted(map(tuple, a.get_offsets().tolist())) for a in ax.collections}
    assert by["infeasible"] == bad
    assert by["trials"] == good
    assert "infeasible (a constraint is not met)" in [t.get_text() for t in
                                                      ax.get_legend().get_texts()]


def test_the_dashboard_flags_infeasible_points(tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from rung.dashboard import create_app

    s = _study(tmp_path / "m.db")
    want = {t.id: t.metrics["mem"] <= 100 for t in s.trials()}
    s.close()
    d = TestClient(create_app(tmp_path / "m.db")).get("/api/study/mo/pareto").json()
    assert {p["id"]: p["feasible"] for p in d["points"]} == want
    assert all(want[t] for t in d["front"])
