"""rung._validate: one family of checks; every failure is a ConfigError carrying the key."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rung._validate import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_positive,
    close_hint,
    is_int,
    is_number,
    show,
)
from rung.errors import ConfigError, SpaceError


@given(st.booleans())
def test_bools_are_not_numbers(b: bool) -> None:
    assert not is_int(b) and not is_number(b)
    with pytest.raises(ConfigError) as e:
        check_int("a.b", b)
    assert e.value.key == "a.b"
    with pytest.raises(ConfigError):
        check_float("a.b", b)
    with pytest.raises(ConfigError):
        check_positive("a.b", np.bool_(b))


@given(st.integers(), st.integers(-5, 5), st.integers(-5, 5))
def test_check_int_range(v: int, low: int, high: int) -> None:
    ok = low <= v <= high
    if ok:
        assert check_int("k", v, low, high) == v
        assert type(check_int("k", np.int64(v), low, high)) is int
    else:
        with pytest.raises(ConfigError, match=r"^k: must be an integer in \[") as e:
            check_int("k", v, low, high)
        assert e.value.key == "k" and "\n" not in str(e.value)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_check_float_is_finite_and_in_range(x: float) -> None:
    inside = math.isfinite(x) and 0 < x <= 1
    if inside:
        assert check_float("p", x, 0, 1, low_open=True) == x
    else:
        with pytest.raises(ConfigError) as e:
            check_float("p", x, 0, 1, low_open=True)
        assert str(e.value) == f"p: must be a finite number in (0, 1], got {x!r}"


@pytest.mark.parametrize("bad", ["1", None, [1], 1.5, float("nan")])
def test_check_int_rejects_non_integers(bad: Any) -> None:
    with pytest.raises(ConfigError, match="^x.y: must be an integer >= 1, got"):
        check_int("x.y", bad, 1)


def test_check_positive_bool_choice() -> None:
    assert check_positive("s", 2) == 2.0
    with pytest.raises(ConfigError, match=r"^s: must be a finite number > 0, got 0$"):
        check_positive("s", 0)
    assert check_bool("f", np.bool_(True)) is True
    with pytest.raises(ConfigError, match="^f: must be true or false, got 1$"):
        check_bool("f", 1)
    assert check_choice("mode", "max", ("min", "max")) == "max"
    with pytest.raises(ConfigError, match=r"^mode: must be one of 'min', 'max', got 'up'$"):
        check_choice("mode", "up", ("min", "max"))
    with pytest.raises(ConfigError):
        check_choice("c", True, (1, 2))  # True is not the choice 1


def test_error_class_is_chosen_by_the_caller() -> None:
    with pytest.raises(SpaceError) as e:
        check_int("width.step", 0, 1, error=SpaceError)
    assert e.value.key == "width.step" and e.value.param == "width.step"


def test_an_integral_float_says_how_to_write_the_integer() -> None:
    with pytest.raises(ConfigError) as e:
        check_int("budget.n_trials", 1e3, 1)
    assert str(e.value) == "budget.n_trials: must be an integer >= 1, got 1000.0 (write 1000)"
    with pytest.raises(ConfigError) as e:
        check_int("k", 2.5, 1)
    assert str(e.value) == "k: must be an integer >= 1, got 2.5"


def test_an_integer_beyond_a_float_is_not_finite() -> None:
    # float(10**400) raised OverflowError, not a ConfigError
    with pytest.raises(ConfigError) as e:
        check_float("budget.max_time", 10**400, 0)
    assert str(e.value) == "budget.max_time: must be a finite number >= 0, got an integer of " \
                           "401 digits"
    assert show(10**29) == repr(10**29) and show(-(10**30)) == "an integer of 31 digits"


@pytest.mark.parametrize(("value", "hint"), [
    ("tpee", " (did you mean 'tpe'?)"), ("TPE", " (did you mean 'tpe'?)"), ("zzz", ""),
    (3, ""),
])
def test_close_hint(value: object, hint: str) -> None:
    assert close_hint(value, ["random", "tpe", "gp"]) == hint


@pytest.mark.parametrize(("value", "known", "given", "hint"), [
    # of the closest entries (a tie), the one not given yet: 'lgo' beside 'low' is a 'log'
    ("lgo", ["low", "high", "log"], ["low", "high"], " (did you mean 'log'?)"),
    ("lgo", ["low", "high", "log"], [], " (did you mean 'low'?)"),
    ("lgo", ["low", "high", "log"], ["low", "log"], " (did you mean 'low'?)"),  # both given
    ("m_points", ["min_points", "max_points"], ["min_points"], " (did you mean 'max_points'?)"),
    ("m_points", ["min_points", "max_points"], [], " (did you mean 'min_points'?)"),
    # a given entry that is closer still wins: a second 'max_time', not a 'max_cost'
    ("max_tim", ["n_trials", "max_time", "max_steps", "max_cost"], ["max_time"],
     " (did you mean 'max_time'?)"),
    ("nam", ["name", "params"], ["name"], " (did you mean 'name'?)"),
    ("zzz", ["name", "params"], ["name"], ""),
    (3, ["name", "params"], [3, "name"], ""),
])
def test_close_hint_prefers_an_entry_not_given(
    value: object, known: list[str], given: list[object], hint: str
) -> None:
    assert close_hint(value, known, given=given) == hint


@pytest.mark.parametrize(("value", "line"), [
    ("MIN", "mode: must be one of 'min', 'max', got 'MIN' (did you mean 'min'?)"),
    ("minimize", "mode: must be one of 'min', 'max', got 'minimize' (did you mean 'min'?)"),
    ("up", "mode: must be one of 'min', 'max', got 'up'"),
])
def test_check_choice_names_the_close_choice(value: str, line: str) -> None:
    with pytest.raises(ConfigError) as e:
        check_choice("mode", value, ("min", "max"))
    assert str(e.value) == line


def test_check_choice_offers_no_operator() -> None:
    with pytest.raises(ConfigError) as e:
        check_choice("op", "<", ("<=", ">="))
    assert str(e.value) == "op: must be one of '<=', '>=', got '<'"
