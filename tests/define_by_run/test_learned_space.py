"""``SpaceLearner``: the space a define-by-run study learns from what its trials used."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rung.errors import ConfigError
from rung.space import SearchSpace
from rung.space.learned import SpaceLearner

OPT = {"type": "categorical", "choices": ["adam", "sgd", "rmsprop"]}
LR = {"type": "float", "low": 0.001, "high": 1.0, "log": True}
MOM = {"type": "float", "low": 0.0, "high": 0.9}
DEPTH = {"type": "int", "low": 1, "high": 4}
ACT = {"type": "categorical", "choices": ["relu", "tanh"]}


def test_first_report_conditions_every_parameter_on_earlier_categoricals() -> None:
    lr = SpaceLearner(SearchSpace.empty())
    assert lr.observe({"opt": "sgd", "lr": 0.1, "momentum": 0.5},
                      {"opt": OPT, "lr": LR, "momentum": MOM})
    assert lr.space.to_json() == {
        "opt": OPT,
        "lr": LR | {"when": {"opt": "sgd"}},
        "momentum": MOM | {"when": {"opt": "sgd"}},
    }


def test_conditions_widen_with_branches_and_drop_when_every_choice_was_seen() -> None:
    lr = SpaceLearner(SearchSpace.empty())
    lr.observe({"opt": "sgd", "lr": 0.1, "momentum": 0.5}, {"opt": OPT, "lr": LR, "momentum": MOM})
    assert lr.observe({"opt": "adam", "lr": 0.01}, {"opt": OPT, "lr": LR})
    # lr now seen under two branches (of three): still conditional, on both, in choice order
    assert lr.space["lr"].to_json() == LR | {"when": {"opt": ["adam", "sgd"]}}
    assert lr.space["momentum"].to_json() == MOM | {"when": {"opt": "sgd"}}
    lr.observe({"opt": "rmsprop", "lr": 0.01}, {"opt": OPT, "lr": LR})
    assert lr.space["lr"].to_json() == LR  # used under every choice: unconditional
    assert lr.space["momentum"].to_json() == MOM | {"when": {"opt": "sgd"}}
    # the learned space is an ordinary one: momentum is active on its branch only
    assert lr.space.active({"opt": "adam"}) == ["opt", "lr"]
    assert lr.space.active({"opt": "sgd"}) == ["opt", "lr", "momentum"]


def test_a_parameter_used_without_the_categorical_loses_that_condition() -> None:
    lr = SpaceLearner(SearchSpace.empty())
    lr.observe({"opt": "sgd", "lr": 0.1}, {"opt": OPT, "lr": LR})
    lr.observe({"lr": 0.2}, {"lr": LR})  # a code path that never asks for opt
    assert lr.space.to_json() == {"opt": OPT, "lr": LR}


def test_nested_branches_learn_a_chain_of_conditions() -> None:
    lr = SpaceLearner(SearchSpace.empty())
    lr.observe({"opt": "sgd", "act": "relu", "depth": 2},
               {"opt": OPT, "act": ACT, "depth": DEPTH})
    lr.observe({"opt": "sgd", "act": "tanh", "depth": 3}, {"opt": OPT, "act": ACT, "depth": DEPTH})
    lr.observe({"opt": "adam"}, {"opt": OPT})
    assert lr.space.to_json() == {
        "opt": OPT,
        "act": ACT | {"when": {"opt": "sgd"}},
        "depth": DEPTH | {"when": {"opt": "sgd"}},  # both act values seen: act dropped
    }


def test_observe_is_idempotent_and_reports_no_change() -> None:
    lr = SpaceLearner(SearchSpace.empty())
    report = ({"opt": "sgd", "lr": 0.1}, {"opt": OPT, "lr": LR})
    assert lr.observe(*report) is True
    before = lr.space.to_json()
    assert lr.observe(*report) is False
    assert lr.space.to_json() == before


def test_a_second_distribution_for_a_name_is_a_conflict_naming_it() -> None:
    lr = SpaceLearner(SearchSpace.empty())
    lr.observe({"lr": 0.1}, {"lr": LR})
    assert lr.conflict({"lr": LR}) is None
    err = lr.conflict({"lr": LR | {"high": 2.0}})
    assert isinstance(err, ConfigError)
    assert err.key == "lr"
    assert str(err) == ("lr: declared as float(low=0.001, high=1.0, log=True) before, now as "
                        "float(low=0.001, high=2.0, log=True): a parameter keeps one distribution")
    assert "\n" not in str(err)


def test_choices_python_calls_equal_are_told_apart_in_conditions() -> None:
    """True == 1 in Python: before, 'y' used under c=True was learned as conditional on
    c in [1, True] (and under c=1 too)."""
    c = {"type": "categorical", "choices": [None, 1, True, "a"]}
    y = {"type": "float", "low": 0.0, "high": 1.0}
    lr = SpaceLearner(SearchSpace.empty())
    lr.observe({"c": None, "y": 0.5}, {"c": c, "y": y})
    lr.observe({"c": True, "y": 0.5}, {"c": c, "y": y})
    lr.observe({"c": 1}, {"c": c})
    assert lr.space.to_json()["y"] == y | {"when": {"c": [None, True]}}
    assert lr.space.active({"c": 1}) == ["c"]


def test_a_used_name_without_a_distribution_is_refused() -> None:
    lr = SpaceLearner(SearchSpace.empty())
    with pytest.raises(ConfigError, match="^x: used without a declared distribution$"):
        lr.observe({"x": 1}, {})


def test_distributions_keep_first_declared_order() -> None:
    lr = SpaceLearner(SearchSpace.empty())
    lr.observe({"b": 1, "a": 0.5}, {"b": DEPTH, "a": MOM})
    lr.observe({"c": "relu", "a": 0.1}, {"c": ACT, "a": MOM})
    assert list(lr.distributions) == ["b", "a", "c"]
    assert list(lr.space) == ["b", "a", "c"]


# --- property: any sequence of code paths gives a valid space that admits every observed trial

_CATS = {f"c{i}": {"type": "categorical", "choices": ["a", "b", "c"]} for i in range(3)}
_NUMS = {f"x{i}": {"type": "float", "low": 0.0, "high": 1.0} for i in range(3)}
_ALL = {**_CATS, **_NUMS}


@st.composite
def _trial(draw: st.DrawFn) -> dict[str, object]:
    """A code path: a random subset of the parameters, in a random order (each name asked
    once), categoricals taking random values."""
    names = draw(st.lists(st.sampled_from(sorted(_ALL)), unique=True, min_size=1))
    return {n: draw(st.sampled_from(["a", "b", "c"])) if n in _CATS
            else draw(st.floats(0.0, 1.0)) for n in names}


@settings(max_examples=200, deadline=None)
@given(st.lists(_trial(), min_size=1, max_size=12))
def test_every_observed_trial_is_admitted_by_the_learned_space(trials: list) -> None:
    lr = SpaceLearner(SearchSpace.empty())
    for t in trials:
        lr.observe(t, {n: _ALL[n] for n in t})
    space = lr.space  # built: no cycle, every condition names a known categorical value
    assert set(space) == {n for t in trials for n in t}
    for t in trials:
        active = space.active(t)
        # a parameter a trial used is never excluded by a condition on what it used
        assert all(n in active for n in t), (t, space.to_json())
