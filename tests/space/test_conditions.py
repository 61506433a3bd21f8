"""``when=`` conditions: typed matching, conditions that can never hold, and the messages."""

from __future__ import annotations

import numpy as np
import pytest

from rung import Categorical, Fixed, Float, Int, SearchSpace, SpaceError


def test_a_condition_on_1_does_not_hold_for_true() -> None:
    # 1 == True in Python, but they are two choices of the categorical: the condition names one
    space = SearchSpace({"a": Categorical([1, True, "x"]), "b": Float(0, 1, when={"a": 1})})
    assert space.active({"a": True}) == ["a"]
    assert space.active({"a": 1}) == ["a", "b"]
    assert space.grid(2) == [{"a": 1, "b": 0.0}, {"a": 1, "b": 1.0}, {"a": True}, {"a": "x"}]
    with pytest.raises(SpaceError) as e:
        space.validate({"a": True, "b": 0.5})
    assert str(e.value) == "'b': given, but inactive here (active when a in [1])"
    with pytest.raises(SpaceError, match="given, but inactive here"):
        space.check_partial({"a": True, "b": 0.5})
    draws = [space.sample(np.random.default_rng(i)) for i in range(60)]
    assert all(("b" in d) == (type(d["a"]) is int) for d in draws)
    assert {type(d["a"]) for d in draws} == {int, bool, str}


def test_a_condition_is_matched_as_its_parent_normalizes_it() -> None:
    # an int bound of a stepped float, a float value of an int, both hold
    space = SearchSpace({
        "s": Float(0.0, 2.0, step=0.5), "k": Int(0, 3),
        "u": Float(0, 1, when={"s": 1}), "v": Float(0, 1, when={"k": [2, 3.0]}),
    })
    assert space.active({"s": 1.0, "k": 2}) == ["s", "k", "u", "v"]
    assert space.active({"s": 0.5, "k": 1}) == ["s", "k"]
    assert space.validate({"s": 1.0, "k": 3, "u": 0.1, "v": 0.2}) == \
        {"s": 1.0, "k": 3, "u": 0.1, "v": 0.2}


def test_a_condition_on_a_continuous_float_is_refused() -> None:
    # Float(0, 1) takes 0.5 with probability 0: 'b' would silently never be used
    with pytest.raises(SpaceError) as e:
        SearchSpace({"a": Float(0, 1), "b": Float(0, 1, when={"a": 0.5})})
    assert str(e.value) == (
        "'b': 'when' on 'a', a continuous parameter, which takes 0.5 with probability 0: "
        "condition on a categorical, integer, stepped float or fixed parameter"
    )
    with pytest.raises(SpaceError, match="continuous parameter"):
        SearchSpace.from_json({"a": {"type": "float", "low": 1, "high": 9, "log": True},
                               "b": {"type": "int", "low": 0, "high": 3, "when": {"a": 2}}})
    # a stepped float is a fine parent
    s = SearchSpace({"a": Float(0, 1, step=0.5), "b": Float(0, 1, when={"a": 0.5})})
    assert s.active({"a": 0.5}) == ["a", "b"]


def test_a_parameter_that_can_never_be_active_is_refused() -> None:
    # 'c' only exists when a == 1, but 'b' needs c == 2 and a == 2
    with pytest.raises(SpaceError) as e:
        SearchSpace({
            "a": Categorical([1, 2]),
            "c": Categorical([1, 2], when={"a": 1}),
            "b": Float(0, 1, when={"a": 2, "c": 2}),
        })
    assert str(e.value) == ("'b': can never be active: its 'when' conditions and its parents' "
                            "need 'a' in disjoint sets of values")
    # deeper: 'd' under 'b' under 'c', each adding a condition on 'a'
    with pytest.raises(SpaceError, match="'d': can never be active"):
        SearchSpace({
            "a": Categorical(["x", "y", "z"]),
            "c": Categorical([1, 2], when={"a": ["x", "y"]}),
            "b": Categorical([1, 2], when={"c": 1}),
            "d": Fixed(0, when={"b": 2, "a": "z"}),
        })
    # overlapping sets are fine: 'b' is active exactly when a == "y" and c == 1
    s = SearchSpace({
        "a": Categorical(["x", "y", "z"]),
        "c": Categorical([1, 2], when={"a": ["x", "y"]}),
        "b": Float(0, 1, when={"c": 1, "a": ["y", "z"]}),
    })
    assert [g for g in s.grid(2) if "b" in g] == [
        {"a": "y", "c": 1, "b": 0.0}, {"a": "y", "c": 1, "b": 1.0}]
