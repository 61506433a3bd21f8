"""``Study.best_value`` is a method (``best_trial`` is a property): its value is the best
trial's, in the metric's own direction, and the Optuna migration guide says it must be called,
since Optuna's ``study.best_value`` is a property and, written that way in rung, is the bound
method, not a number."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rung

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "migrate-optuna.md"


@pytest.mark.parametrize(("mode", "best"), [("min", 0.2), ("max", 0.9)])
def test_best_value_is_the_best_trial_s_value(mode: str, best: float) -> None:
    study = rung.Study.create("b", {"x": rung.Float(0, 1)}, rung.Objective("acc", mode),
                              searcher="random", scheduler="fifo",
                              budget=rung.Budget(n_trials=3))
    assert study.best_value() is None
    for v in (0.5, 0.2, 0.9):
        t = study.ask()
        assert t is not None
        study.tell(t.id, "completed", {"acc": v})
    assert study.best_value() == best == study.best_trial.value  # type: ignore[union-attr]
    misuse: Any = study.best_value  # Optuna's spelling, the misuse the guide names
    assert callable(misuse) and misuse != best


def test_the_docstring_and_the_optuna_guide_say_it_is_a_method() -> None:
    assert "A method" in (rung.Study.best_value.__doc__ or "")
    row = next(line for line in GUIDE.read_text().splitlines()
               if line.startswith("| `study.best_params`"))
    assert "`study.best_value()`, a method" in row
    assert "bound method" in row
