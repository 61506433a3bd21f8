"""``best_trial`` is never a trial without a value (``Objective(nan="worst")``: a NaN final
result scores ``inf``): a trial with a value is the best even when it stopped early, and
when no trial has one there is no best trial. ``rung show``, ``rung ls``, the dashboard and
``Study.best_trial`` name the same trial (``History.best_trial_id``)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

import rung
from rung.cli.main import main
from rung.study_views import best_trial_id, pareto_ids

NAN = math.nan


def nan_final_vs_stopped(path: Path | None = None) -> rung.Study:
    """The audit's script: trial 0 completes with a NaN final, trial 1 stopped at 0.5."""
    st = rung.Study.create("wn", {"x": rung.Float(0, 1)}, rung.Objective("loss", nan="worst"),
                           searcher="random", scheduler="fifo", max_step=3,
                           budget=rung.Budget(n_trials=2), storage=path)
    a, b = st.ask(), st.ask()
    assert a is not None and b is not None
    st.report(b.id, 1, {"loss": 0.5})
    st.tell(b.id, "stopped")
    for s in (1, 2):
        st.report(a.id, s, {"loss": 0.1})
    st.tell(a.id, "completed", {"loss": NAN})
    return st


def test_a_stopped_trial_with_a_value_beats_a_nan_final_one() -> None:
    st = nan_final_vs_stopped()
    best = st.best_trial
    assert best is not None and (best.id, best.value) == (1, 0.5)
    h = st.history
    assert h.best_candidates() == [1] and best_trial_id(h, 3) == 1 and pareto_ids(h) == [1]
    assert st.summary()["best_trial"] == 1 and st.best_value() == 0.5


def test_every_value_nan_no_best_trial() -> None:
    st = rung.Study.create("n", {"x": rung.Float(0, 1)}, rung.Objective("loss", nan="worst"),
                           searcher="random", max_step=1, budget=rung.Budget(n_trials=3))
    while (t := st.ask()) is not None:
        st.tell(t.id, "completed", {"loss": NAN})
    assert st.best_trial is None and st.pareto_front() == []
    assert st.history.best_trial_id() is None and st.summary()["best_trial"] is None


def test_show_ls_and_the_dashboard_agree(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    nan_final_vs_stopped(tmp_path / "w.db").close()
    db = str(tmp_path / "w.db")
    assert main(["ls", "--storage", db]) == 0
    assert "0.5 (loss)" in capsys.readouterr().out
    assert main(["show", "wn", "--storage", db]) == 0
    assert "best loss=0.5 (trial #1, step 1)" in capsys.readouterr().out
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from rung.dashboard.app import create_app

    got = TestClient(create_app(tmp_path)).get("/api/study/wn").json()
    assert (got["best_trial"], got["best_value"]) == (1, 0.5)


def _save(d: str) -> None:
    with open(os.path.join(d, "c"), "w") as f:
        f.write("1")


def diverges(ctx: rung.TrialContext) -> None:
    for s in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(s, loss=NAN if s >= 3 else ctx.params["x"], save=_save)


def test_pbt_with_every_value_nan_has_no_best_trial(tmp_path: Path) -> None:
    st = rung.Study.create("p", {"x": rung.Float(0, 1)}, rung.Objective("loss", nan="worst"),
                           searcher="random", scheduler="pbt", max_step=8,
                           budget=rung.Budget(n_trials=4), seed=0, storage=tmp_path / "p.db")
    st.run(diverges, n_workers=2, start_method="fork", progress=False)
    assert all(t.value is None for t in st.trials() if t.last_step >= 3)
    assert st.best_trial is None
