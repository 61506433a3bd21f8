"""study_views: summary's best, hypervolume's reference, pareto_front's final results."""

from __future__ import annotations

import math
from typing import Any

import pytest

import rung
from rung.errors import ConfigError


def test_summary_names_the_feasible_best() -> None:
    """Before: summary()['best_trial'] was the infeasible trial 0 (score 0.1) while
    best_trial and summary()['best_value'] were trial 1's."""
    s = rung.Study.create("c", {"x": rung.Float(0.0, 1.0)}, objective="loss",
                          constraints=["lat <= 1"], budget=rung.Budget(n_trials=2))
    for m in ({"loss": 0.1, "lat": 5.0}, {"loss": 0.5, "lat": 0.5}):
        t = s.ask()
        assert t is not None
        s.tell(t.id, "completed", m)
    summ = s.summary()
    assert (summ["best_trial"], summ["best_score"], summ["best_value"]) == (1, 0.5, 0.5)


def two_objectives(max_step: int = 1) -> rung.Study:
    return rung.Study.create("m", {"x": rung.Float(0.0, 1.0)},
                             objective=["a", rung.Objective("b", "max")], max_step=max_step,
                             budget=rung.Budget(n_trials=4))


@pytest.mark.parametrize(("reference", "message"), [
    ([4.0], "reference: expected 2 values (one per objective ['a', 'b']), got 1"),
    (["x", 1.0], "reference[0]: must be a finite number (the 'a' bound), got 'x'"),
    ([math.nan, 0.0], "reference[0]: must be a finite number (the 'a' bound), got nan"),
    (4.0, "reference: one value per objective ['a', 'b'], got 4.0"),
])
def test_hypervolume_refuses_a_bad_reference(reference: Any, message: str) -> None:
    """Before: a string raised ValueError from float(), NaN gave an infinite hypervolume,
    and a bad reference passed unnoticed while the front was empty."""
    s = two_objectives()
    with pytest.raises(ConfigError) as e:
        s.hypervolume(reference)  # an empty front: checked all the same
    assert str(e.value) == message
    t = s.ask()
    assert t is not None
    s.tell(t.id, "completed", {"a": 1.0, "b": 1.0})
    with pytest.raises(ConfigError):
        s.hypervolume(reference)
    assert s.hypervolume([3.0, 0.0]) == 2.0


def test_a_trial_that_completed_below_max_step_is_on_the_front() -> None:
    """Before: only trials at the highest step reached were compared, so a trial that
    completed by itself at step 1 and beat the others on both objectives was left out
    (while best_trial named it)."""
    s = two_objectives(max_step=3)
    for m, step in (({"a": 0.0, "b": 9.0}, 1), ({"a": 5.0, "b": 5.0}, None)):
        t = s.ask()
        assert t is not None
        s.tell(t.id, "completed", m, step=step)
    t = s.ask()
    assert t is not None
    s.report(t.id, 2, {"a": -1.0, "b": 10.0})  # better, but stopped at step 2: not final
    s.tell(t.id, "stopped")
    assert [x.id for x in s.pareto_front()] == [0]
    assert s.best_trial is not None and s.best_trial.id == 0
