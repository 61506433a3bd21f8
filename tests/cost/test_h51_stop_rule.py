"""``assess(study, **params)``: a parameter ``StopRule`` does not take is a ``ConfigError``
naming it and listing what it takes (it was a ``TypeError`` from the constructor)."""

from __future__ import annotations

import pytest

import rung
from rung.cost.stop_rule import assess
from rung.errors import ConfigError


def _study() -> rung.Study:
    return rung.Study.create("a", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                             scheduler="fifo", budget=rung.Budget(n_trials=5))


def test_assess_refuses_an_unknown_parameter_by_name() -> None:
    with pytest.raises(ConfigError) as e:
        assess(_study(), n_val=100, nosie=0.01)
    assert e.value.key == "nosie"
    assert str(e.value) == (
        "nosie: StopRule takes no parameter 'nosie' (accepted: delta, every, lattice, "
        "max_points, min_trials, n_candidates, n_val, noise, noise_metric, noise_scale, tail, "
        "threshold, value)")


def test_assess_refuses_an_out_of_range_parameter_as_a_spec_does() -> None:
    with pytest.raises(ConfigError) as e:
        assess(_study(), min_trials=2)
    assert str(e.value) == "budget.stop.params.min_trials: must be an integer >= 3, got 2"


def test_assess_with_too_few_results_is_none() -> None:
    assert assess(_study(), value=10.0) is None
