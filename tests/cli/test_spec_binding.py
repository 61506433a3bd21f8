"""A spec that reaches a defect of a component while binding it is refused in one line (exit 2,
nothing written), not with a traceback."""

from __future__ import annotations

import pytest

from rung.cli.spec import SpecError, parse_spec


def test_a_spec_a_component_cannot_bind_is_one_line_not_a_traceback() -> None:
    """An integer range no searcher's encoding holds (gp's overflowed at bind): whether the
    space refuses it or the binding does, the answer is one ``SpecError`` line."""
    with pytest.raises(SpecError) as info:
        parse_spec({"name": "b", "objective": "m:f", "path": ".", "metric": "loss",
                    "space": {"x": {"type": "int", "low": 0, "high": 10**23}},
                    "budget": {"n_trials": 2}, "searcher": "gp", "scheduler": "fifo"})
    assert "\n" not in str(info.value) and str(info.value).startswith("spec")
