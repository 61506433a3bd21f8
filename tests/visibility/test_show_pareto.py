"""``rung show`` of a multi-objective study names its Pareto front (``Study.pareto_front``),
each trial with its value on every objective, in the objectives' own directions."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import rung
from rung.cli.main import main


def _show(db: Path) -> list[str]:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["show", "mo", "--storage", str(db)]) == 0
    return out.getvalue().splitlines()


def test_show_names_the_pareto_front(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    s = rung.Study.create("mo", {"x": rung.Float(0, 1)},
                          objective=[rung.Objective("acc", "max"), rung.Objective("ms", "min")],
                          searcher="random", scheduler="fifo", budget=rung.Budget(n_trials=8),
                          seed=0, storage=db)
    assert any(line.strip() == "pareto front  none yet" for line in _show(db))
    while (t := s.ask()) is not None:
        x = round(t.params["x"], 2)
        s.tell(t.id, "completed", {"acc": x, "ms": 10 + 100 * x * x})
    front = s.pareto_front()
    assert len(front) == 8  # acc and ms both grow with x: every trial is on the front
    s.close()
    named = ", ".join(f"#{t.id} (acc={t.metrics['acc']:.6g}, ms={t.metrics['ms']:.6g})"
                      for t in front)
    assert f"  pareto front  8 trials at step 1: {named}" in _show(db)


def test_the_front_names_its_own_trials_steps(tmp_path: Path) -> None:
    """The step named is the front's, not the highest any trial reached (a failed trial's 7
    was named for a front at step 3), and both when the front's trials end at different
    steps (one completed early). Found by an audit."""
    db = tmp_path / "m.db"
    s = rung.Study.create("mo", {"x": rung.Float(0, 1)}, objective=["a", "b"],
                          searcher="random", scheduler="fifo", max_step=9, seed=0, storage=db)
    for step, a, b, end in [(3, 1, 1, "stopped"), (3, 2, 0.5, "stopped"), (7, 0, 0, "failed")]:
        t = s.ask()
        assert t is not None
        s.report(t.id, step, {"a": a, "b": b})
        s.tell(t.id, end, error="x" if end == "failed" else None)
    assert "  pareto front  2 trials at step 3: #0 (a=1, b=1), #1 (a=2, b=0.5)" in _show(db)
    t = s.ask()
    assert t is not None
    s.report(t.id, 9, {"a": 3, "b": 0.1})
    s.tell(t.id, "completed")
    t = s.ask()
    assert t is not None
    s.report(t.id, 2, {"a": 0.5, "b": 2})
    s.tell(t.id, "completed")  # completed early: final at step 2
    s.close()
    assert "  pareto front  2 trials at steps 2, 9: #3 (a=3, b=0.1), #4 (a=0.5, b=2)" in _show(db)


def test_no_trial_with_a_value_is_no_best_trial(tmp_path: Path) -> None:
    """Every result NaN (``nan="worst"``): ``rung show`` says there is no best trial, and
    why, as ``Study.best_trial`` (``None``) and the dashboard do: a trial without a value is
    never the best (``tests/trust/test_best_has_a_value.py``)."""
    db = tmp_path / "n.db"
    s = rung.Study.create("mo", {"x": rung.Float(0, 1)},
                          objective=rung.Objective("loss", nan="worst"), searcher="random",
                          scheduler="fifo", max_step=1, storage=db)
    t = s.ask()
    assert t is not None
    s.tell(t.id, "completed", {"loss": float("nan")})
    s.close()
    assert ("  best: none yet (no trial has a value: every last result is NaN, infinite or "
            "missing)") in _show(db)


def test_the_best_trials_table_has_a_column_per_objective(tmp_path: Path) -> None:
    """Before: only the first objective's column ('acc'), the other objectives' values shown
    nowhere in the table. One objective: its one column, as before."""
    db = tmp_path / "m.db"
    s = rung.Study.create("mo", {"x": rung.Float(0, 1)},
                          objective=[rung.Objective("acc", "max"), rung.Objective("ms", "min")],
                          searcher="random", scheduler="fifo", budget=rung.Budget(n_trials=2),
                          seed=0, storage=db)
    for acc, ms in ((0.5, 20.0), (0.75, 40.0)):
        t = s.ask()
        assert t is not None
        s.tell(t.id, "completed", {"acc": acc, "ms": ms, "other": 1.0})
    params = [f"x={t.params['x']:.6g}" for t in s.trials()]
    s.close()
    lines = _show(db)
    at = lines.index("best trials (top 2)")
    assert [line.split() for line in lines[at + 1:at + 4]] == [
        ["trial", "status", "step", "acc", "ms", "params"],
        ["1", "completed", "1", "0.75", "40", params[1]],
        ["0", "completed", "1", "0.5", "20", params[0]]]
    one = rung.Study.create("so", {"x": rung.Float(0, 1)}, objective="acc", searcher="random",
                            scheduler="fifo", budget=rung.Budget(n_trials=1), seed=0,
                            storage=db)
    t = one.ask()
    assert t is not None
    one.tell(t.id, "completed", {"acc": 0.5, "ms": 20.0})
    one.close()
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["show", "so", "--storage", str(db)]) == 0
    shown = out.getvalue().splitlines()
    at = shown.index("best trials (top 1)")
    assert shown[at + 1:at + 3] == ["  trial  status     step  acc  params",
                                    f"  0      completed  1     0.5  x={t.params['x']:.6g}"]
