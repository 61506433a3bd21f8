"""``rung.core.records.constraints_from``: the one reader of a study's ``constraints``, used by
``Study.create`` and (keys under ``spec.``) by a YAML spec. Keys are relative to the study
spec."""

from __future__ import annotations

from typing import Any

import pytest

from rung.cli.spec_study import _constraints as yaml_constraints
from rung.core.records import Constraint, constraints_from
from rung.errors import ConfigError


def test_items_of_every_form() -> None:
    kept = Constraint("gpu_mem", ">=", 2.0)
    assert constraints_from(None) == ()
    assert constraints_from(("mem<=100", {"metric": "t", "op": ">=", "bound": 3}, kept)) == (
        Constraint("mem", "<=", 100.0), Constraint("t", ">=", 3.0), kept)
    assert constraints_from(["  a.b-c_1 >= -1e3 "]) == (Constraint("a.b-c_1", ">=", -1000.0),)


@pytest.mark.parametrize(
    ("items", "key", "message"),
    [
        ({"mem": 1}, "constraints", "must be a list (e.g. [\"latency_ms <= 100\"]), got a "
                                    "mapping"),
        (["mem <= 1", "1mem <= 2"], "constraints[1]",
         "must read 'metric <= bound' or 'metric >= bound', got '1mem <= 2'"),
        (["mem <= 1 2"], "constraints[0]",
         "must read 'metric <= bound' or 'metric >= bound', got 'mem <= 1 2'"),
        (["mem <= 5>=3"], "constraints[0].bound", "must be a number, got '5>=3'"),
        ([{"bound": 1}], "constraints[0].metric", "missing"),
        ([{"metric": "m", "bound": 1, "strict": True}], "constraints[0].strict",
         "unknown key (known: metric, op, bound)"),
        ([{"metric": "m", "bound": "x"}], "constraints[0].bound", None),
    ],
)
def test_bad_items_name_their_key(items: Any, key: str, message: str | None) -> None:
    with pytest.raises(ConfigError) as e:
        constraints_from(items)
    assert e.value.key == key
    if message is not None:
        assert e.value.message == message
    with pytest.raises(ConfigError) as y:  # the YAML spec's reader: the same, under spec.
        yaml_constraints(items)
    assert (y.value.key, y.value.message) == (f"spec.{key}", e.value.message)
