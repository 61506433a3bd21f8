"""Spec keys ``fidelity`` and ``points_to_evaluate`` (issue 18)."""

from __future__ import annotations

from typing import Any

import pytest
from clihelp import HERE

from rung.cli.spec import SpecError, parse_spec
from rung.space import Fidelity


def base(**extra: Any) -> dict[str, Any]:
    return {
        "name": "extras", "objective": "cli_objectives:train", "path": str(HERE),
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}, "c": ["a", "b"]},
        "metric": "loss", "scheduler": "asha", "budget": {"n_trials": 4}, **extra,
    }


def test_fidelity_sets_max_step_and_is_stored() -> None:
    spec = parse_spec(base(fidelity={"name": "samples", "values": [100, 300, 900]}))
    assert spec.study.max_step == 9
    assert spec.study.fidelity == Fidelity("samples", [100, 300, 900])
    assert spec.study.to_json()["fidelity"] == {"name": "samples", "values": [100, 300, 900]}
    same = parse_spec(base(fidelity={"name": "f", "low": 0.1, "high": 1.0}, max_step=10))
    assert same.study.fidelity is not None and same.study.fidelity.steps == (1, 3, 9, 10)


def test_points_to_evaluate_are_validated_and_stored() -> None:
    spec = parse_spec(base(points_to_evaluate=[{"x": 0.5, "c": "a"}, {"c": "b"}]))
    assert spec.study.points_to_evaluate == ({"x": 0.5, "c": "a"}, {"c": "b"})


@pytest.mark.parametrize(("extra", "message"), [
    ({"fidelity": {"name": "n", "values": [3, 1]}},
     "spec.fidelity.values[1]: must be greater than values[0] (3), got 1"),
    ({"fidelity": {"name": "n", "value": [1]}},
     "spec.fidelity.value: unknown key (name, values, low, high, reduction_factor)"),
    ({"fidelity": {"name": "n", "values": [1, 3]}, "max_step": 9},
     "spec.max_step: is 9, but the fidelity Fidelity('n', [1, 3]) ends at step 3"),
    ({"points_to_evaluate": [{"x": 0.5}, {"y": 1}]},
     "spec.points_to_evaluate[1].y: not a parameter of this space (['x', 'c'])"),
    ({"points_to_evaluate": [{"x": 2.0}]},
     "spec.points_to_evaluate[0].x: 2.0 is outside [0.0, 1.0]"),
    ({"points_to_evaluate": {"x": 0.5}},
     "spec.points_to_evaluate: must be a list of configurations, got dict"),
])
def test_bad_extras_are_one_line_errors_naming_the_key(extra: dict[str, Any],
                                                        message: str) -> None:
    with pytest.raises(SpecError) as e:
        parse_spec(base(**extra))
    assert str(e.value) == message
