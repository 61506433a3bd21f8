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
