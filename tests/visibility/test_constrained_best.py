"""A study with constraints: the dashboard names the best trial ``Study.best_trial`` and
``rung show`` name (the best feasible one), and the trials' feasibility is shown in
``trials_dataframe``, the dashboard's table and ``rung show``'s best trials."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest

import rung
from rung.cli.main import main

pd = pytest.importorskip("pandas")


def _constrained(db: Path) -> rung.Study:
    """Maximize accuracy subject to accuracy <= 0.7: the best trials by value are infeasible."""
    s = rung.Study.create("cons", {"x": rung.Float(0, 1)}, objective="accuracy", mode="max",
                          searcher="random", scheduler="fifo", budget=rung.Budget(n_trials=12),
                          constraints=["accuracy <= 0.7"], seed=0, storage=db)
    while (t := s.ask()) is not None:
        s.tell(t.id, "completed", {"accuracy": 1 - (t.params["x"] - 0.3) ** 2})
    return s


def test_the_best_is_feasible_everywhere(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    s = _constrained(db)
    best = s.best_trial
    assert best is not None and best.value is not None and best.value <= 0.7
    top = max(s.trials(), key=lambda t: t.value or 0.0)
    assert top.value is not None and top.value > 0.7  # the unconstrained best is another
    df = s.trials_dataframe().set_index("trial_id")
    assert [bool(df.loc[t.id, "feasible"]) for t in s.trials()] == [
        (t.value or 0.0) <= 0.7 for t in s.trials()]
    s.close()

    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from rung.dashboard import create_app

    c = TestClient(create_app(db))
    (row,) = c.get("/api/studies").json()["studies"]
    assert (row["best_trial"], row["best_value"]) == (best.id, best.value)
    o = c.get("/api/study/cons").json()
    assert (o["best_trial"], o["best_value"], o["best_params"]) == (
        best.id, best.value, best.params)
    table = c.get("/api/study/cons/trials").json()
    assert "feasible" in table["columns"]
    assert {r["trial_id"]: r["feasible"] for r in table["rows"]} == {
        t.id: (t.value or 0.0) <= 0.7 for t in s.trials()}

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["show", "cons", "--storage", str(db), "--top", "3"]) == 0
    lines = out.getvalue().splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("best trials"))
    assert lines[head + 1].split()[:4] == ["trial", "status", "feasible", "step"]
    first = lines[head + 2].split()
    assert first[:3] == [str(best.id), "completed", "yes"]
