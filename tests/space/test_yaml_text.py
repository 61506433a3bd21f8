"""A float bound written ``1e-5`` in a YAML spec is a number (the spec reader resolves YAML 1.2's
core schema); a bound given as text (quoted in YAML, a string in Python) is refused with the
plain message, which shows the value quoted."""

from __future__ import annotations

import pytest

from rung import SearchSpace, SpaceError
from rung.cli.spec_yaml import parse_yaml


@pytest.mark.parametrize(("field", "text"), [("low", "1e-5"), ("high", "1.0e5"), ("step", "5E-2")])
def test_exponent_text_is_refused_as_text(field: str, text: str) -> None:
    d = {"type": "float", "low": 0.0, "high": 1.0} | {field: text}
    with pytest.raises(SpaceError) as e:
        SearchSpace({"x": d})
    bound = " > 0" if field == "step" else ""
    assert str(e.value) == f"'x'.{field}: must be a finite number{bound}, got {text!r}"


def test_exponents_written_in_yaml_are_numbers() -> None:
    d = parse_yaml("x: {type: float, low: 1e-5, high: 1E1, log: true}\n"
                   "y: {type: float, low: 0, high: 1, step: 5e-2}\n")
    space = SearchSpace(d)
    assert space.to_json() == {"x": {"type": "float", "low": 1e-05, "high": 10.0, "log": True},
                               "y": {"type": "float", "low": 0.0, "high": 1.0, "step": 0.05}}


def test_other_text_keeps_the_plain_message() -> None:
    with pytest.raises(SpaceError) as e:
        SearchSpace({"x": {"type": "float", "low": "abc", "high": 1.0}})
    assert str(e.value) == "'x'.low: must be a finite number, got 'abc'"
