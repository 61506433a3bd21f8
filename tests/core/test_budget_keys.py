"""A budget mapping with a key that is not a budget limit names that key (the first in sorted
order, whatever the keys' types), the limit it may be a typo of, and every valid key; one that
is not a mapping is refused as such. Before: ``{"n_trial": 3}`` gave ``unknown budget key
(n_trials, ...)`` with no suggestion, and ``{1: 2, "x": 3}`` / ``5`` raised ``TypeError``."""

from __future__ import annotations

from typing import Any

import pytest

import rung
from rung import Budget, ConfigError

KNOWN = "(known: n_trials, max_time, max_steps, max_cost, max_gpu_hours, stop)"


@pytest.mark.parametrize(("d", "message"), [
    ({"n_trial": 3}, f"budget.n_trial: unknown key (did you mean 'n_trials'?) {KNOWN}"),
    ({"n_trials": 3, "zz": 1, "max_tiem": 2},
     f"budget.max_tiem: unknown key (did you mean 'max_time'?) {KNOWN}"),
    ({"MAX_COST": 1.0}, f"budget.MAX_COST: unknown key (did you mean 'max_cost'?) {KNOWN}"),
    # a second max_time, not a max_cost: a given key closer than the others is still named
    ({"max_time": 60, "max_tim": 30},
     f"budget.max_tim: unknown key (did you mean 'max_time'?) {KNOWN}"),
    ({1: 2, "x": 3}, f"budget.1: unknown key {KNOWN}"),
    ({"zzz": 1}, f"budget.zzz: unknown key {KNOWN}"),
    (5, "budget: must be a mapping of n_trials, max_time, max_steps, max_cost, max_gpu_hours, "
        "stop, got int 5"),
])
def test_a_bad_budget_mapping_is_one_line_naming_the_key(d: Any, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        Budget.from_json(d)
    assert str(e.value) == message


def test_study_create_refuses_it_before_writing(tmp_path: Any) -> None:
    db = tmp_path / "b.db"
    with pytest.raises(ConfigError) as e:
        rung.Study.create("b", {"x": rung.Float(0, 1)}, "loss", budget={"n_trails": 3},
                          storage=db)
    assert str(e.value) == f"budget.n_trails: unknown key (did you mean 'n_trials'?) {KNOWN}"
    assert not db.exists()


def test_every_key_round_trips() -> None:
    b = Budget(n_trials=3, max_time=1.5, max_steps=9, max_cost=2.0, max_gpu_hours=1.0)
    assert Budget.from_json(b.to_json()) == b
