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
    assert {p["trial_id"]: p["feasible"] for p in d["points"]} == want
    assert all(want[t] for t in d["front"])


def test_trials_without_a_final_result_are_drawn_apart_and_labelled() -> None:
    """A trial stopped at step 1 is drawn at its step-1 value, which may look better than the
    front judged at max_step. Before: the same grey 'trials' points as the final ones,
    visibly dominating the red front, under a title that counted them as judged."""
    pytest.importorskip("matplotlib")
    import numpy as np

    from rung import plot as P

    s = rung.Study.create("lo", {"x": rung.Float(0, 1)},
                          objective=[rung.Objective("loss", "min"), rung.Objective("acc", "max")],
                          searcher="random", scheduler="fifo", max_step=3,
                          budget=rung.Budget(n_trials=6), seed=0)
    for i in range(6):
        t = s.ask()
        assert t is not None
        if i % 2:  # stopped at step 1, with a value that beats every final one
            s.report(t.id, 1, {"loss": 0.01 * i, "acc": 0.99})
            s.tell(t.id, "stopped")
        else:
            s.report(t.id, 1, {"loss": 2.0, "acc": 0.1})
            s.tell(t.id, "completed", {"loss": (10 - i) / 10, "acc": (2 + i) / 10}, step=3)
    ax = P.pareto_front(s).axes[0]
    by = {a.get_gid(): sorted(map(tuple, np.round(np.asarray(a.get_offsets()), 6).tolist()))
          for a in ax.collections}
    assert by["trials"] == [(0.6, 0.6), (0.8, 0.4), (1.0, 0.2)]
    assert by["other-trials"] == [(0.01, 0.99), (0.03, 0.99), (0.05, 0.99)]
    assert by["front"] == [(0.6, 0.6)]
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == [
        "trials with a final result",
        "other trials (value at their last step; not judged for the front)", "Pareto front"]
    assert ax.get_title().replace("\n", " ") == (
        "lo: Pareto front (1 of 6 trials; 3 drawn at their last step, not judged)")
