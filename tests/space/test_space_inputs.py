"""Python search-space inputs a user writes: NumPy arrays as choices, sets, JSON text, and
typos of a parameter's name, each accepted as meant or refused in one line naming the key."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import rung
from rung import Categorical, Float, SearchSpace, SpaceError


def test_a_numpy_array_is_a_list_of_choices() -> None:
    # was "'a'.choices: must be a non-empty list, got array([1, 2])"
    space = SearchSpace({"a": Categorical(np.array([1, 2])), "b": np.linspace(0.0, 1.0, 3)})
    assert space.to_json() == {"a": {"type": "categorical", "choices": [1, 2]},
                               "b": {"type": "categorical", "choices": [0.0, 0.5, 1.0]}}
    assert all(type(c) is int for c in space["a"].choices)  # type: ignore[attr-defined]
    assert rung.Fidelity("s", np.array([1, 3, 9])).values == (1, 3, 9)


def test_a_set_of_choices_says_it_has_no_order() -> None:
    with pytest.raises(SpaceError) as e:
        SearchSpace({"a": Categorical({"x"})})  # type: ignore[arg-type]
    assert str(e.value) == ("'a'.choices: must be a list, got the set {'x'}: a set has no order "
                            "(sorted(...) gives one)")


def test_json_text_that_is_not_json() -> None:
    # was json.JSONDecodeError
    with pytest.raises(SpaceError) as e:
        SearchSpace.from_json("{")
    assert str(e.value) == ("a JSON search space is not JSON: Expecting property name enclosed "
                            "in double quotes: line 1 column 2 (char 1)")


@pytest.mark.parametrize(("call", "line"), [
    (lambda s: s.validate({"lr": 0.5, "Lr": 0.1}),
     "'Lr': not a parameter of this space (did you mean 'lr'?) (['lr', 'opt'])"),
    (lambda s: s.check_partial({"optt": "x"}),
     "'optt': not a parameter of this space (did you mean 'opt'?) (['lr', 'opt'])"),
    (lambda s: s.grid({"lrr": 3}),
     "'lrr': grid points given for an unknown parameter (did you mean 'lr'?)"),
    (lambda s: SearchSpace({**s.params, "m": Float(0, 1, when={"otp": "x"})}),
     "'m': 'when' refers to unknown parameter 'otp' (did you mean 'opt'?)"),
])
def test_a_typo_of_a_parameter_names_it(call: Any, line: str) -> None:
    space = SearchSpace({"lr": Float(0.0, 1.0), "opt": ["x", "y"]})
    with pytest.raises(SpaceError) as e:
        call(space)
    assert str(e.value) == line


@pytest.mark.parametrize(("param", "line"), [
    ({"choices": [1, 2]}, "'x'.type: missing (a parameter with choices is type: categorical)"),
    ({"value": 3}, "'x'.type: missing (a parameter with a value is type: fixed)"),
    ({"low": 0, "high": 1}, "'x'.type: missing (a range is type: float or type: int)"),
    ({}, "'x'.type: missing (one of float, int, categorical, fixed)"),
    ({"type": "loguniform", "low": 1e-5, "high": 1.0}, "'x'.type: must be one of float, int, "
     "categorical, fixed, got 'loguniform' (write type: float, log: true)"),
    ({"type": "choice", "choices": [1]}, "'x'.type: must be one of float, int, categorical, "
     "fixed, got 'choice' (write type: categorical)"),
    ({"type": "Float", "low": 0, "high": 1}, "'x'.type: must be one of float, int, categorical, "
     "fixed, got 'Float' (did you mean 'float'?)"),
])
def test_a_parameter_type_written_as_elsewhere(param: dict[str, Any], line: str) -> None:
    # was "'x'.type: missing (float, int, categorical, fixed)" and no hint for other libraries'
    # names (Ray Tune's loguniform, choice)
    with pytest.raises(SpaceError) as e:
        SearchSpace({"x": param})
    assert str(e.value) == line


def test_fidelity_keys_of_mixed_types() -> None:
    # sorting the unknown keys raised TypeError (1 < 'a')
    data: dict[Any, Any] = {"name": "s", "values": [1, 2], 1: 2, "a": 3}
    with pytest.raises(rung.errors.ConfigError) as e:
        rung.Fidelity.from_json(data)
    assert str(e.value) == "fidelity.1: unknown key (name, values, low, high, reduction_factor)"


@pytest.mark.parametrize("name", ["a\tb", "a\nb", "\u200bx", "learning\u00a0rate"])
def test_a_parameter_name_with_an_invisible_character(name: str) -> None:
    # was accepted: a tab or newline broke tables and log lines, the others hid a second name
    with pytest.raises(SpaceError) as e:
        SearchSpace({name: [1, 2]})
    assert e.value.key == name
    assert e.value.message == ("a parameter name holds printable characters only (no newline, "
                               "tab, zero-width or non-breaking space)")
    assert SearchSpace({"a b é 日本": [1, 2]}).dims == ["a b é 日本"]
