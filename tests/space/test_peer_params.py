"""Another library's parameters in a ``SearchSpace`` (Ray Tune's samples and grid_search, a
nested ``param_space``, Optuna's distributions) are refused in one line naming the rung
parameter to write, whose values are Ray's (``docs/migrate-ray-tune.md``'s table): they were
refused as ``cannot make a parameter from <ray.tune.search.sample.Float object at 0x...>`` or
``'optim'.type: missing``."""

from __future__ import annotations

from typing import Any

import pytest

import rung
from rung.errors import SpaceError

tune = pytest.importorskip("ray.tune")


@pytest.mark.parametrize("value, expected", [
    (lambda: tune.loguniform(1e-4, 1e-1),
     "Ray Tune's tune sample Float(0.0001, 0.1): write rung.Float(0.0001, 0.1, log=True)"),
    (lambda: tune.uniform(0, 1), "Ray Tune's tune sample Float(0, 1): write rung.Float(0, 1)"),
    (lambda: tune.randint(1, 10), "Ray Tune's tune sample Integer(1, 10): write rung.Int(1, 9) "
                                  "(Ray's upper bound is exclusive)"),
    (lambda: tune.lograndint(16, 512), "Ray Tune's tune sample Integer(16, 512): write "
                                       "rung.Int(16, 511, log=True) (Ray's upper bound is "
                                       "exclusive)"),
    (lambda: tune.qrandint(1, 10, 3), "Ray Tune's tune sample Integer(1, 10): write "
                                      "rung.Int(3, 9, step=3) (Ray's upper bound is included "
                                      "here)"),
    (lambda: tune.quniform(0, 1, 0.1), "Ray Tune's tune sample Float(0, 1): write "
                                       "rung.Float(0, 1, step=0.1)"),
    (lambda: tune.qloguniform(1e-4, 1e-1, 5e-5), "Ray Tune's tune sample Float(0.0001, 0.1): "
     "write rung.Float(0.0001, 0.1, log=True) and round to 5e-05 in the objective (rung has no "
     "log scale with a step)"),
    (lambda: tune.choice(["a", "b"]), "Ray Tune's tune sample Categorical: write the list "
                                      "['a', 'b'] (rung.Categorical)"),
    (lambda: tune.randn(0, 1), "Ray Tune's tune sample Float(-inf, inf): write a "
                               "rung.Float(low, high) range (rung has no normal prior)"),
    (lambda: tune.grid_search([1, 2]), "Ray Tune's tune.grid_search: write the list [1, 2] (a "
     "categorical parameter) with searcher='grid', which tries every combination of the "
     "space once"),
    (lambda: tune.qlograndint(1, 100, 1), "Ray Tune's tune sample Integer(1, 100): write "
                                          "rung.Int(1, 99, log=True) (Ray's upper bound is "
                                          "exclusive)"),
    (lambda: tune.sample_from(lambda spec: 1), "Ray Tune's tune sample Function: write a "
     "when= condition for a value that depends on another parameter, or rung.optimize's "
     "define-by-run objective (rung has no sample_from)"),
    (lambda: {"lr": rung.Float(1e-4, 1e-1), "wd": tune.uniform(0, 1)},
     "a nested dict of parameters: a rung space is flat, so name each one by its path "
     "('p/lr': ...) and read it as params['p/lr']"),
])
def test_a_peers_parameter_names_what_to_write(value: Any, expected: str) -> None:
    with pytest.raises(SpaceError) as e:
        rung.SearchSpace({"p": value()})
    assert str(e.value) == f"'p': {expected}"


def test_rungs_own_forms_are_unchanged() -> None:
    space = rung.SearchSpace({"a": {"type": "float", "low": 0.0, "high": 1.0}, "b": [1, 2],
                              "c": 3, "d/e": rung.Int(1, 4)})
    assert list(space.params) == ["a", "b", "c", "d/e"]
    with pytest.raises(SpaceError, match="'x'.type: missing"):
        rung.SearchSpace({"x": {"low": 0, "high": 1}})
    # a dict of constants (Ray's param_space holds lists as constants) is not called nested:
    # written by path, a list would be a choice in rung
    with pytest.raises(SpaceError, match="'kw'.type: missing"):
        rung.SearchSpace({"kw": {"betas": [0.9, 0.99]}})
