"""A float bound written ``1e-5`` in a YAML spec arrives as text (YAML 1.1): the message says
how to write it."""

from __future__ import annotations

import pytest

from rung import SearchSpace, SpaceError


@pytest.mark.parametrize(("field", "text", "fixed"), [
    ("low", "1e-5", "1.0e-5"),
    ("high", "1.0e5", "1.0e+5"),
    ("step", "5E-2", "5.0e-2"),
])
def test_exponent_text_says_how_to_write_it(field: str, text: str, fixed: str) -> None:
    d = {"type": "float", "low": 0.0, "high": 1.0} | {field: text}
    with pytest.raises(SpaceError) as e:
        SearchSpace({"x": d})
    assert str(e.value) == (
        f"'x'.{field}: must be a number, got the text {text!r} (in a YAML spec write "
        f"{fixed}: YAML 1.1 reads an exponent without a dot or a sign as text)")


def test_other_text_keeps_the_plain_message() -> None:
    with pytest.raises(SpaceError) as e:
        SearchSpace({"x": {"type": "float", "low": "abc", "high": 1.0}})
    assert str(e.value) == "'x'.low: must be a finite number, got 'abc'"
