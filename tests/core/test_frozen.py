"""``record`` keeps every behaviour of ``dataclass(frozen=True, slots=True)``; only the
generated ``__init__`` differs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rung.core.events import CONTINUE, Action, Decision, Launch, ResultReported
from rung.core.frozen import record
from rung.core.records import Budget, Trial, TrialStatus


@record
class _Point:
    x: int
    y: float = 0.5
    tags: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class _Reference:
    x: int
    y: float = 0.5
    tags: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@record
class _Checked:
    n: int

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError(f"n: must be >= 0, got {self.n}")


@given(st.integers(), st.floats(allow_nan=False), st.dictionaries(st.text(), st.integers()))
def test_same_fields_equality_hash_and_repr_as_a_frozen_dataclass(
    x: int, y: float, tags: dict[str, int]
) -> None:
    a, ref = _Point(x, y, tags), _Reference(x, y, tags)
    assert (a.x, a.y, a.tags) == (ref.x, ref.y, ref.tags)
    assert dataclasses.astuple(a) == dataclasses.astuple(ref)
    assert repr(a) == repr(ref).replace("_Reference", "_Point")
    assert a == _Point(x=x, y=y, tags=dict(tags)) and a != _Point(x + 1, y, tags)
    assert hash(_Checked(abs(x))) == hash(_Checked(abs(x)))  # hashable like a frozen dataclass


def test_defaults_and_a_fresh_default_factory_per_instance() -> None:
    a, b = _Point(1), _Point(2)
    assert a.y == 0.5 and a.tags == {} and a.tags is not b.tags
    assert _Point(3, tags={"k": 1}).tags == {"k": 1}
    with pytest.raises(TypeError):
        _Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        _Point(1, 0.5, {}, 4)  # type: ignore[call-arg]


def test_still_frozen_and_slotted() -> None:
    a = _Point(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.x = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del a.x  # type: ignore[misc]
    assert not hasattr(a, "__dict__")
    assert dataclasses.replace(a, x=5) == _Point(5)


def test_post_init_runs() -> None:
    assert _Checked(3).n == 3
    with pytest.raises(ValueError, match="n: must be >= 0, got -1"):
        _Checked(-1)
    with pytest.raises(Exception, match="n_trials"):
        Budget(n_trials=0)  # a record of rung's own, validated in __post_init__


def test_rungs_records_use_it() -> None:
    ev = ResultReported(3, 2, {"loss": 1.0}, 0.0)
    assert ev.trial_id == 3 and ev.step == 2 and ev.metrics == {"loss": 1.0}
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.step = 4  # type: ignore[misc]
    launch = Launch(1, {"x": 1}, 1, 3, 9, None)
    assert launch == Launch(1, {"x": 1}, 1, 3, 9, None)
    t = Trial(id=0, params={}, status=TrialStatus.RUNNING)
    assert t.tags == {} and t.results == ()


def test_plain_proceed_decisions_are_shared_and_equal_to_fresh_ones() -> None:
    assert Decision.proceed() is CONTINUE
    d = Decision.proceed(3)
    assert d is Decision.proceed(3)
    assert d == Decision(Action.CONTINUE, 3, False, "")
    assert Decision.proceed(3, "why") is not d and Decision.proceed(3, "why").reason == "why"
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.until_step = 4  # type: ignore[misc]
