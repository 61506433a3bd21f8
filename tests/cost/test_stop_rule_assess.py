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


def test_check_value_priced() -> None:
    """A ``value`` rule where a trial costs nothing would never stop: refused with the message
    ``rung run`` gives a spec (for ``Study.run`` / ``simulate`` and reported resources too)."""
    from rung.cost.stop_rule import check_value_priced

    stop = rung.Budget(n_trials=5, stop=rung.StopRule(value=10.0)).stop
    with pytest.raises(ConfigError) as e:
        check_value_priced(stop, {}, None)
    assert str(e.value) == (
        "budget.stop.params.value: the rule would never stop: it weighs the improvement's "
        "worth against the mean cost of a trial, and a trial holding cpu=1 (no "
        "resources_per_trial: one CPU) costs nothing under prices {}")
    with pytest.raises(ConfigError) as e:
        check_value_priced({"name": "auto", "params": {"value": 1}}, {"gpu:A100": 3.0},
                           {"gpu:T4": 1.0}, reported=True)
    assert "a trial holding gpu:T4=1 (as its executor reports) costs nothing under prices " \
        "{'gpu:A100': 3.0}" in str(e.value)
    check_value_priced(stop, {"gpu": 2.0}, {"gpu:T4": 1.0})  # a "gpu" price covers a T4
    check_value_priced(rung.Budget(n_trials=5, stop="auto").stop, {}, None)  # no value
    check_value_priced(None, {}, None)
