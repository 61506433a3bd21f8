from __future__ import annotations

import pytest

import rung
from rung.core.records import Objective
from rung.errors import ConfigError


def test_create_takes_one_mode_per_objective_and_refuses_a_pair() -> None:
    s = rung.Study.create("o", {"x": rung.Float(0.0, 1.0)}, objective=["loss", "acc"],
                          mode=["min", "max"], budget=rung.Budget(n_trials=2))
    assert [(o.metric, o.mode) for o in s.spec.objectives] == [("loss", "min"), ("acc", "max")]
    for objective, mode, message in (
            (("loss", "max"), None, "objective[1]: 'max' is a mode, not a metric: give "
                                    "rung.Objective('loss', 'max') (or mode='max')"),
            (Objective("loss", "min"), "max", "mode: 'max' contradicts the objective's own "
             "mode 'min' (rung.Objective('loss', 'min')): give one of them")):
        with pytest.raises(ConfigError) as e:
            rung.Study.create("p", {"x": rung.Float(0.0, 1.0)}, objective=objective, mode=mode)
        assert str(e.value) == message
